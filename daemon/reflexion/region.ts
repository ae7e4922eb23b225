import { diffArrays } from 'diff';
import type { LineSpan } from './types.js';

export interface SplitText {
  lines: string[];
  eol: '\n' | '\r\n';
  finalNewline: boolean;
}

export function splitText(content: string): SplitText {
  const eol = content.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = content.endsWith('\n');
  const body = finalNewline ? content.slice(0, content.endsWith('\r\n') ? -2 : -1) : content;
  return { lines: body === '' && finalNewline ? [''] : body.split(/\r?\n/), eol, finalNewline };
}

export function joinText(lines: string[], like: SplitText): string {
  return lines.join(like.eol) + (like.finalNewline ? like.eol : '');
}

export function clampRegion(region: LineSpan, lineCount: number): LineSpan {
  const startLine = Math.min(Math.max(1, region.startLine), Math.max(1, lineCount));
  const endLine = Math.min(Math.max(startLine, region.endLine), Math.max(1, lineCount));
  return { startLine, endLine };
}

export function regionText(content: string, region: LineSpan): string {
  const s = splitText(content);
  const r = clampRegion(region, s.lines.length);
  return s.lines.slice(r.startLine - 1, r.endLine).join('\n');
}

/** Numbered lines, for prompts and feedback that name line numbers. */
export function numbered(lines: string[], firstLine: number): string {
  const w = String(firstLine + lines.length - 1).length;
  return lines.map((l, i) => `${String(firstLine + i).padStart(w)}| ${l}`).join('\n');
}

export type AnswerFit =
  | { ok: true; mode: 'region' | 'whole-file'; content: string; candidate: string; range: LineSpan }
  | { ok: false; mode: 'region' | 'whole-file'; reason: string };

const same = (a: string, b: string) => a.trimEnd() === b.trimEnd();
const blank = (l: string) => l.trim() === '';
const hasCode = (ls: string[]) => ls.some((l) => /[A-Za-z0-9]/.test(l));
const squash = (l: string) => l.replace(/\s+/g, '');

function indentOf(l: string): string {
  return /^[ \t]*/.exec(l)![0];
}

function minIndent(lines: string[]): string | undefined {
  let best: string | undefined;
  for (const l of lines) {
    if (blank(l)) continue;
    const ind = indentOf(l);
    if (best === undefined || ind.length < best.length) best = ind;
  }
  return best;
}

function spans(lines: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j] + 1) j++;
    out.push(i === j ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j;
  }
  return out.join(', ');
}

/** A changed copy of a line just outside the region: the model rewrote context it was told to keep. */
function lookAlike(a: string, b: string): boolean {
  const x = squash(a);
  const y = squash(b);
  if (x === y || x.length < 8 || y.length < 8) return false;
  let k = 0;
  while (k < x.length && k < y.length && x[k] === y[k]) k++;
  return k >= 8 && k >= 0.6 * Math.min(x.length, y.length);
}

/**
 * Turns the model's code block into a whole candidate file. The block is either the new region, or the
 * whole file (recognized because it reproduces most lines outside the region); a whole-file answer that
 * changes anything outside the region is refused, since nobody asked for that change and nobody verified
 * its intent.
 */
