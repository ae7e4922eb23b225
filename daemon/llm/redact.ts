/**
 * Secrets must not leave the machine inside a prompt. Each distinct secret becomes a stable placeholder
 * for the life of one Redactor (one commit), so the model sees the same name in every call and the answer
 * can be restored exactly.
 */

export type SecretKind =
  | 'private-key'
  | 'openai-key'
  | 'aws-key'
  | 'github-token'
  | 'slack-token'
  | 'google-key'
  | 'jwt'
  | 'assignment'
  | 'high-entropy';

export interface SecretSpan {
  start: number;
  end: number;
  kind: SecretKind;
}

const PLACEHOLDER_RE = /__REFLEXGEN_SECRET_(\d+)__/g;
const IS_PLACEHOLDER = /^__REFLEXGEN_SECRET_\d+__$/;

const TOKEN_PATTERNS: Array<[SecretKind, RegExp]> = [
  ['private-key', /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g],
  ['openai-key', /(?<![A-Za-z0-9_-])sk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{16,}/g],
  ['aws-key', /(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])/g],
  ['github-token', /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/g],
  ['slack-token', /(?<![A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}/g],
  ['google-key', /(?<![A-Za-z0-9_])AIza[0-9A-Za-z_-]{35}/g],
  ['jwt', /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,}/g],
];

/** `name = "value"`, `"name": "value"`, `name := "value"`, keyword arguments; group 4 is the value. */
const ASSIGNMENT_RE = /([A-Za-z_$][A-Za-z0-9_.$-]*)(['"]?)\s*(?::=|=>|=|:)\s*[rRbBuU]{0,2}(['"`])((?:\\.|(?!\3)[^\\\n])+)\3/g;
const SECRET_NAME_RE = /passw(?:or)?d|passwd|(?:^|[_.-])pwd$|^pwd|(?:^|[_.-])pass$|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth[_-]?key/i;

const STRING_RE = /(['"`])((?:\\.|(?!\1)[^\\\n])*)\1/g;
const CANDIDATE_RE = /(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{20,}(?![A-Za-z0-9+/_=-])/g;

export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Random-looking tokens: only inside string literals, because identifiers and paths in code look random
 * too often and redacting them would confuse the model without protecting anything.
 */
function looksRandom(tok: string): boolean {
  if (tok.length < 20 || IS_PLACEHOLDER.test(tok)) return false;
  const lower = /[a-z]/.test(tok);
  const upper = /[A-Z]/.test(tok);
  const digit = /[0-9]/.test(tok);
  if (/^[0-9a-f]+$/i.test(tok)) return tok.length >= 32 && digit && lower !== upper && shannonEntropy(tok) >= 3;
  if (!digit || (!lower && !upper)) return false;
  // Paths such as "usr/lib/python3/site" are not base64.
  if (tok.includes('/') && !(lower && upper)) return false;
  return shannonEntropy(tok) >= 3.5;
}

export function findSecrets(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  for (const [kind, re] of TOKEN_PATTERNS) {
    for (const m of text.matchAll(re)) spans.push({ start: m.index, end: m.index + m[0].length, kind });
  }
  for (const m of text.matchAll(ASSIGNMENT_RE)) {
    const value = m[4];
    if (!SECRET_NAME_RE.test(m[1]) || IS_PLACEHOLDER.test(value) || value.trim() === '') continue;
    const start = m.index + m[0].length - 1 - value.length;
    spans.push({ start, end: start + value.length, kind: 'assignment' });
  }
  for (const s of text.matchAll(STRING_RE)) {
    const bodyStart = s.index + 1;
    for (const m of s[2].matchAll(CANDIDATE_RE)) {
      if (looksRandom(m[0])) spans.push({ start: bodyStart + m.index, end: bodyStart + m.index + m[0].length, kind: 'high-entropy' });
    }
  }
  // Earliest first, longest first on ties; drop anything overlapping a span already kept.
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: SecretSpan[] = [];
  for (const s of spans) {
    const last = kept[kept.length - 1];
    if (last && s.start < last.end) continue;
    kept.push(s);
  }
  return kept;
}

export class Redactor {
  private readonly bySecret = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();

  /** How many distinct secrets were replaced so far. */
  get count(): number {
    return this.bySecret.size;
  }

  redact(text: string): string {
    const spans = findSecrets(text);
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const s of spans) {
      const secret = text.slice(s.start, s.end);
      let ph = this.bySecret.get(secret);
      if (!ph) {
        ph = `__REFLEXGEN_SECRET_${this.bySecret.size + 1}__`;
        this.bySecret.set(secret, ph);
        this.byPlaceholder.set(ph, secret);
      }
      out += text.slice(at, s.start) + ph;
      at = s.end;
    }
    return out + text.slice(at);
  }

  restore(text: string): string {
    return text.replace(PLACEHOLDER_RE, (ph) => this.byPlaceholder.get(ph) ?? ph);
  }
}
