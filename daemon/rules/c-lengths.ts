import { type Node, field, line, endLine, walk, operator } from './ast.js';
import type { RuleHit } from './catalog.js';
import { type FileInfo, type FnInfo, argList, boundedExpr, callName, declaratorName, exits, isWrite, numberOf, pathConditions, unwrap } from './c.js';
import { C } from './data.js';

/*
 * Lengths and cursors held against what the function tested, the overflows of parsers and protocol
 * handlers:
 * - a length from the caller or the data copied into a fixed-size array with nothing comparing it
 *   (CWE-805: `memcpy(buf, src, hdr->len)`, fixed by `if (hdr->len > sizeof buf) return`);
 * - a buffer passed with its length read at offsets the length was never tested for, or past what
 *   its test covers (`if (pos + 8 > len) return; read(data, pos + 8)`);
 * - a pointer or index walked to its end and advanced and used again with no new test.
 */

const norm = (t: string): string => t.replace(/\s+/g, '');

/** The array a destination expression points into: `buf`, `buf + k`, `&buf[k]`. */
function fixedArray(n: Node | null, fn: FnInfo, file: FileInfo): string | null {
  let u = unwrap(n);
  if (u?.type === 'binary_expression' && operator(u) === '+') u = unwrap(field(u, 'left'));
  else if (u?.type === 'pointer_expression' && u.text.startsWith('&')) {
    const sub = unwrap(field(u, 'argument'));
    u = sub?.type === 'subscript_expression' ? unwrap(field(sub, 'argument')) : null;
  }
  if (u?.type !== 'identifier') return null;
  return fn.arrays.has(u.text) || file.globalArrays.has(u.text) ? u.text : null;
}

/** The run-time leaves of a length: variables and `p->field` paths, not constants or macros. */
function leaves(n: Node, file: FileInfo): string[] {
  const out: string[] = [];
  walk(n, (x) => {
    if (x.type === 'field_expression') {
      out.push(norm(x.text));
      return false;
    }
    if (x.type === 'call_expression') {
      for (const a of argList(x)) out.push(...leaves(a, file));
      return false;
    }
    if (x.type === 'identifier' && !file.macros.has(x.text) && !/^[A-Z][A-Z0-9_]*$/.test(x.text)) out.push(x.text);
    return true;
  });
  return out;
}

/** A length that is bounded by construction: sizeof, a constant, a minimum, a mask or modulus. */
function bounded(n: Node, file: FileInfo): boolean {
  if (numberOf(n, file.macros) !== null) return true;
  let found = false;
  walk(n, (x) => {
    if (found) return false;
    if (x.type === 'sizeof_expression' || boundedExpr(x)) found = true;
    if (x.type === 'call_expression' && /^(min|min_t|umin|FFMIN|MIN|MIN2|std::min)$/i.test(callName(x))) found = true;
    if (x.type === 'conditional_expression') found = true;
    return !found;
  });
  return found;
}