export function fitAnswer(content: string, region: LineSpan, block: string): AnswerFit {
  const file = splitText(content);
  const r = clampRegion(region, file.lines.length);
  const pre = file.lines.slice(0, r.startLine - 1);
  const reg = file.lines.slice(r.startLine - 1, r.endLine);
  const post = file.lines.slice(r.endLine);
  let b = block.replace(/\r\n/g, '\n').split('\n');
  while (b.length > 1 && blank(b[b.length - 1]) && !blank(reg[reg.length - 1] ?? '')) b.pop();
  if (!hasCode(b)) return { ok: false, mode: 'region', reason: 'the code block is empty' };

  const outsideNonBlank = [...pre, ...post].filter((l) => !blank(l)).length;
  if (outsideNonBlank > 0) {
    const parts = diffArrays(file.lines, b, { comparator: same });
    let oi = 0;
    let ni = 0;
    let matchedOutside = 0;
    let startB = 0;
    let endB = b.length;
    const changedOutside: number[] = [];
    for (const p of parts) {
      const n = p.count ?? p.value.length;
      if (p.added) {
        // An insertion between two old lines counts as inside when it touches the region's edges;
        // blank lines moved around outside are noise, not a change.
        if ((oi < r.startLine - 1 || oi > r.endLine) && hasCode(p.value)) changedOutside.push(Math.min(oi + 1, file.lines.length));
        ni += n;
        continue;
      }
      for (let k = 0; k < n; k++) {
        const line = oi + k + 1;
        const outside = line < r.startLine || line > r.endLine;
        if (p.removed) {
          if (outside && !blank(file.lines[line - 1])) changedOutside.push(line);
        } else {
          if (outside && !blank(file.lines[line - 1])) matchedOutside++;
          if (line < r.startLine) startB = ni + k + 1;
          if (line > r.endLine && endB === b.length) endB = ni + k;
        }
      }
      oi += n;
      if (!p.removed) ni += n;
    }
    const wholeFile = matchedOutside >= Math.max(1, Math.ceil(outsideNonBlank * 0.5)) && (matchedOutside >= 2 || outsideNonBlank === 1);
    if (wholeFile) {
      if (changedOutside.length) {
        const lines = [...new Set(changedOutside)].sort((x, y) => x - y);
        return {
          ok: false,
          mode: 'whole-file',
          reason: `the answer changes code outside the region (line${lines.length > 1 ? 's' : ''} ${spans(lines)}; the region is lines ${r.startLine}-${r.endLine})`,
        };
      }
      const mid = b.slice(startB, Math.max(startB, endB));
      return finish('whole-file', mid);
    }
  }

  // Models often repeat the line just before or after the region (a function header, a closing brace).
  let lead = 0;
  for (let k = Math.min(pre.length, b.length - 1); k >= 1; k--) {
    const head = b.slice(0, k);
    if (head.every((l, i) => same(l, pre[pre.length - k + i])) && hasCode(head) && !head.every((l, i) => same(l, reg[i] ?? '\u0000'))) {
      lead = k;
      break;
    }
  }
  b = b.slice(lead);
  let trail = 0;
  for (let k = Math.min(post.length, b.length - 1); k >= 1; k--) {
    const tail = b.slice(b.length - k);
    const regTail = reg.slice(reg.length - k);
    if (tail.every((l, i) => same(l, post[i])) && hasCode(tail) && !tail.every((l, i) => same(l, regTail[i] ?? '\u0000'))) {
      trail = k;
      break;
    }
  }
  b = b.slice(0, b.length - trail);

  const firstNew = b.find((l) => !blank(l));
  const lastNew = [...b].reverse().find((l) => !blank(l));
  const before = [...pre].reverse().find((l) => !blank(l));
  const after = post.find((l) => !blank(l));
  if (firstNew !== undefined && before !== undefined && lookAlike(firstNew, before) && !same(firstNew, reg.find((l) => !blank(l)) ?? '')) {
    return { ok: false, mode: 'region', reason: `the answer rewrites line ${r.startLine - 1 - [...pre].reverse().findIndex((l) => !blank(l))}, which is outside the region (lines ${r.startLine}-${r.endLine})` };
  }
  if (lastNew !== undefined && after !== undefined && lookAlike(lastNew, after) && !same(lastNew, [...reg].reverse().find((l) => !blank(l)) ?? '')) {
    return { ok: false, mode: 'region', reason: `the answer rewrites line ${r.endLine + 1 + post.findIndex((l) => !blank(l))}, which is outside the region (lines ${r.startLine}-${r.endLine})` };
  }

  // A region cut from inside an indented block often comes back dedented.
  const want = minIndent(reg);
  const got = minIndent(b);
  if (want && got === '') b = b.map((l) => (blank(l) ? l : want + l));
  return finish('region', b);

  function finish(mode: 'region' | 'whole-file', mid: string[]): AnswerFit {
    const lines = [...pre, ...mid, ...post];
    return {
      ok: true,
      mode,
      content: joinText(lines, file),
      candidate: mid.join('\n'),
      range: { startLine: r.startLine, endLine: Math.max(r.startLine, r.startLine + mid.length - 1) },
    };
  }
}
