import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../shared/paths.js';
import { EntryInputSchema, type ParsedEntryInput } from './types.js';

export interface StarterSet {
  version: number;
  entries: Array<ParsedEntryInput & { id: string }>;
}

/** knowledge/starter is shipped beside dist/ (package.json "files"), so it is found from either. */
export function defaultStarterDir(): string {
  return join(packageRoot(), 'knowledge', 'starter');
}

/**
 * Reads every `*.json` file of the starter folder: `{ "version": n, "entries": [...] }`. The set's
 * version is the highest file version, so bumping any file's version upgrades installed bases.
 */
export function loadStarter(dir = defaultStarterDir()): StarterSet {
  if (!existsSync(dir)) return { version: 0, entries: [] };
  let version = 0;
  const entries: StarterSet['entries'] = [];
  const seen = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const raw = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { version?: number; entries?: unknown[] };
    version = Math.max(version, Number(raw.version ?? 0));
    for (const [i, e] of (raw.entries ?? []).entries()) {
      const parsed = EntryInputSchema.safeParse(e);
      if (!parsed.success) throw new Error(`starter ${f} entry ${i}: ${parsed.error.issues.map((x) => x.message).join('; ')}`);
      const id = parsed.data.id;
      if (!id || !id.startsWith('starter:')) throw new Error(`starter ${f} entry ${i}: id must start with "starter:"`);
      if (seen.has(id)) throw new Error(`starter ${f}: duplicate id ${id}`);
      seen.add(id);
      entries.push({ ...parsed.data, id, source: 'starter' });
    }
  }
  return { version, entries };
}
