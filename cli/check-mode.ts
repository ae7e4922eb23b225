/*
 * Where `reflexgen check` runs the check: in the daemon (the default on a developer machine, where
 * the next commit finds analyzers, caches and the knowledge base warm) or in this process (CI: one
 * check per job, nothing to keep warm, and no background process or socket may outlive the job).
 *
 * The order of precedence follows the tools that have a daemon and a CI story (Gradle's
 * --no-daemon, Nx's NX_DAEMON, Turborepo): the command-line flag, then an explicit environment
 * switch, then the CI convention, then the daemon.
 */

export interface ModeChoice {
  inProcess: boolean;
  /** Why, for `--verbose` and for the tests. */
  reason: string;
}

const OFF = new Set(['0', 'false', 'no', 'off']);
const ON = new Set(['1', 'true', 'yes', 'on']);

/** `CI` as CI services set it (GitHub Actions, GitLab, CircleCI, Travis, Buildkite...): any value but empty/0/false. */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI?.trim().toLowerCase();
  return v !== undefined && v !== '' && !OFF.has(v);
}

export function chooseCheckMode(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): ModeChoice {
  if (flag === false) return { inProcess: true, reason: '--no-daemon' };
  if (flag === true) return { inProcess: false, reason: '--daemon' };
  const sw = env.REFLEXGEN_DAEMON?.trim().toLowerCase();
  if (sw && OFF.has(sw)) return { inProcess: true, reason: `REFLEXGEN_DAEMON=${sw}` };
  if (sw && ON.has(sw)) return { inProcess: false, reason: `REFLEXGEN_DAEMON=${sw}` };
  if (inCi(env)) return { inProcess: true, reason: 'CI is set' };
  return { inProcess: false, reason: 'default' };
}
