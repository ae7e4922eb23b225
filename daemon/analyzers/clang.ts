import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { analyzerArgs } from '../../shared/config.js';
import type { Finding } from '../../shared/findings.js';
import { cweId } from '../../shared/findings.js';
import { probeVersion, runTool } from './process.js';
import { findingsFromSarif } from './sarif-import.js';
import type { AnalyzeContext, Analyzer, AnalyzerRun, ProbeResult, SourceFile } from './types.js';
import { ToolMissingError } from './types.js';

/*
 * clang's static analyzer, one invocation per file. clang 14 can write SARIF itself
 * (`-analyzer-output=sarif`), so the shared SARIF importer does the parsing; clang puts no CWE
 * on its checkers, hence the hand map below (ANALYZERS.md §4).
 *
 * The alpha checkers are the ones the SVEN study ran: the bounds and taint checkers live only in
 * alpha in clang 14. Core/unix checkers (unix.Malloc finds the use-after-free cases) are on by
 * default and need no flag.
 */

// Read per call, so a test or `reflexgen doctor` can point at another clang without a restart.
const clangBin = (): string => process.env.REFLEXGEN_CLANG || 'clang';

export const CLANG_CHECKERS = [
  'alpha.security',
  'alpha.unix.cstring.OutOfBounds',
  'alpha.unix.cstring.BufferOverlap',
  'alpha.unix.cstring.NotNullTerminated',
] as const;

/** Checker (+ message, for the multi-purpose checkers) -> CWE ids. */
export function clangCwe(checker: string, message: string): string[] {
  const m = message.toLowerCase();
  const ids = (...n: number[]) => n.map((x) => cweId(x));
  if (checker === 'unix.Malloc' || checker.startsWith('cplusplus.NewDelete') || checker === 'unix.MallocSizeof') {
    if (m.includes('after it is freed') || m.includes('after it is released')) return ids(416);
    if (m.includes('free released memory') || m.includes('released memory') || m.includes('double free')) return ids(415);
    if (m.includes('leak')) return ids(401);
    if (m.includes('zero-allocated')) return ids(687);
    if (m.includes('not allocated by malloc') || m.includes('free()') || m.includes('deallocat')) return ids(590);
    return [];
  }
  if (
    checker === 'core.NullDereference' ||
    checker === 'core.CallAndMessage' ||
    checker === 'core.NonNullParamChecker' ||
    checker === 'unix.cstring.NullArg'
  )
    return ids(476);
  if (checker === 'core.StackAddressEscape' || checker === 'core.StackAddrEscapeBase') return ids(562);
  if (checker.startsWith('alpha.security.ArrayBound') || checker === 'alpha.unix.cstring.OutOfBounds' || checker === 'alpha.security.ReturnPtrRange') {
    // The read/write direction is not in the message; a write past the end is the more common report.
    return m.includes('read') ? ids(125) : ids(787, 125);
  }
  if (checker === 'alpha.unix.cstring.NotNullTerminated') return ids(170);
  if (checker === 'alpha.unix.cstring.BufferOverlap') return ids(475);
  if (checker === 'alpha.security.MallocOverflow') return ids(190);
  if (checker === 'alpha.security.taint.TaintPropagation' || checker.startsWith('alpha.security.taint')) {
    if (m.includes('index')) return ids(129);
    if (m.includes('size') || m.includes('alloc')) return ids(190);
    if (m.includes('command') || m.includes('system')) return ids(78);
    return ids(20);
  }
  if (checker.startsWith('security.insecureAPI.')) {
    if (checker.endsWith('rand')) return ids(338);
    if (checker.endsWith('mktemp') || checker.endsWith('mkstemp')) return ids(377);
    if (checker.endsWith('vfork')) return ids(676);
    return ids(120);
  }
  if (checker === 'security.FloatLoopCounter') return ids(1339);
  if (checker.startsWith('core.uninitialized.')) return ids(457);
  if (checker === 'core.DivideZero') return ids(369);
  if (checker === 'unix.API') return ids(628);
  if (checker === 'unix.Vfork') return ids(676);
  return [];
}

