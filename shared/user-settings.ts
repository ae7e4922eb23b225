import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/*
 * The user's own settings, the layer a repository cannot write: `$XDG_CONFIG_HOME/reflexgen/config.json`
 * (else `~/.config/reflexgen/config.json`). It is where the model endpoint, the name of the API-key
 * variable and `repair: "apply"` belong. Kept free of the schema library: the hook reads one key here.
 */

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REFLEXGEN_USER_CONFIG) return resolve(env.REFLEXGEN_USER_CONFIG);
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'reflexgen', 'config.json');
}

export const DEFAULT_API_KEY_ENV = 'OPENAI_API_KEY';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The variable that holds the API key, from the user's settings only (never from a repository). */
export function apiKeyEnvFrom(raw: unknown): string {
  const llm = raw && typeof raw === 'object' ? (raw as { llm?: unknown }).llm : undefined;
  const name = llm && typeof llm === 'object' ? (llm as { apiKeyEnv?: unknown }).apiKeyEnv : undefined;
  return typeof name === 'string' && ENV_NAME.test(name) ? name : DEFAULT_API_KEY_ENV;
}
