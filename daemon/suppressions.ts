import type { Finding, Severity } from '../shared/findings.js';
import { cweId } from '../shared/findings.js';

/*
 * Noise control that needs no tool: inline suppressions, the per-rule off switch, and merging the
 * same problem reported by several analyzers. All pure so the pipeline can order them as it likes;
 * the intended order is filterDisabledRules -> applySuppressions -> (baseline) -> mergeFindings,
 * so that a suppression or baseline entry naming one tool's rule still removes that tool's report
 * before it is folded into another's.
 */

/** File contents by repo-relative path; a Map or a plain object. */
export type ContentByPath = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export function contentOf(contents: ContentByPath, path: string): string | undefined {
  if (contents instanceof Map) return contents.get(path);
  const rec = contents as Readonly<Record<string, string>>;
  return Object.prototype.hasOwnProperty.call(rec, path) ? rec[path] : undefined;
}

export interface InlineSuppression {
  /** 1-based line the comment is on; it covers this line and the next. */
  line: number;
  /** `CWE-89` (normalized) or a rule id as written (`py/sql-injection`, `B608`). */
  targets: string[];
  reason: string;
}

export interface SuppressionNotice {
  file: string;
  line: number;
  message: string;
}

export interface SuppressedFinding {
  finding: Finding;
  /** The target that matched and the author's reason, for the report and audit. */
  target: string;
  reason: string;
  /** Line of the suppression comment. */
  line: number;
}

const MARKER = /reflexgen-ignore(?![\w-])(.*)$/;
const TARGET = /[A-Za-z0-9_.\/\-]+/y;

/**
 * The comment part of each line (undefined when it has none). The marker only counts inside a
 * comment, so a string literal that mentions it is not a suppression. Quotes are tracked within a
 * line and block comments across lines; that is enough for #, // and /* *\/ in the languages we
 * route, without a parser per language.
 */
export function commentTexts(lines: readonly string[]): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let inBlock = false;
  for (const line of lines) {
    let text: string | undefined;
    let quote: string | undefined;
    let i = 0;
    if (inBlock) {
      const end = line.indexOf('*/');
      text = end < 0 ? line : line.slice(0, end);
      if (end < 0) {
        out.push(text);
        continue;
      }
      inBlock = false;
      i = end + 2;
    }
    for (; i < line.length; i++) {
      const ch = line[i];
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === '"' || ch === "'" || ch === '`') {
        quote = ch;
        continue;
      }
      if (ch === '#' || (ch === '/' && line[i + 1] === '/')) {
        text = (text ?? '') + ' ' + line.slice(i);
        break;
      }
      if (ch === '/' && line[i + 1] === '*') {
        const end = line.indexOf('*/', i + 2);
        text = (text ?? '') + ' ' + line.slice(i, end < 0 ? undefined : end + 2);
        if (end < 0) {
          inBlock = true;
          break;
        }
        i = end + 1;
      }
    }
    out.push(text);
  }
  return out;
}

function isCweTarget(t: string): boolean {
  return /^cwe[-_ ]?\d+$/i.test(t);
}

function stripCommentEnd(s: string): string {
  return s.replace(/\s*(\*\/|-->).*$/, '').trim();
}

/** Parses every `reflexgen-ignore` comment in a file; malformed ones become notices. */
export function parseSuppressions(content: string): { suppressions: InlineSuppression[]; problems: { line: number; message: string }[] } {
  const suppressions: InlineSuppression[] = [];
  const problems: { line: number; message: string }[] = [];
  const lines = content.split(/\r?\n/);
  const comments = commentTexts(lines);
  for (let i = 0; i < lines.length; i++) {
    const m = comments[i] === undefined ? null : MARKER.exec(comments[i]!);
    if (!m) continue;
    const rest = m[1];
    const targets: string[] = [];
    let pos = 0;
    // targets: one or more ids separated by commas and/or spaces, up to the colon before the reason
    for (;;) {
      while (pos < rest.length && /[\s,]/.test(rest[pos])) pos++;
      TARGET.lastIndex = pos;
      const t = TARGET.exec(rest);
      if (!t) break;
      targets.push(isCweTarget(t[0]) ? cweId(t[0]) : t[0]);
      pos = TARGET.lastIndex;
    }
    const after = rest.slice(pos).trimStart();
    const reason = after.startsWith(':') ? stripCommentEnd(after.slice(1)) : '';
    if (targets.length === 0) {
      problems.push({ line: i + 1, message: 'reflexgen-ignore names no CWE or rule, so it suppresses nothing; write `reflexgen-ignore CWE-89: why this is safe`' });
      continue;
    }
    if (!reason) {
      problems.push({
        line: i + 1,
        message: `reflexgen-ignore ${targets.join(', ')} has no reason, so it suppresses nothing; write \`reflexgen-ignore ${targets[0]}: why this is safe\``,
      });
      continue;
    }
    suppressions.push({ line: i + 1, targets, reason });
  }
  return { suppressions, problems };
}

