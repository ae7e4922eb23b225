import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

/** Bumped whenever a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 1;

let cached: string | undefined;

/**
 * The version a client and a daemon compare in `hello`: the package version plus a hash of the
 * built files (written by scripts/postbuild.mjs), so a rebuilt or upgraded install restarts an
 * old daemon instead of talking to stale code. REFLEXGEN_BUILD_ID overrides the hash; tests use
 * it to stand up a daemon "of another version".
 */
export function buildVersion(): string {
  if (cached) return cached;
  const root = packageRoot();
  let version = '0.0.0';
  let build = 'dev';
  try {
    version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version ?? version;
  } catch {
    /* a broken install still reports something */
  }
  try {
    build = JSON.parse(readFileSync(join(root, 'dist', 'build-id.json'), 'utf8')).id ?? build;
  } catch {
    /* running from sources */
  }
  if (process.env.REFLEXGEN_BUILD_ID) build = process.env.REFLEXGEN_BUILD_ID;
  cached = `${version}+${build}`;
  return cached;
}
