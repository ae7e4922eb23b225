import { createHash } from 'node:crypto';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/*
 * Which repository config files the user has trusted, by exact content (like `direnv allow`): a
 * repository's `.reflexgenrc.json` may choose the model endpoint, send code unredacted or let repairs
 * rewrite commits only once the user ran `reflexgen trust` on that content. Any edit to the file
 * (a pull, a checkout, a teammate's commit) makes it untrusted again. Kept in the user's state dir,
 * which no repository can write.
 */

const TRUST_FILE = 'trust.json';
const MAX_TRUST_BYTES = 4 * 1024 * 1024;

const TrustStoreSchema = z.object({
  version: z.literal(1),
  repos: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), trustedAt: z.string() })),
});
type TrustStore = z.infer<typeof TrustStoreSchema>;

export function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The key a repository is known by: its real path, so a symlinked checkout is the same repository. */
export function repoKey(repoRoot: string): string {
  try {
    return realpathSync(repoRoot);
  } catch {
    return resolve(repoRoot);
  }
}

async function readStore(stateDir: string): Promise<TrustStore> {
  let text: string;
  try {
    text = await readFile(join(stateDir, TRUST_FILE), 'utf8');
  } catch {
    return { version: 1, repos: {} };
  }
  if (text.length > MAX_TRUST_BYTES) return { version: 1, repos: {} };
  try {
    const parsed = TrustStoreSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : { version: 1, repos: {} };
  } catch {
    // A damaged store trusts nothing: the safe direction.
    return { version: 1, repos: {} };
  }
}

async function writeStore(stateDir: string, store: TrustStore): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, TRUST_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(store, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

/** The hash the user trusted for this repository's config file, if any. */
export async function trustedHash(stateDir: string, repoRoot: string): Promise<string | undefined> {
  return (await readStore(stateDir)).repos[repoKey(repoRoot)]?.sha256;
}

export async function trustContent(stateDir: string, repoRoot: string, sha256: string): Promise<void> {
  const store = await readStore(stateDir);
  store.repos[repoKey(repoRoot)] = { sha256, trustedAt: new Date().toISOString() };
  await writeStore(stateDir, store);
}

export async function revokeTrust(stateDir: string, repoRoot: string): Promise<boolean> {
  const store = await readStore(stateDir);
  const key = repoKey(repoRoot);
  if (!store.repos[key]) return false;
  delete store.repos[key];
  await writeStore(stateDir, store);
  return true;
}
