import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { packageRoot } from '../../shared/paths.js';
import { analyzerEnabled } from '../../shared/config.js';
import { cweId, type Finding, type Severity } from '../../shared/findings.js';
import { runTool } from './process.js';
import { ToolMissingError, type Analyzer, type AnalyzeContext, type AnalyzerRun } from './types.js';

/*
 * bandit as the user installed it: the `bandit` on PATH (apt, pip, pipx, a virtualenv), else
 * `python3 -m bandit` of the user's python3. bandit prints no CWE: the map below is ours.
 * B603/B606/B607/B404 are left out on purpose: they flag the safe list form of subprocess, and
 * B101 (assert) is not a security finding in application code.
 *
 * bandit releases before 1.7 (Debian ships 1.6.2) never run their string checks (B608 SQL
 * injection, B104-B108) on Python >= 3.8, whose parser yields ast.Constant where they expect
 * ast.Str. Only for such an installation the run goes through our launcher
 * (bandit_compat.py), which adds the missing visitor at run time with the same interpreter.
 */

const CANDIDATE = 'bandit';

/** How bandit is run, found once per daemon (the probe is cached by the registry). */
export interface BanditCommand {
  cmd: string;
  /** Arguments before bandit's own. */
  prefix: string[];
  version: string;
  /** Which installation, in words, for `doctor`. */
  detail: string;
}

/*
 * Run as `python -c`, whose sys.path starts with the current directory: that is the snapshot of
 * the repository being checked, so a `bandit/` or `pbr.py` committed there would be imported in
 * place of the real ones. The first entry goes before anything is imported; `-P` would do the
 * same but exists only from Python 3.11.
 */
const PROBE = [
  'import sys',
  'del sys.path[0]',
  'import json, platform',
  'from bandit.core import node_visitor',
  'import bandit',
  'print(json.dumps({"version": str(bandit.__version__), "constant": hasattr(node_visitor.BanditNodeVisitor, "visit_Constant"), "python": platform.python_version(), "exe": sys.executable}))',
].join('\n');

const RUN_MODULE = ['import sys', 'del sys.path[0]', 'sys.argv[0] = "bandit"', 'from bandit.cli.main import main', 'sys.exit(main())'].join('\n');

export interface Probed {
  version: string;
  constant: boolean;
  python: string;
}

