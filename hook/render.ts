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

export function renderReport(r: CheckResult, opts: { minSeverityNote?: boolean } = {}): string {
  const lines: string[] = [];
  for (const n of r.notices) lines.push(pc.yellow(`reflexgen: ${L(n)}`));
  if (r.findings.length) {
    lines.push(pc.bold(`reflexgen: ${r.findings.length} finding(s) in the staged change:`));
    for (const f of r.findings) lines.push(renderFinding(f));
  }
  for (const g of r.guidance ?? []) {
    lines.push(pc.bold(`reflexgen: security knowledge for ${L(g.file)} (${L(g.cwe.join(', '))}):`));
    for (const h of g.hits) lines.push(`  - ${L(h.title)} [${L(h.cwe.join(', '))}]\n    ${L(h.lesson)}`);
  }
  for (const x of r.repairs ?? []) {
    if (x.status === 'repaired' && x.patch) {
      lines.push(pc.bold(`reflexgen: verified repair for ${L(x.file)} (${x.iterations} iteration(s); the analyzers no longer report it and it still parses):`));
      lines.push(colorDiff(x.patch));
    } else {
      const why = x.status === 'llm-error' ? `the model could not be reached: ${L(x.error ?? '')}` : x.status === 'budget-exhausted' ? 'the time budget ran out' : 'no candidate passed verification';
      lines.push(pc.yellow(`reflexgen: no verified repair for ${L(x.file)} (${why.trim()})`));
    }
  }
  const extra: string[] = [];
  if (r.preExisting) extra.push(`${r.preExisting} pre-existing finding(s) on lines this commit does not touch were not counted`);
  if (r.suppressed) extra.push(`${r.suppressed} suppressed`);
  if (extra.length) lines.push(pc.dim(`reflexgen: ${extra.join('; ')}`));
  const ran = r.analyzers.filter((a) => a.state === 'ok').map((a) => L(`${a.id}${a.version ? ` ${a.version}` : ''}`));
  const ms = r.timings.totalMs;
  const summary = `${ran.length ? `analyzed with ${ran.join(', ')}` : 'no analyzer ran'}${ms !== undefined ? ` in ${ms} ms` : ''}`;
  if (r.verdict === 'block') {
    lines.push(pc.red(pc.bold('reflexgen: commit blocked')) + pc.dim(` (${summary})`));
    lines.push(pc.dim('  fix the findings, suppress one with a "reflexgen-ignore CWE-<n>: <reason>" comment, or bypass once with git commit --no-verify'));
  } else if (r.verdict === 'warn') {
    lines.push(pc.yellow('reflexgen: commit allowed with warnings') + pc.dim(` (${summary})`));
  } else if (opts.minSeverityNote !== false) {
    lines.push(pc.green('reflexgen: no security findings in the staged change') + pc.dim(` (${summary})`));
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
