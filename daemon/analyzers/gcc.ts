import { createHash } from 'node:crypto';
import { analyzerArgs } from '../../shared/config.js';
import { cweId, type Finding } from '../../shared/findings.js';
import { buildContext, compilerFlags, snapshotOf, type BuildContext } from './build-context.js';
import { LateResults, runBounded, runTool, probeVersion, type BoundedResult } from './process.js';
import { ToolTimeoutError, type Analyzer, type AnalyzeContext, type AnalyzerRun, type SourceFile } from './types.js';

/*
 * gcc as an analyzer: one run with -fanalyzer (gcc prints the CWE of each analyzer diagnostic
 * itself) and one optimizing run for the warnings that only fire after inlining and value range
 * propagation (-Wuse-after-free=3, -Wformat-overflow=2, ...). Warnings carry no CWE, so the map
 * below says which ones are security findings; every other warning (unused variables and the
 * like) is dropped: this is a security gate, not a linter. -Wformat-truncation is deliberately not
 * mapped: it fires on snprintf, which is the safe form.
 */

const WARNING_CWE: Record<string, number[]> = {
  '-Wformat-overflow=': [787],
  '-Wstringop-overflow=': [787],
  '-Warray-bounds': [125, 787],
  '-Warray-bounds=': [125, 787],
  '-Wstringop-overread': [125],
  '-Wuse-after-free': [416],
  '-Wuse-after-free=': [416],
  '-Wdangling-pointer=': [825],
  '-Wdangling-pointer': [825],
  '-Wreturn-local-addr': [562],
  '-Wnull-dereference': [476],
  '-Wstrict-overflow': [190],
  '-Wstrict-overflow=': [190],
  '-Woverflow': [190],
  '-Wshift-count-overflow': [190],
  '-Wformat-security': [134],
  '-Wfree-nonheap-object': [590],
  '-Wmismatched-dealloc': [762],
};

const WARN_FLAGS = [
  '-O2', '-Wall', '-Wextra', '-Wformat-overflow=2', '-Warray-bounds=2', '-Wstringop-overflow=4',
  '-Wnull-dereference', '-Wuse-after-free=3', '-Wstrict-overflow=2', '-Wformat-security',
];

interface GccDiagnostic {
  kind: string;
  message: string;
  option?: string;
  metadata?: { cwe?: number };
  locations?: Array<{ caret?: { file?: string; line?: number }; finish?: { line?: number } }>;
}

/** Default bound on gcc -fanalyzer for one file (it took 56 s on a real 1,000-line parser). */
export const DEFAULT_FILE_BOUND_MS = 20_000;
const BACKGROUND_LIMIT_MS = 5 * 60_000;

/**
 * The diagnostics array from gcc's stderr. gcc 12 prints its JSON and then, after a fatal error,
 * "compilation terminated." on the next line, so the text is not one JSON document; the array is
 * the line that starts with '['. Undefined when there is none (gcc did not get that far).
 */
export function parseGccDiagnostics(stderr: string): GccDiagnostic[] | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('[')) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (Array.isArray(v)) return v as GccDiagnostic[];
    } catch {
      /* not the diagnostics line */
    }
  }
  const t = stderr.trim();
  return t === '' ? [] : undefined;
}

export function gccFindings(stderr: string, file: SourceFile, pass: 'analyzer' | 'warnings'): Finding[] {
  const diags = parseGccDiagnostics(stderr) ?? [];
  const out: Finding[] = [];
  for (const d of diags) {
    if (d.kind !== 'warning' && d.kind !== 'error') continue;
    const loc = d.locations?.[0];
    const line = loc?.caret?.line;
    // Diagnostics inside headers are not this file's lines.
    if (!line || !loc?.caret?.file || (loc.caret.file !== file.absPath && !loc.caret.file.endsWith(`/${file.path}`))) continue;
    let cwes: number[] | undefined;
    if (pass === 'analyzer' && d.option?.startsWith('-Wanalyzer-')) cwes = d.metadata?.cwe ? [d.metadata.cwe] : [];
    else if (d.option) cwes = WARNING_CWE[d.option];
    if (!cwes) continue;
    out.push({
      tool: 'gcc',
      ruleId: d.option ?? 'error',
      cwe: cwes.map(cweId),
      severity: 'warning',
      file: file.path,
      startLine: line,
      endLine: Math.max(line, loc.finish?.line ?? line),
      message: d.message,
    });
  }
  return out;
}

/** Paths in a message as the user knows them: repo-relative instead of the snapshot's temp dir. */
function repoPath(p: string, snapshot: string, bc: BuildContext): string {
  for (const root of [snapshot, bc.repo]) if (p.startsWith(`${root}/`)) return p.slice(root.length + 1);
  return p;
}

