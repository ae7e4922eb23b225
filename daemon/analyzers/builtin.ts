import type { Finding, Language } from '../../shared/findings.js';
import { initBuiltinRules, runBuiltinRules } from '../rules/engine.js';
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
  async probe() {
    try {
      await initBuiltinRules();
      return { available: true, version: treeSitterVersion(), detail: 'web-tree-sitter with tree-sitter-wasms grammars' };
    } catch (err) {
      return { available: false, detail: `tree-sitter grammars failed to load: ${(err as Error).message}` };
    }
  },
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    await initBuiltinRules();
    const started = Date.now();
    const out: Finding[] = [];
    for (const f of ctx.files) {
      if (!LANGS.includes(f.language)) continue;
      // Rules are synchronous; check between files so one check cannot overrun its budget by much.
      if (ctx.signal?.aborted) throw new ToolTimeoutError('built-in rules aborted');
      if (Date.now() - started > ctx.timeoutMs) throw new ToolTimeoutError(`built-in rules exceeded ${ctx.timeoutMs} ms`);
      out.push(...runBuiltinRules(f.path, f.language, f.content));
    }
    return { findings: out, notAnalyzed: [] };
  },
};