function matches(f: Finding, target: string): boolean {
  if (/^CWE-\d+$/.test(target)) return f.cwe.includes(target);
  const t = target.toLowerCase();
  return f.ruleId.toLowerCase() === t || `${f.tool}:${f.ruleId}`.toLowerCase() === t;
}

/**
 * Drops findings covered by a `reflexgen-ignore` comment on their first line or the line above.
 * A comment without a reason suppresses nothing and produces a notice, so that "just make it pass"
 * is visible in review instead of silent.
 */
export function applySuppressions(
  findings: readonly Finding[],
  contentByPath: ContentByPath,
): { kept: Finding[]; suppressed: SuppressedFinding[]; notices: SuppressionNotice[] } {
  const kept: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const notices: SuppressionNotice[] = [];
  const parsed = new Map<string, InlineSuppression[]>();
  const byFile = (file: string): InlineSuppression[] => {
    let s = parsed.get(file);
    if (!s) {
      const content = contentOf(contentByPath, file);
      const r = content === undefined ? { suppressions: [], problems: [] } : parseSuppressions(content);
      s = r.suppressions;
      parsed.set(file, s);
      for (const p of r.problems) notices.push({ file, ...p });
    }
    return s;
  };
  for (const f of findings) {
    const hit = byFile(f.file)
      .filter((s) => s.line === f.startLine || s.line === f.startLine - 1)
      .flatMap((s) => s.targets.filter((t) => matches(f, t)).map((t) => ({ s, t })))[0];
    if (hit) suppressed.push({ finding: f, target: hit.t, reason: hit.s.reason, line: hit.s.line });
    else kept.push(f);
  }
  // Notices for files with no findings are not interesting at commit time; only files we looked at report.
  return { kept, suppressed, notices };
}

/**
 * The per-rule off switch (`rules: { "B101": false }`). An entry may be a rule id, `tool:ruleId`
 * to disable it for one tool only, or a CWE id to silence a whole class.
 */
export function filterDisabledRules(findings: readonly Finding[], disabled: ReadonlySet<string>): Finding[] {
  if (disabled.size === 0) return [...findings];
  const norm = new Set([...disabled].map((d) => (isCweTarget(d) ? cweId(d) : d.toLowerCase())));
  return findings.filter((f) => {
    if (norm.has(f.ruleId.toLowerCase()) || norm.has(`${f.tool}:${f.ruleId}`.toLowerCase())) return false;
    // A finding with several CWEs is dropped only when all of them are disabled: one live CWE keeps it.
    if (f.cwe.length > 0 && f.cwe.every((c) => norm.has(c))) return false;
    return true;
  });
}

const RANK: Record<Severity, number> = { error: 3, warning: 2, note: 1 };

/**
 * Findings of several tools on the same file, first line and CWE become one: the most severe one
 * leads, the others' tools go to `alsoReportedBy`, CWEs are united. Findings without a CWE are
 * merged only with the same rule of the same tool (exact duplicates). Input order is otherwise kept.
 */
export function mergeFindings(findings: readonly Finding[]): Finding[] {
  const parent = findings.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const owner = new Map<string, number>();
  findings.forEach((f, i) => {
    const keys = f.cwe.length ? f.cwe.map((c) => `${f.file}\0${f.startLine}\0${c}`) : [`${f.file}\0${f.startLine}\0${f.tool}\0${f.ruleId}`];
    for (const k of keys) {
      const j = owner.get(k);
      if (j === undefined) owner.set(k, i);
      else {
        const a = find(i);
        const b = find(j);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  });
  const groups = new Map<number, number[]>();
  findings.forEach((_, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  });
  const out: Finding[] = [];
  for (const idx of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(idx)!.map((i) => findings[i]);
    if (members.length === 1) {
      out.push(members[0]);
      continue;
    }
    const lead = members.reduce((best, f) => (RANK[f.severity] > RANK[best.severity] ? f : best));
    const cwe: string[] = [];
    const also: string[] = [...(lead.alsoReportedBy ?? [])];
    let endLine = lead.endLine;
    for (const f of members) {
      for (const c of f.cwe) if (!cwe.includes(c)) cwe.push(c);
      for (const t of [f.tool, ...(f.alsoReportedBy ?? [])]) if (t !== lead.tool && !also.includes(t)) also.push(t);
      endLine = Math.max(endLine, f.endLine);
    }
    const merged: Finding = { ...lead, cwe, endLine };
    if (also.length) merged.alsoReportedBy = also;
    else delete merged.alsoReportedBy;
    out.push(merged);
  }
  return out;
}
