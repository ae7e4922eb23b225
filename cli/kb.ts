import { formatOption, type OutputFormat } from './options.js';
import { cleanText } from '../shared/terminal-text.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../shared/errors.js';
import { withDaemon } from '../hook/client.js';
import { call } from '../hook/call.js';
import type { KNOWLEDGE_SOURCES, MethodName, MethodParams, MethodResult } from '../shared/protocol.js';

/*
 * `reflexgen kb ...`: the daemon owns the knowledge datafiles (nedb is single-writer), so every
 * command is a request to it; the daemon is started when it is not running.
 */

/** commander's `.choices()` guarantees these values. */
type KnowledgeSource = (typeof KNOWLEDGE_SOURCES)[number];


function request<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
  return withDaemon((c) => call(c, method, params));
}

function out(s: string): void {
  // Entries come from teams' files and from models: never let their text drive the terminal.
  s = cleanText(s);
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function json(v: unknown): void {
  out(JSON.stringify(v, null, 2));
}

/** The enclosing git work tree, so team knowledge of the current repo takes part. */
function repoRootOf(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function readInput(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseK(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new UserError(`-k must be an integer from 1 to 100, got "${v}"`);
  return n;
}

function cweList(v: string | undefined): string[] | undefined {
  if (!v) return undefined;
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of list) if (!/^(cwe[-\s_]?)?\d{1,5}$/i.test(c)) throw new UserError(`not a CWE id: "${c}" (use e.g. CWE-89 or 89)`);
  return list;
}

export function registerKbCommands(program: Command): void {
  const kb = program.command('kb').description('the security knowledge base (search, curate, share)');

  kb.command('search <query>')
    .description('entries that best match a description (and optionally code), best first')
    .option('-k, --top <n>', 'how many results', '5')
    .option('--code <file>', 'code to match as well (- for stdin)')
    .option('--language <lang>', 'language of the code (python, c, cpp, javascript, typescript)')
    .option('--cwe <ids>', 'comma-separated CWE ids to favour')
    .option('--explain', 'show the parts of each score')
    .addOption(formatOption())
    .action(async (query: string, o: { top: string; code?: string; language?: string; cwe?: string; explain?: boolean; format: OutputFormat }) => {
      if (!query.trim()) throw new UserError('the search query is empty');
      const params = {
        query,
        k: parseK(o.top),
        code: o.code ? readInput(o.code) : undefined,
        language: o.language,
        cwe: cweList(o.cwe),
        repoRoot: repoRootOf(process.cwd()),
        explain: !!o.explain,
      };
      const hits = await request('kb.search', params);
      if (o.format === 'json') return json(hits);
      if (hits.length === 0) return out('no entries match');
      hits.forEach((h, i) => {
        out(`${i + 1}. [${h.cwe.join(', ')}] ${h.title}  (${h.language}, ${h.source}, score ${h.score.toFixed(3)})  ${h.id}`);
        out(`   ${h.lesson}`);
        if (h.parts) out(`   ${Object.entries(h.parts).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ')}`);
      });
    });

  kb.command('list')
    .description('list entries')
    .addOption(new Option('--source <source>', 'only this source').choices(['starter', 'repair', 'manual', 'team']))
    .option('--cwe <id>', 'only entries of this CWE')
    .option('--language <lang>', 'only entries of this language')
    .addOption(formatOption())
    .action(async (o: { source?: KnowledgeSource; cwe?: string; language?: string; format: OutputFormat }) => {
      cweList(o.cwe);
      const entries = await request('kb.list', { source: o.source, cwe: o.cwe, language: o.language });
      if (o.format === 'json') return json(entries);
      for (const e of entries) out(`${e.id}  [${e.cwe.join(', ')}] ${e.title}  (${e.language}, ${e.source}, helped ${e.helped}/${e.retrieved})`);
      out(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
    });

  kb.command('add [file]')
    .description('add an entry: a JSON object in a file (- for stdin), or the options below')
    .option('--title <text>')
    .option('--cwe <ids>', 'comma-separated CWE ids')
    .option('--language <lang>', 'language', 'any')
    .option('--lesson <text>', 'the lesson, in plain words')
    .option('--description <text>', 'what goes wrong')
    .option('--vulnerable <file>', 'file with a vulnerable example')
    .option('--secure <file>', 'file with the secure version')
    .addOption(formatOption())
    .action(async (file: string | undefined, o: Record<string, string | undefined> & { format: OutputFormat }) => {
      let entry: Record<string, unknown>;
      if (file) {
        try {
          entry = JSON.parse(readInput(file)) as Record<string, unknown>;
        } catch (err) {
          if (err instanceof UserError) throw err;
          throw new UserError(`${file} is not a JSON object: ${(err as Error).message}`);
        }
      } else {
        if (!o.title || !o.cwe || !o.lesson) throw new UserError('kb add needs a JSON file, or --title, --cwe and --lesson');
        entry = { title: o.title, cwe: cweList(o.cwe), language: o.language, lesson: o.lesson, description: o.description };
        if (o.vulnerable) entry.vulnerableCode = readInput(o.vulnerable);
        if (o.secure) entry.secureCode = readInput(o.secure);
      }
      const saved = await request('kb.add', { entry }).catch((err: Error) => {
        throw new UserError(`entry rejected: ${err.message}`);
      });
      if (o.format === 'json') return json(saved);
      out(`added ${saved.id}`);
    });

  kb.command('remove <id>')
    .description('remove an entry (team entries are edited in the repo file instead)')
    .addOption(formatOption())
    .action(async (id: string, o: { format: OutputFormat }) => {
      const r = await request('kb.remove', { id });
      if (o.format === 'json') return json({ id, ...r });
      if (!r.removed) throw new UserError(`no removable entry with id ${id}`);
      out(`removed ${id}`);
    });

  kb.command('export [file]')
    .description('write every stored entry as JSONL (to stdout without a file)')
    .addOption(new Option('--source <source>', 'only this source').choices(['starter', 'repair', 'manual']))
    .addOption(formatOption())
    .action(async (file: string | undefined, o: { source?: KnowledgeSource; format: OutputFormat }) => {
      const r = await request('kb.export', { source: o.source });
      if (!file) return void process.stdout.write(r.jsonl);
      writeFileSync(file, r.jsonl);
      if (o.format === 'json') return json({ file, count: r.count });
      out(`exported ${r.count} entries to ${file}`);
    });

  kb.command('import <file>')
    .description('import JSONL (the export format); bad lines are reported and skipped')
    .addOption(new Option('--source <source>', 'record imported entries as this source').choices(['repair', 'manual']))
    .addOption(formatOption())
    .action(async (file: string, o: { source?: 'repair' | 'manual'; format: OutputFormat }) => {
      const r = await request('kb.import', {
        jsonl: readInput(file),
        source: o.source,
      });
      if (o.format === 'json') json(r);
      else {
        out(`imported ${r.added} new and ${r.updated} updated entries from ${file}`);
        for (const e of r.errors) process.stderr.write(cleanText(`${file}:${e.line}: ${e.message}`) + '\n');
      }
      if (r.errors.length > 0) process.exitCode = 2;
    });

  kb.command('stats')
    .description('how many entries, by source and CWE, and whether embeddings are in use')
    .addOption(formatOption())
    .action(async (o: { format: OutputFormat }) => {
      const s = await request('kb.stats', { repoRoot: repoRootOf(process.cwd()) });
      if (o.format === 'json') return json(s);
      out(`entries: ${s.total}  (starter knowledge v${s.starterVersion ?? '-'})`);
      out(`by source: ${Object.entries(s.bySource).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`);
      out(`by CWE: ${Object.entries(s.byCwe).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`);
      out(`embeddings: ${s.embeddings.lexicalOnly ? `off, lexical only (${s.embeddings.reason ?? 'no model'})` : s.embeddings.model}`);
    });
}
