import { readApiKeyEnv } from '../shared/config-hints.js';
import { hookRepoInfo } from '../shared/hook-repo.js';
import { indexFileFor, indexStamp, stampChecksum } from '../shared/index-state.js';
import type { CheckResult, MethodResult } from '../shared/protocol.js';
import { buildVersion } from '../shared/version.js';
import { connectDaemon, type DaemonClient } from './client.js';

/*
 * The hook's first question to a running daemon: "is the verdict for this index already known?"
 * The watcher has usually answered it since `git add`. The hook names the index file and keeps its
 * stamp (size, mtime, inode, git's own checksum); the daemon reads the file's content identity and
 * HEAD itself and looks the verdict up. No git process, no hashing here: each costs more than the
 * whole answer. A stamp that moved while the daemon answered means something was staged meanwhile,
 * and the answer is not used.
 */

/**
 * The LLM-related variables of this process's environment, forwarded to the daemon, which uses these
 * and never its own environment. `apiKeyEnv` comes from the user's settings (see readConfigHints).
 */
export function llmEnv(apiKeyEnv: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = ['REFLEXGEN_LLM_BASE_URL', 'REFLEXGEN_LLM_MODEL', 'REFLEXGEN_LLM_API_KEY', apiKeyEnv];
  const out: Record<string, string> = {};
  for (const n of names) if (env[n]) out[n] = env[n]!;
  return out;
}

export type CachedVerdict =
  | { hit: true; result: CheckResult; root: string; gitDir: string }
  /** A miss; `client` is the open connection to reuse, when there is a current daemon. */
  | { hit: false; client?: DaemonClient };

export async function cachedVerdict(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<CachedVerdict> {
  const info = hookRepoInfo(cwd, env);
  if (!info) return { hit: false };
  const file = indexFileFor(info.gitDir, cwd, env);
  const before = indexStamp(file);
  if (!before) return { hit: false };
  const params = { repoRoot: info.root, gitDir: info.gitDir, index: { file, checksum: stampChecksum(before) }, llmEnv: llmEnv(readApiKeyEnv(env), env) };
  let client: DaemonClient;
  try {
    client = await connectDaemon({ client: 'hook', start: false, env, pipeline: { method: 'verdict', params } });
  } catch {
    return { hit: false }; // none running (or not ours to use): the long way starts or judges it
  }
  // Another build's daemon is retired by the long way; its answers are not this build's.
  if (client.hello?.daemonVersion !== buildVersion() || !client.pipelined) {
    client.close();
    return { hit: false };
  }
  try {
    const r = (await client.pipelined) as MethodResult<'verdict'>;
    if (r.result && indexStamp(file) === before) {
      client.close();
      return { hit: true, result: r.result, root: info.root, gitDir: info.gitDir };
    }
    return { hit: false, client };
  } catch {
    client.close();
    return { hit: false };
  }
}