/** The first compile error as "file:line: fatal error: message", when gcc could not build the file. */
export function firstCompileError(stderr: string, code: number | null, toRepo: (p: string) => string): string | undefined {
  const diags = parseGccDiagnostics(stderr);
  if (diags) {
    const e = diags.find((d) => d.kind === 'fatal error' || d.kind === 'error');
    if (e) {
      const loc = e.locations?.[0]?.caret;
      const where = loc?.file ? `${toRepo(loc.file)}${loc.line ? `:${loc.line}` : ''}: ` : '';
      return `${where}${e.kind}: ${e.message}`;
    }
    if (code === 0 || code === 1) return code === 0 ? undefined : `exit code ${code}`;
  }
  if (code === 0) return undefined;
  // No JSON at all: gcc failed before diagnostics (bad option, internal error). Its first line says why.
  const first = stderr.split('\n').find((l) => l.trim() && !l.startsWith('[')) ?? '';
  return toRepo(first.trim()) || `exit code ${code}`;
}

function compilerFor(f: SourceFile, lang: 'c' | 'c++'): string {
  return lang === 'c++' || f.language === 'cpp' ? 'g++' : 'gcc';
}

export function pendingLine(what: string, bounded: number, inBackground: number): string {
  return `${what}: ${bounded} file(s) past the per-file time bound, not analyzed in this check${
    inBackground ? `; ${inBackground} still running in the background, for the next check of the same content` : ''
  }`;
}

const late = new LateResults<{ stderr: string; code: number | null }>();

export const gccAnalyzer: Analyzer = {
  id: 'gcc',
  title: 'gcc -fanalyzer and security warnings',
  languages: ['c', 'cpp'],
  granularity: 'file',
  defaultEnabled: true,
  async probe() {
    const version = await probeVersion('gcc', ['-dumpfullversion'], /^(\d[\d.]*)/);
    if (!version) return { available: false, detail: 'gcc is not installed (Debian: apt-get install gcc)' };
    const major = Number(version.split('.')[0]);
    if (major < 10) return { available: false, version, detail: `gcc ${version} is too old for -fanalyzer (needs 10+)` };
    return { available: true, version };
  },
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    const findings: Finding[] = [];
    const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
    const bc = await buildContext(ctx, 'gcc');
    const fileBound = analyzerArgs(ctx.config, 'gcc').fileTimeoutMs ?? DEFAULT_FILE_BOUND_MS;
    const deadline = Date.now() + ctx.timeoutMs;
    let bounded = 0;
    let inBackground = 0;
    for (const f of ctx.files) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        notAnalyzed.push({ path: f.path, reason: `time bound exceeded (gcc's ${ctx.timeoutMs} ms for this check were spent)` });
        continue;
      }
      const b = await bc.forFile(f);
      const snap = snapshotOf(bc, f);
      const toRepo = (p: string) => repoPath(p, snap, bc);
      const cc = compilerFor(f, b.lang);
      // The file is an absolute path: gcc has no "--", and an absolute path can never read as an option.
      const common = ['-c', '-o', '/dev/null', '-fdiagnostics-format=json', ...compilerFlags(bc, f, b)];
      const anArgs = ['-fanalyzer', ...common, f.absPath];
      const key = createHash('sha256')
        .update(JSON.stringify([cc, anArgs.map((a) => a.split(snap).join('<snapshot>'))]))
        .update(f.content)
        .digest('hex');
      const anPromise: Promise<BoundedResult> = (async () => {
        const done = late.get(key);
        if (done) return { result: { ...done, stdout: '' } };
        return runBounded(cc, anArgs, {
          cwd: snap,
          boundMs: Math.min(fileBound, remaining),
          hardMs: BACKGROUND_LIMIT_MS,
          signal: ctx.signal,
          onBackground: (r) => late.set(key, { stderr: r.stderr, code: r.code }),
        });
      })();
      const warnPromise = runTool(cc, [...WARN_FLAGS, ...common, f.absPath], { cwd: snap, timeoutMs: remaining, signal: ctx.signal }).catch(
        (err: unknown) => {
          if (err instanceof ToolTimeoutError) return undefined;
          throw err;
        },
      );
      const [an, warn] = await Promise.all([anPromise, warnPromise]);
      if (warn) findings.push(...gccFindings(warn.stderr, f, 'warnings'));
      if (an.bounded) {
        bounded++;
        if (an.background) inBackground++;
        notAnalyzed.push({ path: f.path, reason: `time bound exceeded (gcc -fanalyzer, ${Math.min(fileBound, remaining)} ms per file)` });
        continue;
      }
      const err = firstCompileError(an.result.stderr, an.result.code, toRepo);
      if (err) {
        notAnalyzed.push({ path: f.path, reason: `not analyzed: ${err}` });
        continue;
      }
      findings.push(...gccFindings(an.result.stderr, f, 'analyzer'));
      if (!warn) notAnalyzed.push({ path: f.path, reason: `time bound exceeded (gcc warnings pass)` });
    }
    const run: AnalyzerRun = { findings, notAnalyzed };
    if (bounded) run.pending = pendingLine('gcc -fanalyzer', bounded, inBackground);
    return run;
  },
};
