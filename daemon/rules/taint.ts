/**
 * The value lattice of the intra-procedural taint engine. `null` is untainted. A tainted value
 * remembers whether it came from request data (strong) or only from a function's own inputs (weak),
 * whether it was built by string formatting, and which sink kinds a sanitizer already made it safe for.
 */
export type SinkKind = 'path' | 'xss' | 'cmd' | 'sql' | 'code' | 'deser';

export const ALL_KINDS: readonly SinkKind[] = ['path', 'xss', 'cmd', 'sql', 'code', 'deser'];

export interface Taint {
  strong: boolean;
  weak: boolean;
  /** Passed through concatenation, %-formatting, .format or an f-string/template. */
  built: boolean;
  /** Went through a path normalizer (normpath/realpath/resolve); a later prefix check then sanitizes it. */
  normalized: boolean;
  clean: ReadonlySet<SinkKind>;
}

export type TV = Taint | null;

const NONE: ReadonlySet<SinkKind> = new Set();

export function strongSource(): Taint {
  return { strong: true, weak: false, built: false, normalized: false, clean: NONE };
}

export function weakSource(): Taint {
  return { strong: false, weak: true, built: false, normalized: false, clean: NONE };
}

/** Least upper bound: tainted if any part is; only as clean as the least clean tainted part. */
export function join(a: TV, b: TV): TV {
  if (!a) return b;
  if (!b) return a;
  const clean = new Set<SinkKind>();
  for (const k of a.clean) if (b.clean.has(k)) clean.add(k);
  return {
    strong: a.strong || b.strong,
    weak: a.weak || b.weak,
    built: a.built || b.built,
    normalized: a.normalized && b.normalized,
    clean,
  };
}

export function joinAll(vals: Iterable<TV>): TV {
  let acc: TV = null;
  for (const v of vals) acc = join(acc, v);
  return acc;
}

export function built(t: TV): TV {
  return t ? { ...t, built: true } : t;
}

export function normalized(t: TV): TV {
  return t ? { ...t, normalized: true } : t;
}

export function sanitize(t: TV, kinds: readonly SinkKind[]): TV {
  if (!t) return t;
  const clean = new Set(t.clean);
  for (const k of kinds) clean.add(k);
  if (clean.size === ALL_KINDS.length) return null;
  return { ...t, clean };
}

/**
 * Whether a value is dangerous at a sink of `kind`. Weak (parameter) taint counts only where the
 * rule accepts it, and then only when the value was built by formatting: passing a caller's query
 * string through unchanged is the caller's responsibility.
 */
export function reaches(t: TV, kind: SinkKind, acceptWeak = false): 'strong' | 'weak' | null {
  if (!t || t.clean.has(kind)) return null;
  if (t.strong) return 'strong';
  if (acceptWeak && t.weak && t.built) return 'weak';
  return null;
}
