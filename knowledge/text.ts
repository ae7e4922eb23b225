import { createHash } from 'node:crypto';

/*
 * Tokens for lexical retrieval over prose and code alike: identifiers are split at camelCase and
 * snake_case so `executeQuery`, `execute_query` and "execute the query" meet, and words are reduced
 * by a light suffix stripper so "formatting"/"formatted"/"format" do too.
 */

const STOP = new Set(
  ('a an and are as at be but by for from has have if in into is it its of on or so such that the their then there ' +
    'these this to was were will with without when which while who why how what you your we our can do does not no ' +
    'i me my he she they them than too very just also any all each other some more most only own same should would ' +
    'could may might must shall here out up down off over under again further once am been being had having did doing')
    .split(' '),
);

export function stem(w: string): string {
  if (w.length <= 3 || /\d/.test(w)) return w;
  let s = w;
  if (s.endsWith('ies') && s.length > 4) s = s.slice(0, -3) + 'y';
  else if (s.endsWith('sses')) s = s.slice(0, -2);
  else if (s.endsWith('s') && !s.endsWith('ss') && !s.endsWith('us') && !s.endsWith('is')) s = s.slice(0, -1);
  for (const suf of ['ations', 'ation', 'ition', 'ing', 'ion', 'ed', 'er', 'ly', 'ment', 'able', 'ible', 'ize']) {
    if (s.endsWith(suf) && s.length - suf.length >= 3) {
      s = s.slice(0, -suf.length);
      break;
    }
  }
  if (s.length > 3 && s.endsWith('e')) s = s.slice(0, -1);
  // "formatt" -> "format", "overflow" unchanged.
  if (s.length > 3 && s[s.length - 1] === s[s.length - 2] && !'lsz'.includes(s[s.length - 1])) s = s.slice(0, -1);
  return s;
}

/** Lowercased, split, stop words dropped, stemmed. Repeats are kept (term frequency matters). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const pieces = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  for (const p of pieces) {
    if (p.length < 2 || p.length > 40 || STOP.has(p) || /^\d+$/.test(p)) continue;
    out.push(stem(p));
  }
  return out;
}

export function uniqueTokens(text: string): string[] {
  return [...new Set(tokenize(text))];
}

/**
 * Fingerprint of code that ignores comments, whitespace and case, so the same repair written out
 * twice with other formatting is recognized as one.
 */
export function normalizedCodeHash(code: string): string {
  const stripped = code
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|[^:"'])\/\/[^\n]*/g, '$1')
    .replace(/(^|\s)#(?!include|define|if|endif|else|pragma)[^\n]*/g, '$1')
    .replace(/\s+/g, '')
    .toLowerCase();
  return createHash('sha256').update(stripped).digest('hex').slice(0, 32);
}

/** Jaccard similarity of two token sets; the lexical stand-in for "near identical" when there is no model. */
export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** CWE ids mentioned in free text ("CWE-89", "cwe 79"). */
export function cwesInText(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\bcwe[\s_-]?0*(\d{1,5})\b/gi)) out.add(`CWE-${m[1]}`);
  return [...out];
}