/** Base variable of `a->b.c`. */
function baseOf(path: string): string {
  return path.split(/->|\.|\[/)[0];
}

/**
 * Whether `cond` limits one of `names`: compares it (other than with 0/NULL, which says nothing
 * of its size) or hands it to a function, e.g. a validator.
 */
function limits(cond: Node | null, names: ReadonlySet<string>): boolean {
  if (!cond) return false;
  const named = (x: Node | null): boolean => {
    let found = false;
    if (x) walk(x, (y) => {
      if (found) return false;
      if ((y.type === 'field_expression' || y.type === 'identifier') && names.has(norm(y.text))) found = true;
      return !found;
    });
    return found;
  };
  let found = false;
  walk(cond, (x) => {
    if (found) return false;
    if (x.type === 'binary_expression' && /^(<|<=|>|>=|==|!=)$/.test(operator(x))) {
      const l = field(x, 'left');
      const r = field(x, 'right');
      const zero = (y: Node | null): boolean => /^(0|NULL|nullptr)$/.test(unwrap(y)?.text ?? '');
      if ((named(l) && !zero(r)) || (named(r) && !zero(l))) found = true;
    }
    if (x.type === 'call_expression' && argList(x).some(named)) found = true;
    return !found;
  });
  return found;
}

function assigns(s: Node | null, names: ReadonlySet<string>): boolean {
  let found = false;
  if (s) walk(s, (x) => {
    if (found) return false;
    if (x.type === 'assignment_expression' && names.has(norm(field(x, 'left')?.text ?? ''))) found = true;
    if (x.type === 'update_expression' && names.has(norm(field(x, 'argument')?.text ?? ''))) found = true;
    return !found;
  });
  return found;
}

/** A test of the length on the way to `n`: an enclosing condition, or an earlier exit or clamp. */
function checkedBefore(n: Node, body: Node, names: ReadonlySet<string>): boolean {
  for (const c of pathConditions(n, body)) {
    if (!limits(c.cond, names)) continue;
    if (c.how !== 'earlier') return true;
    if (exits(field(c.owner, 'consequence')) || exits(field(c.owner, 'alternative')) || assigns(c.owner, names)) return true;
  }
  return false;
}

export function uncheckedCopyLength(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  // Locals derived from the caller's or the data's values, with what they derive from.
  const assigned = new Map<string, Node[]>();
  walk(fn.body, (n) => {
    let name: string | null = null;
    let value: Node | null = null;
    if (n.type === 'init_declarator') {
      const d = unwrap(field(n, 'declarator'));
      if (d?.type === 'identifier') [name, value] = [d.text, field(n, 'value')];
    } else if (n.type === 'assignment_expression') {
      const l = unwrap(field(n, 'left'));
      if (l?.type === 'identifier') [name, value] = [l.text, operator(n) === '=' ? field(n, 'right') : n];
    } else if (n.type === 'update_expression') {
      const a = unwrap(field(n, 'argument'));
      if (a?.type === 'identifier') [name, value] = [a.text, n];
    }
    if (name && value) assigned.set(name, [...(assigned.get(name) ?? []), value]);
    return true;
  });
  const pointerLike = (v: string): boolean => /\*|\[/.test(fn.types.get(v) ?? '');
  const external = new Map<string, Set<string>>();
  const sourceOf = (leaf: string): Set<string> | null => {
    const base = baseOf(leaf);
    if (leaf !== base) return fn.params.has(base) || pointerLike(base) ? new Set([leaf]) : null;
    if ((fn.params.has(leaf) && !pointerLike(leaf)) || fn.tainted.has(leaf) || fn.scanned.has(leaf)) return new Set([leaf]);
    return external.get(leaf) ?? null;
  };
  for (let pass = 0; pass < 3; pass++) {
    for (const [name, values] of assigned) {
      if (fn.params.has(name) || pointerLike(name)) continue;
      const from = new Set<string>([name]);
      let all = values.length > 0;
      for (const v of values) {
        if (bounded(v, file)) {
          all = false;
          break;
        }
        const srcs = leaves(v, file).map(sourceOf).filter((s): s is Set<string> => !!s);
        if (!srcs.length && !(v.type === 'update_expression' || v.type === 'assignment_expression')) {
          all = false;
          break;
        }
        for (const s of srcs) for (const x of s) from.add(x);
      }
      if (all && from.size > 1) external.set(name, from);
    }
  }
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression') return true;
    const name = callName(call);
    const spec = C.sizeArgs.get(name);
    if (!spec || spec[0] < 0) return true;
    const args = argList(call);
    const buf = fixedArray(args[spec[0]] ?? null, fn, file);
    const len = args[spec[1]];
    if (!buf || !len || bounded(len, file)) return true;
    const names = new Set<string>();
    let ext = false;
    for (const leaf of leaves(len, file)) {
      const src = sourceOf(leaf);
      if (!src) continue;
      ext = true;
      for (const s of src) names.add(s);
    }
    if (!ext) return true;
    if (checkedBefore(call, fn.body, names)) return true;
    const what = norm(len.text).slice(0, 60);
    const reads = name === 'memcmp' || name === 'strncmp';
    hits.push({
      rule: 'c/unchecked-copy-length',
      startLine: line(call),
      endLine: endLine(call),
      detail: `${name}() ${reads ? 'reads' : 'writes'} \`${what}\` bytes ${reads ? 'of' : 'into'} the fixed-size \`${buf}\`, and nothing before it compares that length with anything`,
    });
    return true;
  });
}

