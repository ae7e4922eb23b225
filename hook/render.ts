import * as pc from './ansi.js';
import type { CheckResult } from '../shared/protocol.js';
import type { Finding } from '../shared/findings.js';
import { cleanLine as L, cleanText as T } from '../shared/terminal-text.js';

/*
 * The report a developer reads when a commit is checked. Plain text with colors only on a TTY
 * (NO_COLOR / FORCE_COLOR honoured); one block per finding with location, CWE, rule,
 * tool and what to do. Every piece of text that came from elsewhere (file names, messages, knowledge,
 * model answers, notices) is cleaned of escape sequences before our own colors go around it.
 */

function loc(f: Finding): string {
  return f.startLine === f.endLine ? `${L(f.file)}:${f.startLine}` : `${L(f.file)}:${f.startLine}-${f.endLine}`;
}

export function renderFinding(f: Finding): string {
  const sev = f.severity === 'error' ? pc.red('error') : f.severity === 'warning' ? pc.yellow('warning') : pc.dim('note');
  const cwe = f.cwe.length ? L(f.cwe.join(', ')) : 'no CWE';
  const tools = L([f.tool, ...(f.alsoReportedBy ?? [])].join(', '));
  return `  ${pc.bold(loc(f))}  ${sev}  ${pc.cyan(cwe)}  ${L(f.ruleId)} (${tools})\n    ${L(f.message)}`;
}

/** Findings shown per file before the rest is summarised (all of them with verbose). */
const FINDINGS_PER_FILE = 5;

/** What was checked, for the wording: the hook's commit, or a check run on its own (CI, pre-commit, paths). */
export interface ReportScope {
  /** e.g. "in the staged change", "in 12 tracked file(s)", "on lines changed since origin/main". */
  what: string;
  /** Whether a block verdict stops a commit (the hook, lint-staged) or only fails the check. */
  commit: boolean;
}

const STAGED: ReportScope = { what: 'in the staged change', commit: true };

export interface RenderOptions {
  scope?: ReportScope;
  /** Every finding, not the first few per file (`--verbose`, `REFLEXGEN_VERBOSE=1`). */
  verbose?: boolean;
}

