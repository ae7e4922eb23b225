import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { CheckResult } from '../../shared/protocol.js';
import { indexIdentity, type IndexIdentity } from '../../shared/index-identity.js';
import type { DaemonContext } from '../handlers/types.js';
import { readRepoConfig } from './check.js';

/*
 * Whole verdicts by what they depend on, so that the hook's commit after `git add` is one lookup:
 * the index's content and HEAD (shared/index-identity.ts), the LLM settings the client forwarded,
 * and the repository's policy as it is at the moment of the question (config as loaded with trust,
 * ignore file, baseline, team knowledge). Only final answers are kept: nothing an analyzer failed
 * or deferred, no repair the client would have to carry out, no guidance drawn from a knowledge
 * base that learns. In memory only; a new daemon starts empty.
 */

const MAX_ENTRIES = 256;

interface Memo {
  policy: string;
  result: CheckResult;
}

export class VerdictMemo {
  private entries = new Map<string, Memo>();
  hits = 0;
  misses = 0;

  get(key: string, policy: string): CheckResult | undefined {
    const m = this.entries.get(key);
    if (!m || m.policy !== policy) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return m.result;
  }

  set(key: string, policy: string, result: CheckResult): void {
    this.entries.delete(key);
    this.entries.set(key, { policy, result });
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

export function getVerdictMemo(daemon: DaemonContext): VerdictMemo {
  let m = daemon.services.verdicts;
  if (!m) {
    m = new VerdictMemo();
    daemon.services.verdicts = m;
  }
  return m;
}

/** A verdict the same question would get again, with nothing for the client to do but print it. */
export function memoizable(r: CheckResult): boolean {
  return (
    !r.repairs?.length &&
    !r.applyRepairs?.length &&
    !r.guidance?.length &&
    !r.notAnalyzed?.length &&
    r.analyzers.every((a) => a.state === 'ok' || a.state === 'missing' || a.state === 'skipped')
  );
}

export function memoKey(repoRoot: string, gitDir: string, id: IndexIdentity, llmEnv: Record<string, string> | undefined): string {
  const env = Object.entries(llmEnv ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify([repoRoot, gitDir, id.head, id.entries, env])).digest('hex');
}

/** Files besides the config whose content changes a verdict; stat data stands for their content. */
const POLICY_FILES = ['.reflexgenignore', join('.reflexgen', 'baseline.json'), join('.reflexgen', 'knowledge.jsonl')];

function statKey(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.size}:${s.mtimeNs}:${s.ino}`;
  } catch {
    return '-';
  }
}

/** The repository's policy as of now: the effective config (trust applied) and the other files it names. */
export async function policyFingerprint(repoRoot: string, stateDir: string): Promise<string> {
  const loaded = await readRepoConfig(repoRoot, stateDir);
  return createHash('sha256')
    .update(JSON.stringify([loaded.config, loaded.notices, loaded.llmFromRepo, POLICY_FILES.map((f) => statKey(join(repoRoot, f)))]))
    .digest('hex');
}

/**
 * The index file a client names, read by the daemon only inside that repository's git dir:
 * the default index, or the temporary one git uses for `commit -a` and `commit <paths>`.
 */
export function identityOf(gitDir: string, indexFile: string): IndexIdentity | undefined {
  if (!isAbsolute(indexFile) || !isAbsolute(gitDir)) return undefined;
  const rel = relative(gitDir, indexFile);
  if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.includes('/')) return undefined;
  return indexIdentity(gitDir, indexFile);
}
