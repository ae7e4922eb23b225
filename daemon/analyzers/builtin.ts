import { createHash } from 'node:crypto';
import type { Finding, Language } from '../../shared/findings.js';
import { gitBlobId } from '../pipeline/cache.js';
import { BuiltinRuleSet, builtinDependencies, initBuiltinRules, runBuiltinRules } from '../rules/engine.js';
import { treeSitterVersion } from '../rules/parser.js';
import { ToolTimeoutError, type Analyzer, type AnalyzeContext, type AnalyzerRun } from './types.js';

export { initBuiltinRules, runBuiltinRules };

const LANGS: readonly Language[] = ['python', 'c', 'cpp', 'javascript', 'typescript'];

/**
 * The built-in rules: tree-sitter parsing plus data-driven rules and a small taint engine, in the
 * daemon's process. Parsers load once (module-level cache) and stay warm for the daemon's life.
 */
export const builtinAnalyzer: Analyzer = {
  id: 'builtin',
  title: 'built-in rules (tree-sitter)',
  languages: LANGS,
  granularity: 'file',
  defaultEnabled: true,
  inProcess: true,
  async probe() {
    try {
      await initBuiltinRules();
      return { available: true, version: treeSitterVersion(), detail: 'web-tree-sitter with tree-sitter-wasms grammars' };
    } catch (err) {
      return { available: false, detail: `tree-sitter grammars failed to load: ${(err as Error).message}` };
    }
  },
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    const started = Date.now();
    const out: Finding[] = [];
    const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
    // The other files of the check are read for the imports they answer, even those the cache answered.
    const set = new BuiltinRuleSet((ctx.peers ?? ctx.files).filter((f) => LANGS.includes(f.language)));
    for (const f of ctx.files) {
      if (!LANGS.includes(f.language)) continue;
      // Rules are synchronous; check between files so one check cannot overrun its budget by much.
      if (ctx.signal?.aborted) throw new ToolTimeoutError('built-in rules aborted');
      if (Date.now() - started > ctx.timeoutMs) throw new ToolTimeoutError(`built-in rules exceeded ${ctx.timeoutMs} ms`);
      // Per file: a parser that aborted on the previous file is replaced before this one.
      await initBuiltinRules();
      try {
        out.push(...set.run(f.path, f.language, f.content));
      } catch (err) {
        notAnalyzed.push({ path: f.path, reason: `the parser failed: ${String((err as Error).message ?? err).split('\n')[0]}` });
      }
    }
    return { findings: out, notAnalyzed };
  },
  async dependencies(files) {
    await initBuiltinRules();
    const deps = builtinDependencies(files.filter((f) => LANGS.includes(f.language)));
    const blobs = new Map(files.map((f) => [f.path, f.blob ?? gitBlobId(f.content)]));
    const out = new Map<string, string>();
    // Keyed on the whole content of each dependency: coarser than its summaries, but never stale.
    for (const [path, ds] of deps) out.set(path, createHash('sha256').update(JSON.stringify(ds.map((d) => [d, blobs.get(d) ?? '']))).digest('hex'));
    return out;
  },
};