/** `3 findings (2 error, 1 warning): CWE-89 x2, CWE-78 x1` */
export function summaryLine(findings: Finding[]): string {
  const bySev = new Map<string, number>();
  const byCwe = new Map<string, number>();
  for (const f of findings) {
    bySev.set(f.severity, (bySev.get(f.severity) ?? 0) + 1);
    for (const c of f.cwe.length ? f.cwe : ['no CWE']) byCwe.set(c, (byCwe.get(c) ?? 0) + 1);
  }
  const sev = ['error', 'warning', 'note'].filter((k) => bySev.has(k)).map((k) => `${bySev.get(k)} ${k}`);
  const cwe = [...byCwe].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${L(k)} x${n}`);
  return `${findings.length} finding${findings.length === 1 ? '' : 's'} (${sev.join(', ')}): ${cwe.join(', ')}`;
}

export function renderReport(r: CheckResult, opts: RenderOptions = {}): string {
  const scope = opts.scope ?? STAGED;
  const lines: string[] = [];
  for (const n of r.notices) lines.push(pc.yellow(`reflexgen: ${L(n)}`));
  if (r.findings.length) {
    lines.push(pc.bold(`reflexgen: ${summaryLine(r.findings)} ${scope.what}:`));
    const byFile = new Map<string, Finding[]>();
    for (const f of r.findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
    let hidden = 0;
    for (const fs of byFile.values()) {
      const shown = opts.verbose ? fs : fs.slice(0, FINDINGS_PER_FILE);
      for (const f of shown) lines.push(renderFinding(f));
      if (shown.length < fs.length) {
        hidden += fs.length - shown.length;
        lines.push(pc.dim(`  ... ${fs.length - shown.length} more in ${L(fs[0].file)}`));
      }
    }
    if (hidden) lines.push(pc.dim(`  (${hidden} finding(s) not shown: rerun with --verbose, or REFLEXGEN_VERBOSE=1 for the hook)`));
  }
  // Guidance once per knowledge entry, however many files it was retrieved for.
  const seenHits = new Set<string>();
  for (const g of r.guidance ?? []) {
    const hits = g.hits.filter((h) => !seenHits.has(h.id));
    if (!hits.length) continue;
    for (const h of hits) seenHits.add(h.id);
    lines.push(pc.bold(`reflexgen: security knowledge for ${L(g.file)} (${L(g.cwe.join(', '))}):`));
    for (const h of hits) lines.push(`  - ${L(h.title)} [${L(h.cwe.join(', '))}]\n    ${L(h.lesson)}`);
  }
  for (const x of r.repairs ?? []) {
    if (x.status === 'repaired' && x.patch) {
      lines.push(pc.bold(`reflexgen: verified repair for ${L(x.file)} (${x.iterations} iteration(s); the analyzers no longer report it and it still parses):`));
      lines.push(colorDiff(x.patch));
    } else {
      const why = x.status === 'llm-error' ? `the model could not be reached: ${L(x.error ?? '')}` : x.status === 'budget-exhausted' ? 'the time budget ran out' : 'no candidate passed verification';
      const left = x.targets.map((f) => `${L(f.file)}:${f.startLine} ${L(f.cwe[0] ?? f.ruleId)}`);
      const still = left.length ? `; still there: ${left.slice(0, 3).join(', ')}${left.length > 3 ? ` and ${left.length - 3} more` : ''}` : '';
      lines.push(pc.yellow(`reflexgen: no verified repair for ${L(x.file)} (${why.trim()}${still})`));
    }
  }
  const extra: string[] = [];
  if (r.preExisting) extra.push(`${r.preExisting} pre-existing finding(s) on lines this change does not touch were not counted`);
  if (r.suppressed) extra.push(`${r.suppressed} suppressed`);
  if (extra.length) lines.push(pc.dim(`reflexgen: ${extra.join('; ')}`));
  const ran = r.analyzers.filter((a) => a.state === 'ok').map((a) => L(`${a.id}${a.version ? ` ${a.version}` : ''}`));
  const ms = r.timings.totalMs;
  const when = r.timings.memoized ? ' (verdict known since `git add`)' : ms !== undefined ? ` in ${ms} ms` : '';
  const summary = ran.length ? `analyzed with ${ran.join(', ')}${when}` : r.analyzers.length ? 'no analyzer could run' : `no file ${scope.what} has an analyzer`;
  if (r.verdict === 'block') {
    lines.push(pc.red(pc.bold(scope.commit ? 'reflexgen: commit blocked' : 'reflexgen: check failed')) + pc.dim(` (${summary})`));
    lines.push(
      pc.dim(
        scope.commit
          ? '  fix the findings, suppress one with a "reflexgen-ignore CWE-<n>: <reason>" comment, or bypass once with git commit --no-verify'
          : '  fix the findings or suppress one with a "reflexgen-ignore CWE-<n>: <reason>" comment',
      ),
    );
  } else if (r.verdict === 'warn') {
    lines.push(pc.yellow(scope.commit ? 'reflexgen: commit allowed with warnings' : 'reflexgen: check passed with warnings') + pc.dim(` (${summary})`));
  } else if (r.findings.length) {
    lines.push(pc.green(`reflexgen: no blocking findings ${scope.what}`) + pc.dim(` (${summary}; the findings above are below the blocking severity)`));
  } else {
    lines.push(pc.green(`reflexgen: no security findings ${scope.what}`) + pc.dim(` (${summary})`));
  }
  return lines.join('\n');
}

function colorDiff(patch: string): string {
  return T(patch)
    .trimEnd()
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? pc.green(l) : l.startsWith('-') && !l.startsWith('---') ? pc.red(l) : l.startsWith('@@') ? pc.cyan(l) : l))
    .map((l) => `    ${l}`)
    .join('\n');
}
