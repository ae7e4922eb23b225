import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The two settings the hook itself needs, read leniently without the schema library: the daemon
 * validates the whole file on every check and reports any problem as one line. These matter when
 * the daemon cannot be reached (failMode) or to forward the right API key variable (apiKeyEnv).
 */

export interface ConfigHints {
  failMode: 'open' | 'closed';
  apiKeyEnv?: string;
}

export function readConfigHints(repoRoot: string): ConfigHints {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(repoRoot, '.reflexgenrc.json'), 'utf8'));
  } catch {
    return { failMode: 'open' };
  }
  const o = (raw && typeof raw === 'object' ? raw : {}) as { failMode?: unknown; llm?: { apiKeyEnv?: unknown } };
  const llm = o.llm && typeof o.llm === 'object' ? o.llm : {};
  return {
    failMode: o.failMode === 'closed' ? 'closed' : 'open',
    ...(typeof llm.apiKeyEnv === 'string' ? { apiKeyEnv: llm.apiKeyEnv } : {}),
  };
}
