import { cleanLine, cleanText } from '../shared/terminal-text.js';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { basename } from 'node:path';
import { readConfigHints } from '../shared/config-hints.js';
import { repoInfo } from '../shared/git.js';
import { UserError } from '../shared/errors.js';
import { LANGUAGES, type Language } from '../shared/findings.js';
import { languageOf } from '../shared/languages.js';
import { withDaemon } from '../hook/client.js';
import { llmEnv } from '../hook/cached-verdict.js';
import { call } from '../hook/call.js';

/** `reflexgen generate`: secure code for a task or an incomplete file, produced by the loop. */
export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('write code for a task (or complete a file) with reflection, knowledge and verification')
    .argument('[task...]', 'what the code should do')
    .option('--file <path>', 'an incomplete program to complete (its extension sets the language)')
    .addOption(new Option('--language <lang>', 'language of the output').choices([...LANGUAGES]))
    .option('--no-reflect', 'return the model\'s first answer y0 only (the baseline)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (taskWords: string[], opts: { file?: string; language?: Language; reflect: boolean; format: string }) => {
      const task = taskWords.join(' ').trim() || undefined;
      let incomplete: string | undefined;
      if (opts.file) {
        try {
          incomplete = readFileSync(opts.file, 'utf8');
        } catch {
          throw new UserError(`cannot read ${opts.file}`);
        }
      }
      if (!task && !incomplete) throw new UserError('give a task in words or --file with an incomplete program');
      const language = opts.language ?? (opts.file ? languageOf(opts.file) : undefined);
      if (!language) throw new UserError('say which language with --language');
      // The daemon resolves the model from the user's settings (and a trusted repository file).
      const repoRoot = await repoInfo(process.cwd()).then((r) => r.root).catch(() => undefined);
      const env = llmEnv((await readConfigHints(repoRoot ?? process.cwd())).apiKeyEnv);
      const path = opts.file ? basename(opts.file) : undefined;
      const r = await withDaemon((c) =>
        call(c, 'generate', { language, task, incomplete, path, noReflect: !opts.reflect, ...(repoRoot ? { repoRoot } : {}), llmEnv: env }, (p) => {
          if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${pc.dim(`reflexgen: ${cleanLine(p.message)}`)}`);
        }),
      );
      if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (opts.format === 'json') {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      } else {
        const code = cleanText(r.code ?? '');
        process.stdout.write(code + (code.endsWith('\n') ? '' : '\n'));
        const verified = r.status === 'repaired' || r.status === 'secure';
        process.stderr.write(
          `reflexgen: ${r.status}${r.error ? ` (${cleanLine(r.error)})` : ''}; ${r.iterations.length} repair iteration(s), ${r.tokens.total} tokens, ${r.seconds} s${verified ? '' : r.status === 'generated' ? ' (not reviewed: --no-reflect)' : ' (not verified secure)'}\n`,
        );
      }
      if (r.status === 'llm-error') process.exitCode = 2;
      else if (!['repaired', 'secure', 'generated'].includes(r.status)) process.exitCode = 1;
    });
}
