import { join } from 'node:path';
import { packageRoot } from '../../shared/paths.js';
import { cweId, type Finding, type Severity } from '../../shared/findings.js';
import { runTool, probeVersion } from './process.js';
import type { Analyzer, AnalyzeContext, AnalyzerRun } from './types.js';

/*
 * bandit through our compatibility launcher (bandit_compat.py), so Debian's 1.6.2 runs its string
 * checks (B608 SQL injection, B105-B107 passwords) on Python >= 3.8. bandit prints no CWE in 1.6.2:
 * the map below is ours. B603/B606/B607/B404 are left out on purpose: they flag the safe list form
 * of subprocess, and B101 (assert) is not a security finding in application code.
 */

const PYTHON = process.env.REFLEXGEN_BANDIT_PYTHON ?? '/usr/bin/python3';

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

export function banditFindings(json: string, toRepoPath: (file: string) => string): Finding[] {
  const data = JSON.parse(json) as { results?: BanditResult[] };
  const findings: Finding[] = [];
  for (const r of data.results ?? []) {
    if (IGNORED.has(r.test_id)) continue;
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
    const launcher = join(packageRoot(), 'daemon', 'analyzers', 'bandit_compat.py');
    const version = await probeVersion(PYTHON, [launcher, '--version'], /bandit\s+(\d[\w.]*)/);
    if (!version || !/^\d/.test(version)) {
      return { available: false, detail: `bandit not found for ${PYTHON} (Debian: apt-get install python3-bandit)` };
    }
    return { available: true, version, detail: `${PYTHON} ${launcher}` };
  },
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    if (ctx.files.length === 0) return { findings: [], notAnalyzed: [] };
    const launcher = join(packageRoot(), 'daemon', 'analyzers', 'bandit_compat.py');
    const rel = ctx.files.map((f) => f.path);
    // "--": a staged file named like an option (-r.py, --output=x.py) stays a file name.
    const r = await runTool(PYTHON, [launcher, '-f', 'json', '-q', '--', ...rel], {
      cwd: ctx.root,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
    });
    // bandit exits 1 when it found issues; anything else without JSON is a failure.
    const start = r.stdout.indexOf('{');
    if (start < 0) throw new Error(`bandit failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    const json = r.stdout.slice(start);
    const byPath = new Map(rel.map((p) => [p, p]));
    const norm = (f: string) => byPath.get(f.replace(/^\.\//, '')) ?? f.replace(/^\.\//, '');
    const findings = banditFindings(json, norm);
    // bandit exits 0 for an input it could not read or parse; those files were not analyzed.
    const data = JSON.parse(json) as { errors?: Array<{ filename?: string; reason?: string }>; metrics?: Record<string, unknown> };
    const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
    for (const e of data.errors ?? []) {
      if (typeof e.filename === 'string') notAnalyzed.push({ path: norm(e.filename), reason: `not analyzed: ${e.reason ?? 'bandit error'}` });
    }
    const seen = new Set([...Object.keys(data.metrics ?? {}).map(norm), ...notAnalyzed.map((n) => n.path)]);
    for (const p of rel) if (!seen.has(p)) notAnalyzed.push({ path: p, reason: 'not analyzed: bandit did not report on this file' });
    return { findings, notAnalyzed };
  },
};
