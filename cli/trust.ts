import type { Command } from 'commander';
import { CONFIG_FILE, parseConfig, sensitiveSettings } from '../shared/config.js';
import { UserError } from '../shared/errors.js';
import { repoInfo } from '../shared/git.js';
import { stateDir } from '../shared/paths.js';
import { readRepoFile, REPO_FILE_CAPS } from '../shared/repo-files.js';
import { cleanLine } from '../shared/terminal-text.js';
import { contentHash, revokeTrust, trustContent, trustedHash } from '../shared/trust.js';

/*
 * `reflexgen trust`: the user's decision that this repository's `.reflexgenrc.json`, exactly as it is
 * now, may choose the model endpoint, redaction, `repair: "apply"` and CodeQL options. Like
 * `direnv allow`, the decision is bound to the content's hash: any later edit needs a new decision.
 */

async function currentFile(cwd: string): Promise<{ root: string; text: string; sha256: string }> {
  const { root } = await repoInfo(cwd);
  const read = await readRepoFile(root, CONFIG_FILE, REPO_FILE_CAPS.config);
  if (read.kind === 'absent') throw new UserError(`${CONFIG_FILE} not found in ${root}: nothing to trust`);
  if (read.kind === 'refused') throw new UserError(read.reason);
  let raw: unknown;
  try {
    raw = JSON.parse(read.text);
  } catch (err) {
    throw new UserError(`${CONFIG_FILE}: not valid JSON (${(err as Error).message})`);
  }
  parseConfig(raw);
  return { root, text: read.text, sha256: contentHash(read.text) };
}

export function registerTrustCommand(program: Command): void {
  program
    .command('trust')
    .description(`let this repository's ${CONFIG_FILE}, exactly as it is now, choose the model, redaction, repair: apply and CodeQL options`)
    .option('--revoke', 'forget the decision for this repository')
    .option('--status', 'say whether the current file is trusted')
    .action(async (opts: { revoke?: boolean; status?: boolean }) => {
      const state = stateDir();
      if (opts.revoke) {
        const { root } = await repoInfo(process.cwd());
        const had = await revokeTrust(state, root);
        process.stdout.write(had ? `reflexgen: ${cleanLine(root)}: trust revoked\n` : `reflexgen: ${cleanLine(root)} was not trusted\n`);
        return;
      }
      const file = await currentFile(process.cwd());
      const { gated, userOnly } = sensitiveSettings(JSON.parse(file.text) as Record<string, unknown>);
      if (opts.status) {
        const trusted = (await trustedHash(state, file.root)) === file.sha256;
        process.stdout.write(`reflexgen: ${CONFIG_FILE} (sha256 ${file.sha256.slice(0, 12)}) is ${trusted ? 'trusted' : 'not trusted'}${gated.length ? `; settings that need trust: ${cleanLine(gated.join(', '))}` : ''}\n`);
        if (!trusted) process.exitCode = 1;
        return;
      }
      await trustContent(state, file.root, file.sha256);
      process.stdout.write(`reflexgen: trusted ${CONFIG_FILE} of ${cleanLine(file.root)} (sha256 ${file.sha256.slice(0, 12)}); any change to the file makes it untrusted again\n`);
      if (gated.length) process.stdout.write(`reflexgen: it now sets: ${cleanLine(gated.join(', '))}\n`);
      if (userOnly.length) process.stdout.write(`reflexgen: still ignored (user settings only): ${cleanLine(userOnly.join(', '))}\n`);
    });
}
