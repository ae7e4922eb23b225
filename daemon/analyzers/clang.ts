import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readSarifText, SarifTooLarge } from './sarif-file.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzerArgs } from '../../shared/config.js';
import type { Finding } from '../../shared/findings.js';
import { cweId } from '../../shared/findings.js';
import { buildContext, compilerFlags, snapshotOf, type BuildContext } from './build-context.js';
import { pendingLine } from './gcc.js';
import { LateResults, probeVersion, runBounded } from './process.js';
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

/** Default bound on clang's analyzer for one file; past it the file is reported as not analyzed. */
export const DEFAULT_FILE_BOUND_MS = 20_000;
const BACKGROUND_LIMIT_MS = 5 * 60_000;

/**
 * The exact argv for one file; exported so tests and `reflexgen doctor` can show it. `flags` come
 * from the build context (joined single words only); the file follows "--", so a staged name that
 * starts with '-' is never an option.
 */
export function clangArgs(f: SourceFile, sarifOut: string, flags: string[]): string[] {
  return [
    '--analyze',
    '-Xclang',
    '-analyzer-output=sarif',
    '-o',
    sarifOut,
    ...flags,
    ...CLANG_CHECKERS.flatMap((c) => ['-Xclang', `-analyzer-checker=${c}`]),
    '--',
    f.absPath,
  ];
}

const late = new LateResults<{ stderr: string; code: number | null; sarif: string }>();

type OneResult = { findings: Finding[]; error?: string; bounded?: boolean; background?: boolean };

async function analyzeOne(f: SourceFile, ctx: AnalyzeContext, bc: BuildContext, boundMs: number): Promise<OneResult> {
  const b = await bc.forFile(f);
  const snap = snapshotOf(bc, f);
  const flags = compilerFlags(bc, f, b, snap);
  const key = createHash('sha256')
    .update(JSON.stringify([clangBin(), flags.map((a) => a.split(snap).join('<snapshot>')), f.path]))
    .update(f.content)
    .digest('hex');
  // Each file gets its own output dir: a run that goes on in the background still owns it.
  const work = await mkdtemp(join(tmpdir(), 'reflexgen-clang-'));
  const out = join(work, 'out.sarif');
  let oversize: string | undefined;
  const readOut = async () =>
    readSarifText(out).catch((err: unknown) => {
      if (err instanceof SarifTooLarge) oversize = err.message;
      return '';
    });
  let res: { stderr: string; code: number | null; sarif: string } | undefined = late.get(key);
  let keepWork = false;
  try {
    if (!res) {
      const r = await runBounded(clangBin(), clangArgs(f, out, flags), {
        cwd: snap,
        boundMs,
        hardMs: BACKGROUND_LIMIT_MS,
        signal: ctx.signal,
        onBackground: async (late2) => {
          late.set(key, { stderr: late2.stderr, code: late2.code, sarif: await readOut() });
          await rm(work, { recursive: true, force: true });
        },
      });
      if (r.bounded) {
        keepWork = r.background;
        return { findings: [], bounded: true, background: r.background };
      }
      res = { stderr: r.result.stderr, code: r.result.code, sarif: await readOut() };
    }
  } finally {
    if (!keepWork) await rm(work, { recursive: true, force: true });
  }
  if (res.code !== 0 || !res.sarif) {
    // A translation unit with errors is not analyzed at all: say so rather than report "clean".
    const firstError = res.stderr.split('\n').find((l) => /\berror:/.test(l)) ?? res.stderr.trim().split('\n')[0] ?? '';
    const shown = firstError.split(`${snap}/`).join('').split(`${bc.repo}/`).join('').trim();
    return { findings: [], error: `not analyzed: ${oversize ?? (shown || `exit code ${res.code}`)}` };
  }
  const findings = findingsFromSarif(JSON.parse(res.sarif), {
    tool: 'clang',
    root: snap,
    cweForRule: clangCwe,
    // clang marks every report a warning; leaks and style-ish reports should not block a commit.
    severityForRule: (rule, msg, derived) => {
      const cwe = clangCwe(rule, msg);
      if (cwe.length === 0 || cwe.includes('CWE-401')) return 'note';
      return derived === 'note' ? 'note' : 'warning';
    },
  });
  // Reports inside headers belong to the header, not to this file's lines.
  return { findings: findings.filter((x) => x.file === f.path) };
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
    const run: AnalyzerRun = { findings: [], notAnalyzed: [] };
    if (files.length === 0) return run;
    const bc = await buildContext(ctx, 'clang');
    const fileBound = analyzerArgs(ctx.config, 'clang').fileTimeoutMs ?? DEFAULT_FILE_BOUND_MS;
    const deadline = Date.now() + ctx.timeoutMs;
    let bounded = 0;
    let inBackground = 0;
    let missing: unknown;
    // Two at a time: clang's analyzer is CPU-bound and the daemon shares the machine with the editor.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++];
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          run.notAnalyzed.push({ path: f.path, reason: `time bound exceeded (clang's ${ctx.timeoutMs} ms for this check were spent)` });
          continue;
        }
        try {
          const boundMs = Math.min(fileBound, remaining);
          const r = await analyzeOne(f, ctx, bc, boundMs);
          run.findings.push(...r.findings);
          if (r.bounded) {
            bounded++;
            if (r.background) inBackground++;
            run.notAnalyzed.push({ path: f.path, reason: `time bound exceeded (clang --analyze, ${boundMs} ms per file)` });
          } else if (r.error) run.notAnalyzed.push({ path: f.path, reason: r.error });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof ToolMissingError) missing = err;
          else throw err;
        }
      }
    };
    await Promise.all([worker(), worker()]);
    if (missing) throw new ToolMissingError(`${clangBin()} is not installed`);
    run.findings.sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine);
    if (bounded) run.pending = pendingLine('clang --analyze', bounded, inBackground);
    return run;
  },
};