/** An executable regular file named `name` in an absolute directory of PATH (relative entries would be the repository). */
export async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const p = join(dir, name);
    try {
      if (!(await stat(p)).isFile()) continue;
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The Python interpreter a console script's `#!` line names, if it names one. */
async function shebangPython(script: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let first: string;
  const fh = await open(script, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    first = buf.subarray(0, bytesRead).toString('utf8').split('\n')[0];
  } finally {
    await fh.close();
  }
  if (!first.startsWith('#!')) return undefined;
  const words = first.slice(2).trim().split(/\s+/);
  const isPython = (w: string | undefined) => w !== undefined && /^python[\d.]*$/.test(basename(w));
  if (words[0] && isAbsolute(words[0]) && isPython(words[0])) return words[0];
  // `#!/usr/bin/env python3`
  if (words[0] && basename(words[0]) === 'env' && isPython(words[1])) return onPath(words[1]!, env);
  return undefined;
}

export async function probePython(python: string): Promise<Probed | undefined> {
  try {
    const r = await runTool(python, ['-c', PROBE], { timeoutMs: 15_000, cwd: packageRoot() });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const v = JSON.parse(line) as Partial<Probed>;
    if (typeof v.version !== 'string' || typeof v.constant !== 'boolean' || typeof v.python !== 'string') return undefined;
    return { version: v.version, constant: v.constant, python: v.python };
  } catch {
    return undefined;
  }
}

function pythonMajorMinor(v: string): [number, number] {
  const [a, b] = v.split('.').map(Number);
  return [a || 0, b || 0];
}

/** Whether this bandit needs the launcher: no ast.Constant visitor and a Python that produces ast.Constant. */
export function needsCompat(p: Probed): boolean {
  const [maj, min] = pythonMajorMinor(p.python);
  return !p.constant && (maj > 3 || (maj === 3 && min >= 8));
}

/** How to run the bandit module of `python`, which `probed` describes. */
export function banditCommand(python: string, p: Probed, how: string): BanditCommand {
  if (needsCompat(p)) {
    const launcher = join(packageRoot(), 'daemon', 'analyzers', 'bandit_compat.py');
    return { cmd: python, prefix: [launcher], version: p.version, detail: `${how}; through bandit_compat.py (bandit ${p.version} predates ast.Constant)` };
  }
  return { cmd: python, prefix: ['-c', RUN_MODULE], version: p.version, detail: `${how}; run as python -m bandit` };
}

/**
 * Finds bandit: REFLEXGEN_BANDIT_PYTHON (an interpreter with bandit installed) when set, else the
 * `bandit` on PATH, else `python3 -m bandit`. A console script is run with the interpreter its
 * `#!` line names, so that interpreter's bandit is probed and, where needed, patched.
 */
export async function findBandit(env: NodeJS.ProcessEnv = process.env): Promise<BanditCommand | { missing: string }> {
  const forced = env.REFLEXGEN_BANDIT_PYTHON;
  if (forced) {
    const p = await probePython(forced);
    if (!p) return { missing: `REFLEXGEN_BANDIT_PYTHON=${forced} has no bandit module` };
    return banditCommand(forced, p, `REFLEXGEN_BANDIT_PYTHON=${forced}, Python ${p.python}`);
  }
  const exe = await onPath(CANDIDATE, env);
  if (exe) {
    const python = await shebangPython(exe, env).catch(() => undefined);
    const p = python ? await probePython(python) : undefined;
    if (python && p) return banditCommand(python, p, `${exe} on PATH, Python ${p.python} (${python})`);
    // Not a Python script we can see into (a wrapper): run it as it is.
    const r = await runTool(exe, ['--version'], { timeoutMs: 15_000, cwd: packageRoot() }).catch(() => undefined);
    const m = r && /bandit\s+(\d[\w.]*)/.exec(r.stdout + '\n' + r.stderr);
    if (m) {
      const old = /^1\.[0-6]\./.test(m[1]) ? '; bandit before 1.7 skips its string checks (B608) on Python >= 3.8' : '';
      return { cmd: exe, prefix: [], version: m[1], detail: `${exe} on PATH (bandit ${m[1]}${old})` };
    }
  }
  const python3 = await onPath('python3', env);
  if (python3) {
    const p = await probePython(python3);
    if (p) return banditCommand(python3, p, `${python3} -m bandit (no bandit on PATH), Python ${p.python}`);
  }
  return {
    missing: `no bandit on PATH${python3 ? ` and no bandit module for ${python3}` : ' and no python3'} (pipx install bandit, pip install bandit, or apt-get install python3-bandit)`,
  };
}

let found: Promise<BanditCommand | { missing: string }> | undefined;
function bandit(): Promise<BanditCommand | { missing: string }> {
  found ??= findBandit();
  return found;
}

const CWE_BY_TEST: Record<string, number> = {
  B102: 78, B103: 732, B104: 605, B105: 259, B106: 259, B107: 259, B108: 377, B201: 94,
  B301: 502, B302: 502, B303: 327, B304: 327, B305: 327, B306: 377, B307: 95, B308: 79,
  B310: 22, B311: 338, B312: 319, B313: 20, B314: 20, B315: 20, B316: 20, B317: 20, B318: 20,
  B319: 20, B320: 20, B321: 319, B323: 295, B324: 327, B325: 377, B401: 319, B402: 319,
  B403: 502, B405: 20, B406: 20, B407: 20, B408: 20, B409: 20, B410: 20, B411: 20, B412: 20,
  B413: 327, B501: 295, B502: 327, B503: 327, B504: 327, B505: 326, B506: 502, B507: 295,
  B601: 78, B602: 78, B604: 78, B605: 78, B608: 89, B609: 78, B610: 89, B611: 89, B701: 79,
  B702: 79, B703: 79,
};

const IGNORED = new Set(['B101', 'B110', 'B112', 'B404', 'B603', 'B606', 'B607', 'B322']);

/**
 * Pattern checks that the built-in rules answer with data flow, left to them while they run. B608 flags
 * any SQL text built with formatting or `+`, whatever the value's origin: the built-in taint rules
 * report the same CWE-89 where request or caller data reaches the query, and stay quiet on a table
 * name chosen from constants, where B608 flagged 26 of the 204 fixed SQL versions in SVEN.
 */
const SUPERSEDED_BY_BUILTIN: ReadonlySet<string> = new Set(['B608']);

const SEVERITY: Record<string, Severity> = { HIGH: 'error', MEDIUM: 'warning', LOW: 'note' };

interface BanditResult {
  filename: string;
  test_id: string;
  test_name: string;
  issue_text: string;
  issue_severity: string;
  issue_confidence: string;
  line_number: number;
  line_range?: number[];
}

interface BanditReport {
  results?: BanditResult[];
  errors?: Array<{ filename?: string; reason?: string }>;
  metrics?: Record<string, unknown>;
}

export function banditFindings(json: string, toRepoPath: (file: string) => string): Finding[] {
  return findingsOf(JSON.parse(json) as BanditReport, toRepoPath);
}

/**
 * bandit exits 0 with an empty result for a file it could not read or parse: the file appears
 * under `errors` (or not at all under `metrics`) instead. Those files are "not analyzed".
 */
export function banditRun(json: string, given: readonly string[], superseded: ReadonlySet<string> = new Set()): AnalyzerRun {
  const data = JSON.parse(json) as BanditReport;
  const norm = (f: string) => f.replace(/^\.\//, '');
  const reasons = new Map<string, string>();
  for (const e of data.errors ?? []) if (e.filename) reasons.set(norm(e.filename), e.reason ?? 'bandit reported an error');
  const measured = new Set(Object.keys(data.metrics ?? {}).map(norm));
  const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
  for (const p of given) {
    const why = reasons.get(p) ?? (measured.has(p) ? undefined : 'bandit did not report on this file');
    if (why) notAnalyzed.push({ path: p, reason: `bandit: ${why}` });
  }
  return { findings: findingsOf(data, norm, superseded), notAnalyzed };
}

function findingsOf(data: BanditReport, toRepoPath: (file: string) => string, superseded: ReadonlySet<string> = new Set()): Finding[] {
  const findings: Finding[] = [];
  for (const r of data.results ?? []) {
    if (IGNORED.has(r.test_id) || superseded.has(r.test_id)) continue;
    const cwe = CWE_BY_TEST[r.test_id];
    // Low confidence hits are guesses; they are shown but never block.
    const severity = r.issue_confidence === 'LOW' ? 'note' : (SEVERITY[r.issue_severity] ?? 'note');
    const lines = r.line_range && r.line_range.length ? r.line_range : [r.line_number];
    findings.push({
      tool: 'bandit',
      ruleId: `${r.test_id}:${r.test_name}`,
      cwe: cwe ? [cweId(cwe)] : [],
      severity,
      file: toRepoPath(r.filename),
      startLine: Math.min(...lines),
      endLine: Math.max(...lines),
      message: r.issue_text,
    });
  }
  return findings;
}

export const banditAnalyzer: Analyzer = {
  id: 'bandit',
  title: 'bandit',
  languages: ['python'],
  granularity: 'file',
  defaultEnabled: true,
  async probe() {
    const b = await bandit();
    if ('missing' in b) return { available: false, detail: b.missing };
    return { available: true, version: b.version, detail: b.detail };
  },
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    if (ctx.files.length === 0) return { findings: [], notAnalyzed: [] };
    const b = await bandit();
    if ('missing' in b) throw new ToolMissingError(b.missing);
    return runBandit(b, ctx);
  },
};

/** One bandit run over the snapshot's files. */
export async function runBandit(b: BanditCommand, ctx: AnalyzeContext): Promise<AnalyzerRun> {
  const rel = ctx.files.map((f) => f.path);
  // Without its input bandit still "succeeds"; a missing snapshot file is a pipeline fault.
  const missing: string[] = [];
  await Promise.all(ctx.files.map((f) => stat(join(ctx.root, f.path)).catch(() => void missing.push(f.path))));
  if (missing.length === rel.length) throw new Error(`bandit's input is missing from the snapshot (${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''})`);
  const r = await runTool(b.cmd, [...b.prefix, '-f', 'json', '-q', '--', ...rel], {
    cwd: ctx.root,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  });
  // bandit exits 1 when it found issues; anything else without JSON is a failure.
  const start = r.stdout.indexOf('{');
  if (start < 0) throw new Error(`bandit failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  let run: AnalyzerRun;
  try {
    run = banditRun(r.stdout.slice(start), rel, analyzerEnabled(ctx.config, 'builtin') ? SUPERSEDED_BY_BUILTIN : new Set());
  } catch (err) {
    throw new Error(`bandit printed output that is not its JSON report (exit ${r.code}): ${(err as Error).message}`);
  }
  return run;
}
