/**
 * The value lattice of the taint engine. `null` is untainted (a literal, a sanitized value). A tainted
 * value remembers where it came from: request data or another client-controlled source (strong), a
 * function's own parameters (weak), or data the rules cannot see the origin of, such as attributes of
 * `self` and results of unknown calls (dyn); whether it was built by string formatting; whether that
 * formatting produced HTML around unescaped data; and which sink kinds a sanitizer made it safe for.
 */
export type SinkKind = 'path' | 'xss' | 'cmd' | 'sql' | 'ldap' | 'xpath' | 'nosql' | 'code' | 'deser' | 'url' | 'xml';

/** Each query language its own kind: a SQL escaper leaves an LDAP filter or a Mongo query as open as it was. */
export const ALL_KINDS: readonly SinkKind[] = ['path', 'xss', 'cmd', 'sql', 'ldap', 'xpath', 'nosql', 'code', 'deser', 'url', 'xml'];

export interface Taint {
  strong: boolean;
  weak: boolean;
  dyn: boolean;
  /** Passed through concatenation, %-formatting, .format or an f-string/template. */
  built: boolean;
  /** An HTML literal was formatted around data not escaped for HTML. */
  html: boolean;
  /** A SQL literal was formatted around data not escaped for SQL. */
  sqlText: boolean;
  /** Went through a path normalizer (normpath/realpath/resolve); a later prefix check then sanitizes it. */
  normalized: boolean;
  /**
   * A caller's or client's name was joined onto a base directory or namespace (`os.path.join(root, name)`,
   * `"%s/%s" % (root, name)`): a `..` in the name climbs out of the base unless a containment check follows.
   */
  joined: boolean;
  /** Came out of a call the rules know nothing about: the name may well have been vetted there. */
  indirect: boolean;
  clean: ReadonlySet<SinkKind>;
}

export type TV = Taint | null;

const NONE: ReadonlySet<SinkKind> = new Set();

const base = { strong: false, weak: false, dyn: false, built: false, html: false, sqlText: false, normalized: false, joined: false, indirect: false, clean: NONE };

export function strongSource(): Taint {
  return { ...base, strong: true };
}

export function weakSource(): Taint {
  return { ...base, weak: true };
}

export function dynSource(): Taint {
  return { ...base, dyn: true };
}

/** Least upper bound: tainted if any part is; only as clean as the least clean tainted part. */
export function join(a: TV, b: TV): TV {
  if (!a) return b;
  if (!b) return a;
  // Data of unknown origin next to client data: the client part decides what it is clean for (the
  // unknown part only ever yields notes, so a little optimism there costs nothing that blocks).
  const aOnlyDyn = !a.strong && !a.weak;
  const bOnlyDyn = !b.strong && !b.weak;
  let clean: Set<SinkKind>;
  if (aOnlyDyn && !bOnlyDyn) clean = new Set(b.clean);
  else if (bOnlyDyn && !aOnlyDyn) clean = new Set(a.clean);
  else {
    clean = new Set<SinkKind>();
    for (const k of a.clean) if (b.clean.has(k)) clean.add(k);
  }
  return {
    strong: a.strong || b.strong,
    weak: a.weak || b.weak,
    dyn: a.dyn || b.dyn,
    built: a.built || b.built,
    html: a.html || b.html,
    sqlText: a.sqlText || b.sqlText,
    normalized: a.normalized && b.normalized,
    joined: a.joined || b.joined,
    // Only the parts carrying a caller's or client's data say whether it came through an unknown call.
    indirect: (a.strong || a.weak ? a.indirect : true) && (b.strong || b.weak ? b.indirect : true),
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

/** The result of joining `parts` into a path: `joined` when a part after the first is a caller's or client's name. */
export function pathJoin(parts: TV[]): TV {
  const all = joinAll(parts);
  if (!all) return all;
  const rest = parts.slice(1);
  const named = rest.some((p) => !!p && (p.strong || p.weak) && !p.indirect && !p.clean.has('path'));
  // Any caller's data after the base makes the result a path built from it (a path sink takes that as evidence).
  const builtFrom = rest.some((p) => !!p && (p.strong || p.weak) && !p.clean.has('path'));
  return { ...all, joined: all.joined || named, built: all.built || builtFrom };
}

export function normalized(t: TV): TV {
  return t ? { ...t, normalized: true } : t;
}

/**
 * The result of a call the rules know nothing about: it may carry its arguments' data, but not as
 * request data any more (a decoder, a lookup, a hash...), so strong becomes weak.
 */
export function opaque(args: TV): Taint {
  // What the arguments were already made safe for stays safe: an unknown wrapper rarely undoes escaping.
  return { ...base, dyn: true, weak: !!args && (args.strong || args.weak), indirect: true, clean: args ? args.clean : NONE };
}

export function sanitize(t: TV, kinds: readonly SinkKind[]): TV {
  if (!t) return t;
  const clean = new Set(t.clean);
  for (const k of kinds) clean.add(k);
  if (clean.size === ALL_KINDS.length) return null;
  return { ...t, clean, html: kinds.includes('xss') ? false : t.html, sqlText: kinds.includes('sql') ? false : t.sqlText };
}

/**
 * Whether a value is dangerous at a sink of `kind`. `accept` says which weaker evidence the sink
 * takes: 'strong' only request data; 'weak' also a caller's data that was built into a string by
 * formatting (passing a caller's query through unchanged is the caller's responsibility); 'dyn' also
 * data of unknown origin formatted into the string (a command line or HTML page built by formatting).
 */
export function reaches(t: TV, kind: SinkKind, accept: 'strong' | 'weak' | 'dyn' | boolean = 'strong'): 'strong' | 'weak' | null {
  if (!t || t.clean.has(kind)) return null;
  const mode = accept === true ? 'weak' : accept === false ? 'strong' : accept;
  if (t.strong) return 'strong';
  if (mode !== 'strong' && t.weak && t.built) return 'weak';
  if (mode === 'dyn' && t.dyn && t.built) return 'weak';
  return null;
}

/** A taint value as a memo key: everything the callee's analysis can read from it. */
export function signature(t: TV): string {
  if (!t) return '-';
  return `${+t.strong}${+t.weak}${+t.dyn}${+t.built}${+t.html}${+t.sqlText}${+t.normalized}${+t.joined}${+t.indirect}:${[...t.clean].sort().join(',')}`;
}