function langArgs(f: SourceFile): string[] {
  return f.language === 'cpp' ? ['-x', 'c++', '-std=gnu++17'] : ['-x', 'c', '-std=gnu11'];
}

/** The exact argv for one file; exported so tests and `reflexgen doctor` can show it. */
export function clangArgs(f: SourceFile, sarifOut: string, extra: string[] = []): string[] {
  return [
    '--analyze',
    '-Xclang',
    '-analyzer-output=sarif',
    '-o',
    sarifOut,
    ...langArgs(f),
    // Headers next to the staged file are in the snapshot only if they were staged too; the
    // repo-relative include dir still lets sibling includes resolve when they are.
    '-I',
    dirname(f.absPath),
    ...CLANG_CHECKERS.flatMap((c) => ['-Xclang', `-analyzer-checker=${c}`]),
    ...extra,
    f.absPath,
  ];
}

async function analyzeOne(f: SourceFile, ctx: AnalyzeContext, work: string, i: number): Promise<{ findings: Finding[]; error?: string }> {
  const out = join(work, `${i}.sarif`);
  const r = await runTool(clangBin(), clangArgs(f, out, analyzerArgs(ctx.config, 'clang')), {
    cwd: ctx.root,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  });
  let text: string;
  try {
    text = await readFile(out, 'utf8');
  } catch {
    text = '';
  }
  if (r.code !== 0 || !text) {
    // A translation unit with errors is not analyzed at all: say so rather than report "clean".
    const firstError = r.stderr.split('\n').find((l) => /\berror:/.test(l)) ?? r.stderr.trim().split('\n')[0] ?? '';
    return { findings: [], error: `${f.path}: ${firstError.replace(f.absPath, f.path).trim() || `exit code ${r.code}`}` };
  }
  const findings = findingsFromSarif(JSON.parse(text), {
    tool: 'clang',
    root: ctx.root,
    cweForRule: clangCwe,
    // clang marks every report a warning; leaks and style-ish reports should not block a commit.
    severityForRule: (rule, msg, derived) => {
      const cwe = clangCwe(rule, msg);
      if (cwe.length === 0 || cwe.includes('CWE-401')) return 'note';
      return derived === 'note' ? 'note' : 'warning';
    },
  });
  return { findings };
}

export const clangAnalyzer: Analyzer = {
  id: 'clang',
  title: 'clang static analyzer',
  languages: ['c', 'cpp'],
  granularity: 'file',
  defaultEnabled: true,

  async probe(): Promise<ProbeResult> {
    const bin = clangBin();
    const v = await probeVersion(bin, ['--version'], /clang version (\S+)/);
    if (!v) return { available: false, detail: `${bin} not found (install clang, e.g. apt-get install clang, or set REFLEXGEN_CLANG)` };
    return { available: true, version: v, detail: bin };
  },

  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    const files = ctx.files.filter((f) => f.language === 'c' || f.language === 'cpp');
    if (files.length === 0) return { findings: [], notAnalyzed: [] };
    const work = await mkdtemp(join(tmpdir(), 'reflexgen-clang-'));
    try {
      const findings: Finding[] = [];
      const errors: string[] = [];
      // Two at a time: clang's analyzer is CPU-bound and the daemon shares the machine with the editor.
      let next = 0;
      const worker = async () => {
        while (next < files.length) {
          const i = next++;
          const r = await analyzeOne(files[i], ctx, work, i);
          findings.push(...r.findings);
          if (r.error) errors.push(r.error);
        }
      };
      await Promise.all([worker(), worker()]);
      if (errors.length === files.length) {
        throw new Error(`clang could not analyze ${errors.length === 1 ? errors[0] : `${errors.length} files; first: ${errors[0]}`}`);
      }
      return { findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine), notAnalyzed: [] };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ToolMissingError(`${clangBin()} is not installed`);
      throw err;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};