/**
 * A buffer handed in with its length, `f(const uint8_t *buf, size_t len)`, read at fixed offsets
 * (`buf[3]`, `*(buf + 3)`) with the length never tested first: a short input is read past its end.
 * Decoders and protocol dissectors fixed by `if (len < 4) return`.
 */
/** `f(const uint8_t *buf, size_t len)`: each byte-buffer parameter followed by its length, with its type. */
function bufferLengthPairs(fnNode: Node): Map<string, { len: string; type: string }> {
  const pairs = new Map<string, { len: string; type: string }>();
  let fd: Node | null = field(fnNode, 'declarator');
  while (fd && fd.type !== 'function_declarator') fd = field(fd, 'declarator');
  const plist = fd ? field(fd, 'parameters') : null;
  if (!plist) return pairs;
  const ps = plist.namedChildren.filter((p) => p.type === 'parameter_declaration');
  for (let i = 0; i + 1 < ps.length; i++) {
    const d = field(ps[i], 'declarator');
    const n = field(ps[i + 1], 'declarator');
    if (d?.type !== 'pointer_declarator' && d?.type !== 'array_declarator') continue;
    if (n?.type !== 'identifier') continue;
    const bufType = field(ps[i], 'type')?.text ?? '';
    const lenType = field(ps[i + 1], 'type')?.text ?? '';
    if (!C.byteTypes.test(bufType) || !C.sizeTypes.test(lenType)) continue;
    // The integer must read as the buffer's length (`len`, `size`, `nbytes`...), not a flag or a mode.
    const buf = declaratorName(d);
    if (buf && C.lengthNames.test(n.text)) pairs.set(buf, { len: n.text, type: bufType });
  }
  return pairs;
}

export function fixedOffsetReads(fnNode: Node, fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const pairs = new Map([...bufferLengthPairs(fnNode)].map(([b, { len }]) => [b, len]));
  if (!pairs.size) return;
  const reported = new Set<string>();
  walk(fn.body, (x) => {
    let base: Node | null = null;
    let off: number | null = null;
    if (x.type === 'subscript_expression') {
      base = unwrap(field(x, 'argument'));
      off = numberOf(field(x, 'index'), file.macros);
    } else if (x.type === 'pointer_expression' && x.text.startsWith('*')) {
      const a = unwrap(field(x, 'argument'));
      if (a?.type === 'binary_expression' && operator(a) === '+') {
        base = unwrap(field(a, 'left'));
        off = numberOf(field(a, 'right'), file.macros);
      }
    }
    if (base?.type !== 'identifier' || off === null || off < 1) return true;
    const len = pairs.get(base.text);
    if (!len || reported.has(base.text) || isWrite(x)) return true;
    // The buffer moved or was swapped: its offsets no longer count from what the caller passed.
    if (assigns(fn.body, new Set([base.text])) || checkedBefore(x, fn.body, new Set([len]))) return true;
    reported.add(base.text);
    hits.push({
      rule: 'c/unchecked-fixed-read',
      startLine: line(x),
      endLine: endLine(x),
      detail: `reads byte ${off} of \`${base.text}\`, but \`${len}\`, its length, is not tested before`,
    });
    return true;
  });
  offsetsPastTheTest(fn, file, pairs, hits);
}

