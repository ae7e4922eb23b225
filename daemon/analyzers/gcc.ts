import { dirname, join } from 'node:path';
import { cweId, type Finding } from '../../shared/findings.js';
import { runTool, probeVersion } from './process.js';
import type { Analyzer, AnalyzeContext, SourceFile } from './types.js';

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

function compilerFor(f: SourceFile): { cc: string; lang: string[] } {
  return f.language === 'cpp' ? { cc: 'g++', lang: ['-x', 'c++', '-std=gnu++17'] } : { cc: 'gcc', lang: ['-x', 'c', '-std=gnu11'] };
}

export function gccFindings(json: string, file: SourceFile, pass: 'analyzer' | 'warnings'): Finding[] {
  const text = json.trim();
  if (!text.startsWith('[')) return [];
  const diags = JSON.parse(text) as GccDiagnostic[];
  const out: Finding[] = [];
  for (const d of diags) {
    if (d.kind !== 'warning' && d.kind !== 'error') continue;
    const loc = d.locations?.[0];
    const line = loc?.caret?.line;
    // Diagnostics inside system headers or other files are not this file's lines.
    if (!line || !loc?.caret?.file || !loc.caret.file.endsWith(file.absPath.slice(file.absPath.lastIndexOf('/') + 1))) continue;
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

/** The first compile error, when gcc could not build the file (missing header, syntax error). */
function compileError(json: string): string | undefined {
  try {
    const diags = JSON.parse(json.trim() || '[]') as GccDiagnostic[];
    const e = diags.find((d) => d.kind === 'error' || d.kind === 'fatal error');
    if (!e) return undefined;
    const loc = e.locations?.[0]?.caret;
    return `${loc?.line ? `line ${loc.line}: ` : ''}${e.message}`;
  } catch {
    return json.trim().split('\n')[0];
  }
}

export class CompileError extends Error {
  override name = 'CompileError';
}

export function includeFlags(ctx: AnalyzeContext, f: SourceFile): string[] {
  const dirs = [dirname(f.absPath), ctx.root];
  const repoRoot = ctx.repoRoot;
  if (repoRoot) dirs.push(join(repoRoot, dirname(f.path)), repoRoot, join(repoRoot, 'include'));
  return dirs.flatMap((d) => ['-I', d]);
}

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
  async analyze(ctx: AnalyzeContext) {
    const all: Finding[] = [];
    const failures: string[] = [];
    for (const f of ctx.files) {
      const { cc, lang } = compilerFor(f);
      const common = ['-c', '-o', '/dev/null', '-fdiagnostics-format=json', ...includeFlags(ctx, f), ...lang];
      const [an, warn] = await Promise.all([
        runTool(cc, ['-fanalyzer', ...common, f.absPath], { cwd: ctx.root, timeoutMs: ctx.timeoutMs, signal: ctx.signal }),
        runTool(cc, [...WARN_FLAGS, ...common, f.absPath], { cwd: ctx.root, timeoutMs: ctx.timeoutMs, signal: ctx.signal }),
      ]);
      if (an.code !== 0) {
        const err = compileError(an.stderr);
        failures.push(`${f.path}: ${err ?? `${cc} exited ${an.code}`}`);
      }
      all.push(...gccFindings(an.stderr, f, 'analyzer'), ...gccFindings(warn.stderr, f, 'warnings'));
    }
    if (failures.length && all.length === 0) throw new CompileError(`could not compile ${failures.join('; ')}`);
    return { findings: all, notAnalyzed: [] };
  },
};
