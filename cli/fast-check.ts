/*
 * What the fast path (cli/fast.ts) loads for `reflexgen check`, bundled into one file of its own,
 * dist/cli/fast-check.mjs, so that `--version` never parses the client, its validators and the
 * report renderer.
 */
export { checkCommand } from './check-command.js';
export { exitOnError } from './fail.js';