/** `v + K` (or `v`, or `K + v`) with a constant K: the variable and the constant. */
function varPlus(n: Node | null, file: FileInfo): [string, number] | null {
  const u = unwrap(n);
  if (u?.type === 'identifier') return [u.text, 0];
  if (u?.type !== 'binary_expression' || operator(u) !== '+') return null;
  const l = unwrap(field(u, 'left'));
  const r = unwrap(field(u, 'right'));
  const kl = numberOf(l, file.macros);
  const kr = numberOf(r, file.macros);
  if (l?.type === 'identifier' && kr !== null) return [l.text, kr];
  if (r?.type === 'identifier' && kl !== null) return [r.text, kl];
  // `pos + 8 + 8`
  const inner = l?.type === 'binary_expression' ? varPlus(l, file) : null;
  return inner && kr !== null ? [inner[0], inner[1] + kr] : null;
}

/**
 * A position tested against the buffer's length, `if (pos + 8 > len) return`, then read further out
 * than the test covers: `UINT(data, pos + 8)` needs `pos + 9 <= len`. The test was meant to cover the
 * reads after it; the widest read tells how far it must reach (the fix is the test, `pos + 12 > len`).
 */
function offsetsPastTheTest(fn: FnInfo, file: FileInfo, pairs: Map<string, string>, hits: RuleHit[]): void {
  const lens = new Map([...pairs].map(([b, l]) => [l, b]));
  walk(fn.body, (ifs) => {
    if (ifs.type !== 'if_statement' || field(ifs, 'alternative') || !exits(field(ifs, 'consequence'))) return true;
    const c = unwrap(field(ifs, 'condition'));
    if (c?.type !== 'binary_expression') return true;
    let op = operator(c);
    let sum = field(c, 'left');
    let lim = unwrap(field(c, 'right'));
    if (op === '<' || op === '<=') [sum, lim, op] = [field(c, 'right'), unwrap(field(c, 'left')), op === '<' ? '>' : '>='];
    if ((op !== '>' && op !== '>=') || lim?.type !== 'identifier') return true;
    const buf = lens.get(lim.text);
    const vp = varPlus(sum, file);
    if (!buf || !vp) return true;
    const [v, k] = vp;
    // Offsets from v that the test covers: `v + k > len` exits, so v + k <= len and v + (k - 1) < len.
    const covered = op === '>' ? k : k + 1;
    const block = ifs.parent;
    if (!block || block.type !== 'compound_statement') return true;
    let after = false;
    for (const st of block.namedChildren) {
      if (st.id === ifs.id) {
        after = true;
        continue;
      }
      if (!after) continue;
      let stop = false;
      let hit: [Node, number] | null = null;
      walk(st, (x) => {
        if (stop || hit) return false;
        if ((x.type === 'assignment_expression' && unwrap(field(x, 'left'))?.text === v) || (x.type === 'update_expression' && unwrap(field(x, 'argument'))?.text === v)) {
          stop = true;
          return false;
        }
        let at: Node | null = null;
        if (x.type === 'subscript_expression' && unwrap(field(x, 'argument'))?.text === buf) at = field(x, 'index');
        if (x.type === 'call_expression') {
          const args = argList(x).map(unwrap);
          const i = args.findIndex((a) => a?.text === buf);
          if (i >= 0 && args[i + 1]) at = args[i + 1];
          const plus = args.find((a) => a?.type === 'binary_expression' && operator(a) === '+' && unwrap(field(a, 'left'))?.text === buf);
          if (plus) at = field(plus, 'right');
        }
        const r = at ? varPlus(at, file) : null;
        if (r && r[0] === v && r[1] >= covered) hit = [x, r[1]];
        return true;
      });
      if (hit) {
        const [x, off] = hit as [Node, number];
        hits.push({
          rule: 'c/unchecked-fixed-read',
          startLine: line(x),
          endLine: endLine(x),
          detail: `reads \`${buf}\` at \`${v}\` + ${off}, but the test of \`${lim.text}\` above only covers up to \`${v}\` + ${covered - 1}`,
        });
        return true;
      }
      if (stop) break;
    }
    return true;
  });
}


