import * as pc from './ansi.js';
import type { CheckResult } from '../shared/protocol.js';
import type { Finding } from '../shared/findings.js';

/*
 * The report a developer reads when a commit is checked. Plain text with colors only on a TTY
 * (NO_COLOR / FORCE_COLOR honoured); one block per finding with location, CWE, rule,
 * tool and what to do.
 */

function loc(f: Finding): string {
  return f.startLine === f.endLine ? `${f.file}:${f.startLine}` : `${f.file}:${f.startLine}-${f.endLine}`;
}

export function renderFinding(f: Finding): string {
  const sev = f.severity === 'error' ? pc.red('error') : f.severity === 'warning' ? pc.yellow('warning') : pc.dim('note');
  const cwe = f.cwe.length ? f.cwe.join(', ') : 'no CWE';
  const tools = [f.tool, ...(f.alsoReportedBy ?? [])].join(', ');
  return `  ${pc.bold(loc(f))}  ${sev}  ${pc.cyan(cwe)}  ${f.ruleId} (${tools})\n    ${f.message}`;
}

/** What was checked, for the wording: the hook's commit, or a check run on its own (CI, pre-commit, paths). */
export interface ReportScope {
  /** e.g. "in the staged change", "in 12 tracked file(s)", "on lines changed since origin/main". */
  what: string;
  /** Whether a block verdict stops a commit (the hook, lint-staged) or only fails the check. */
  commit: boolean;
}

const STAGED: ReportScope = { what: 'in the staged change', commit: true };

export function renderReport(r: CheckResult, opts: { minSeverityNote?: boolean; scope?: ReportScope } = {}): string {
  const scope = opts.scope ?? STAGED;
  const lines: string[] = [];
  for (const n of r.notices) lines.push(pc.yellow(`reflexgen: ${n}`));
  if (r.findings.length) {
    lines.push(pc.bold(`reflexgen: ${r.findings.length} finding(s) ${scope.what}:`));
    for (const f of r.findings) lines.push(renderFinding(f));
  }
  for (const g of r.guidance ?? []) {
    lines.push(pc.bold(`reflexgen: security knowledge for ${g.file} (${g.cwe.join(', ')}):`));
    for (const h of g.hits) lines.push(`  - ${h.title} [${h.cwe.join(', ')}]\n    ${h.lesson}`);
  }
  for (const x of r.repairs ?? []) {
    if (x.status === 'repaired' && x.patch) {
      lines.push(pc.bold(`reflexgen: verified repair for ${x.file} (${x.iterations} iteration(s); the analyzers no longer report it and it still parses):`));
      lines.push(colorDiff(x.patch));
    } else {
      const why = x.status === 'llm-error' ? `the model could not be reached: ${x.error ?? ''}` : x.status === 'budget-exhausted' ? 'the time budget ran out' : 'no candidate passed verification';
      lines.push(pc.yellow(`reflexgen: no verified repair for ${x.file} (${why.trim()})`));
    }
  }
  const extra: string[] = [];
  if (r.preExisting) extra.push(`${r.preExisting} pre-existing finding(s) on lines this commit does not touch were not counted`);
  if (r.suppressed) extra.push(`${r.suppressed} suppressed`);
  if (extra.length) lines.push(pc.dim(`reflexgen: ${extra.join('; ')}`));
  const ran = r.analyzers.filter((a) => a.state === 'ok').map((a) => `${a.id}${a.version ? ` ${a.version}` : ''}`);
  const ms = r.timings.totalMs;
  const summary = `${ran.length ? `analyzed with ${ran.join(', ')}` : 'no analyzer ran'}${ms !== undefined ? ` in ${ms} ms` : ''}`;
  if (r.verdict === 'block') {
    lines.push(pc.red(pc.bold(scope.commit ? 'reflexgen: commit blocked' : 'reflexgen: check failed')) + pc.dim(` (${summary})`));
    lines.push(pc.dim(scope.commit
      ? '  fix the findings, suppress one with a "reflexgen-ignore CWE-<n>: <reason>" comment, or bypass once with git commit --no-verify'
      : '  fix the findings or suppress one with a "reflexgen-ignore CWE-<n>: <reason>" comment'));
  } else if (r.verdict === 'warn') {
    lines.push(pc.yellow(scope.commit ? 'reflexgen: commit allowed with warnings' : 'reflexgen: check passed with warnings') + pc.dim(` (${summary})`));
  } else if (opts.minSeverityNote !== false) {
    lines.push(pc.green(`reflexgen: no security findings ${scope.what}`) + pc.dim(` (${summary})`));
  }
  return lines.join('\n');
}

function colorDiff(patch: string): string {
  return patch
    .trimEnd()
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? pc.green(l) : l.startsWith('-') && !l.startsWith('---') ? pc.red(l) : l.startsWith('@@') ? pc.cyan(l) : l))
    .map((l) => `    ${l}`)
    .join('\n');
}
