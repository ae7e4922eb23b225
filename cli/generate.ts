import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { loadConfig } from '../shared/config.js';
import { UserError } from '../shared/errors.js';
import { LANGUAGES, type Language } from '../shared/findings.js';
import { languageOf } from '../shared/languages.js';
import { withDaemon } from '../hook/client.js';
import { llmEnv } from '../hook/run-check.js';
import type { GenerateResultWire } from '../daemon/handlers/generate.js';

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
      // Outside a repository there is no config file: the environment alone configures the model.
      const config = loadConfig(process.cwd());
      const llm = config.llm;
      const env = llmEnv(config.llm?.apiKeyEnv);
      const r = await withDaemon((c) =>
        c.request<GenerateResultWire>('generate', { language, task, incomplete, path: opts.file, noReflect: !opts.reflect, llm, llmEnv: env }, (p) => {
          if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${pc.dim(`reflexgen: ${p.message}`)}`);
        }),
      );
      if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (opts.format === 'json') {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      } else {
        process.stdout.write((r.code ?? '') + (r.code?.endsWith('\n') ? '' : '\n'));
        const verified = r.status === 'repaired' || r.status === 'secure';
        process.stderr.write(
          `reflexgen: ${r.status}${r.error ? ` (${r.error})` : ''}; ${r.iterations.length} repair iteration(s), ${r.tokens.total} tokens, ${r.seconds} s${verified ? '' : r.status === 'generated' ? ' (not reviewed: --no-reflect)' : ' (not verified secure)'}\n`,
        );
      }
      if (r.status === 'llm-error') process.exitCode = 2;
      else if (!['repaired', 'secure', 'generated'].includes(r.status)) process.exitCode = 1;
    });
}