/**
 * A pointer walked up to an end pointer (`while (p < end)`) that is advanced and read again inside the
 * loop with no new comparison: `while (t < tend) { ... while (n--) if (*t++ != *q++) ...}`. The test at
 * the top covers one read; each further `*p++` needs its own (`if (p >= end) return`). Branches are
 * followed apart (an advance in the `if` does not reach the `else`), a branch that leaves the loop does
 * not flow on, and a nested loop counts twice, since its second round reads past the first.
 */
export function uncheckedPointerWalk(fn: FnInfo, hits: RuleHit[]): void {
  const pointerVar = (n: Node | null): string | null => {
    const u = unwrap(n);
    return u?.type === 'identifier' && (/\*/.test(fn.types.get(u.text) ?? '') || fn.params.has(u.text)) ? u.text : null;
  };
  const mentionsName = (n: Node | null, v: string): boolean => {
    let found = false;
    if (n) walk(n, (x) => (found ||= x.type === 'identifier' && x.text === v, !found));
    return found;
  };
  const indexVar = (n: Node | null): string | null => {
    const u = unwrap(n);
    return u?.type === 'identifier' && /^(const\s+)?(unsigned\s+|signed\s+)?(int|long|short|size_t|ssize_t|u?int\d+_t|u\d+|s\d+|uint|ut\d+|st\d+|gint|guint|gsize|DWORD|UINT)$/.test(fn.types.get(u.text) ?? '') ? u.text : null;
  };
  /** The base variable of a limit: `n`, `s->len` (s). */
  const limitVar = (n: Node | null): string | null => {
    let u = unwrap(n);
    while (u?.type === 'field_expression') u = unwrap(field(u, 'argument'));
    return u?.type === 'identifier' ? u.text : null;
  };
  /**
   * The (walker, end, mode) triples a loop condition compares: pointers `p < end`, `end > p`,
   * `p != end`; indices `i < len`, `len > i`.
   */
  const bounds = (cond: Node | null): Array<[string, string, 'ptr' | 'idx']> => {
    const out: Array<[string, string, 'ptr' | 'idx']> = [];
    if (cond) walk(cond, (x) => {
      if (x.type === 'binary_expression' && /^(<|<=|>|>=|!=)$/.test(operator(x))) {
        const l = pointerVar(field(x, 'left'));
        const r = pointerVar(field(x, 'right'));
        if (l && r && l !== r) out.push([l, r, 'ptr'], [r, l, 'ptr']);
        const op = operator(x);
        const il = indexVar(field(x, 'left'));
        const ir = indexVar(field(x, 'right'));
        // Only strict bounds: a loop that runs to `i <= n` indexes an array one longer than `n` by design.
        const lim = op === '<' ? limitVar(field(x, 'right')) : op === '>' ? limitVar(field(x, 'left')) : null;
        const idx = op === '<' ? il : op === '>' ? ir : null;
        if (idx && lim && idx !== lim) out.push([idx, lim, 'idx']);
      }
      return true;
    });
    return out;
  };
  /** Follows `p` through `root` from a budget of `initial` bytes ahead; the first access past the budget. */
  const budgetWalk = (p: string, end: string, mode: 'ptr' | 'idx', root: Node | null, initial: number, straight = false): Node | null => {
    let hit: Node | null = null;
    /**
     * What a comparison of the pointer with its end (in whatever arithmetic: `end - p < 2`,
     * `p + 6 > end`) vouches for: as many bytes as the constant in it, at least one.
     */
    const vouches = (x: Node): number | null => {
      if (x.type !== 'binary_expression' || !/^(<|<=|>|>=|!=|==)$/.test(operator(x)) || !mentionsName(x, p) || !mentionsName(x, end)) return null;
      let k = 1;
      walk(x, (y) => {
        if (y.type === 'number_literal') k = Math.max(k, Number.parseInt(y.text, 10) || 1);
        // `i + len > max`, `end - p < need`: a span of run-time size is checked as a whole; trust it.
        if (y.type === 'binary_expression' && /^[-+]$/.test(operator(y)) && [field(y, 'left'), field(y, 'right')].some((o) => { const u = unwrap(o); return u?.type === 'identifier' && u.text !== p && u.text !== end; })) k = Number.MAX_SAFE_INTEGER;
        return true;
      });
      return k;
    };
    /** Bytes known to lie ahead of `p`, from the last test, through each read and advance. */
    const expr = (n: Node | null, ahead: number): number => {
      if (!n) return ahead;
      walk(n, (x) => {
        if (hit) return false;
        const k = vouches(x);
        if (k !== null) {
          ahead = k;
          return false;
        }
        if ((mode === 'ptr' && x.type === 'pointer_expression' && x.text.startsWith('*')) || x.type === 'subscript_expression') {
          const arg = unwrap(field(x, mode === 'ptr' ? 'argument' : 'index'));
          const pre = arg?.type === 'update_expression' && arg.text.startsWith('++') && unwrap(field(arg, 'argument'))?.text === p;
          // `*++p` moves first and reads after.
          if (pre) ahead--;
          // Offsets past a test are left to the fixed-offset rules; what this follows is `*p` after `p++`.
          const off = mode === 'ptr' && x.type === 'subscript_expression' ? numberOf(field(x, 'index'), new Map()) : 0;
          // argv[argc] is NULL by the C standard: one past the count is still readable.
          if (mode === 'idx' && unwrap(field(x, 'argument'))?.text === 'argv') return true;
          if ((mode === 'ptr' ? pointerVar(unwrapPost(arg)) : indexVar(unwrapPost(arg))) === p && off !== null && ahead <= 0) {
            hit = x;
            return false;
          }
          if (pre) return false;
        }
        // Library calls that read through a pointer argument: `memcpy(&out, p, 4)` after `p += 8`.
        if (mode === 'ptr' && x.type === 'call_expression' && ahead <= 0) {
          const args = argList(x);
          if ((C.derefArgs.get(callName(x)) ?? []).some((i) => unwrap(args[i] ?? null)?.text === p)) {
            hit = x;
            return false;
          }
        }
        if (x.type === 'update_expression' && unwrap(field(x, 'argument'))?.text === p) ahead = x.text.includes('++') ? ahead - 1 : straight ? Number.POSITIVE_INFINITY : ahead;
        if (x.type === 'assignment_expression' && unwrap(field(x, 'left'))?.text === p) {
          // The value is read before the pointer moves: `p += len(*p)` reads at the old place.
          ahead = expr(field(x, 'right'), ahead);
          const right = field(x, 'right');
          const by = numberOf(right, new Map());
          if (operator(x) === '+=') ahead = by !== null ? ahead - by : 0;
          else if (operator(x) === '=') ahead = mentionsName(right, p) ? 0 : 1;
          return false;
        }
        return true;
      });
      return ahead;
    };
    const stmt = (n: Node | null, ahead: number): number => {
      if (!n || hit) return ahead;
      switch (n.type) {
        case 'compound_statement':
          for (const k of n.namedChildren) ahead = stmt(k, ahead);
          return ahead;
        // `#if A ... #else ... #endif`: one of the two is compiled, as with if/else.
        case 'preproc_if':
        case 'preproc_ifdef':
        case 'preproc_elif':
        case 'preproc_else': {
          const alt = field(n, 'alternative');
          const skip = new Set([alt?.id, field(n, 'condition')?.id, field(n, 'name')?.id]);
          let a = ahead;
          for (const k of n.namedChildren) if (!skip.has(k.id)) a = stmt(k, a);
          return alt ? Math.min(a, stmt(alt, ahead)) : Math.min(a, ahead);
        }
        case 'if_statement': {
          const f = expr(field(n, 'condition'), ahead);
          const cons = field(n, 'consequence');
          const alt = field(n, 'alternative');
          const altStmt = alt?.type === 'else_clause' ? alt.namedChildren[0] ?? null : alt;
          const a = stmt(cons, f);
          const b = altStmt ? stmt(altStmt, f) : f;
          if (exits(cons)) return b;
          if (altStmt && exits(altStmt)) return a;
          return Math.min(a, b);
        }
        case 'while_statement':
        case 'for_statement':
        case 'do_statement': {
          if (bounds(field(n, 'condition')).some(([a]) => a === p)) return straight ? Number.POSITIVE_INFINITY : 1;
          let f = n.type === 'for_statement' ? expr(field(n, 'initializer'), ahead) : ahead;
          // Outside a bounded walk, a loop is followed once and what it leaves is not known.
          for (let round = 0; round < (straight ? 1 : 2); round++) {
            if (n.type !== 'do_statement') f = expr(field(n, 'condition'), f);
            f = stmt(field(n, 'body'), f);
            if (n.type === 'for_statement') f = expr(field(n, 'update'), f);
            if (n.type === 'do_statement') f = expr(field(n, 'condition'), f);
          }
          return straight ? Number.POSITIVE_INFINITY : f;
        }
        default:
          return expr(n, ahead);
      }
    };
    stmt(root, initial);
    return hit;
  };
  const reported = new Set<string>();
  walk(fn.body, (loop) => {
    if (loop.type !== 'while_statement' && loop.type !== 'for_statement') return true;
    for (const [p, end, mode] of bounds(field(loop, 'condition'))) {
      const hit = budgetWalk(p, end, mode, field(loop, 'body'), 1);
      if (hit) {
        const at: Node = hit;
        hits.push({ rule: 'c/unchecked-pointer-walk', startLine: line(at), endLine: endLine(at), detail: `\`${p}\` is advanced and ${mode === 'ptr' ? 'read' : 'used as an index'} again after the \`${end}\` test that guards this loop, with no new test` });
        reported.add(p);
        break;
      }
    }
    return true;
  });
  // Outside loop conditions: a cursor tested against the end by an early exit (`if (p + 4 > end) return`)
  // and then moved on and read with no test for the new place.
  const tested = new Map<string, string>();
  walk(fn.body, (ifs) => {
    if (ifs.type !== 'if_statement' || !exits(field(ifs, 'consequence'))) return true;
    walk(field(ifs, 'condition')!, (x) => {
      if (x.type !== 'binary_expression' || !/^(<|<=|>|>=)$/.test(operator(x))) return true;
      for (const [mine, other] of [[field(x, 'left'), field(x, 'right')], [field(x, 'right'), field(x, 'left')]] as const) {
        const u = unwrap(mine);
        const cur = pointerVar(u?.type === 'binary_expression' && operator(u) === '+' ? field(u, 'left') : u);
        let end: string | null = null;
        if (other) walk(other, (y) => (end ??= y.type === 'identifier' && pointerVar(y) && y.text !== cur ? y.text : null, !end));
        if (cur && end && !tested.has(cur)) tested.set(cur, end);
      }
      return true;
    });
    return true;
  });
  for (const [p, end] of tested) {
    if (reported.has(p)) continue;
    const hit = budgetWalk(p, end, 'ptr', fn.body, Number.POSITIVE_INFINITY, true);
    if (hit) hits.push({ rule: 'c/unchecked-pointer-walk', startLine: line(hit), endLine: endLine(hit), detail: `\`${p}\` is moved on and read after its last test against \`${end}\`, with no test for the new place` });
  }
}

/** `p++` or `(p)`: the pointer a dereference reads. */
function unwrapPost(n: Node | null): Node | null {
  const u = unwrap(n);
  return u?.type === 'update_expression' ? unwrap(field(u, 'argument')) : u;
}
