import { type Node, kids, field, line, endLine, walk, operator } from './ast.js';
import type { RuleHit } from './catalog.js';
import { C } from './data.js';
import * as misuse from './c-misuse.js';
import { fixedOffsetReads, uncheckedCopyLength, uncheckedPointerWalk } from './c-lengths.js';

/** Per-file facts shared by the rules: macros, global arrays, functions only declared here. */
export interface FileInfo {
  macros: Map<string, number>;
  globalArrays: Map<string, number | null>;
  externFns: Set<string>;
  /** Functions whose result this file tests for NULL somewhere: by its own account they can return NULL. */
  nullChecked: Set<string>;
  /** The size expression each array was declared with, as written (`MAXBITS+1`). */
  sizeText: Map<string, string>;
}

export interface FnInfo {
  body: Node;
  params: Set<string>;
  types: Map<string, string>;
  arrays: Map<string, number | null>;
  /** Variables holding unbounded external integers (rand, atoi(argv), scanf, extern functions). */
  tainted: Set<string>;
  /** Variables written by scanf-like calls: read from input, so both bounds are unknown. */
  scanned: Set<string>;
  /** The size expression each local array was declared with, as written. */
  sizeText: Map<string, string>;
}

const LOOPS = new Set(['for_statement', 'while_statement', 'do_statement']);
const RELATIONAL = new Set(['<', '<=', '>', '>=']);

export function unwrapParens(n: Node | null): Node | null {
  while (n && n.type === 'parenthesized_expression') n = kids(n)[0] ?? null;
  return n;
}

export function unwrap(n: Node | null): Node | null {
  for (;;) {
    if (!n) return n;
    if (n.type === 'parenthesized_expression') n = kids(n)[0] ?? null;
    else if (n.type === 'cast_expression') n = field(n, 'value');
    else return n;
  }
}

export function declaratorName(d: Node | null): string | null {
  while (d) {
    if (d.type === 'identifier' || d.type === 'field_identifier') return d.text;
    // C++ `T& name` has no declarator field: the name is its last named child.
    d = field(d, 'declarator') ?? (d.type === 'reference_declarator' ? kids(d)[kids(d).length - 1] ?? null : null);
  }
  return null;
}

export function numberOf(n: Node | null, macros: Map<string, number>): number | null {
  const u = unwrap(n);
  if (!u) return null;
  if (u.type === 'number_literal') {
    const v = Number.parseInt(u.text.replace(/[uUlL]+$/, ''), u.text.startsWith('0x') ? 16 : 10);
    return Number.isNaN(v) ? null : v;
  }
  if (u.type === 'identifier') return macros.get(u.text) ?? null;
  if (u.type === 'unary_expression' && operator(u) === '-') {
    const v = numberOf(field(u, 'argument'), macros);
    return v === null ? null : -v;
  }
  return null;
}

export function callName(call: Node): string {
  const fn = field(call, 'function');
  return fn?.type === 'identifier' ? fn.text : '';
}

export function argList(call: Node): Node[] {
  const a = field(call, 'arguments');
  return a ? kids(a).filter((k) => k.type !== 'comment') : [];
}

function fileInfo(root: Node): FileInfo {
  const macros = new Map<string, number>();
  const globalArrays = new Map<string, number | null>();
  const sizeText = new Map<string, string>();
  const declared = new Set<string>();
  const defined = new Set<string>();
  walk(root, (n) => {
    if (n.type === 'preproc_def') {
      const name = field(n, 'name')?.text;
      const v = field(n, 'value')?.text.trim();
      if (name && v && /^\(?-?\d+[uUlL]*\)?$/.test(v)) macros.set(name, Number.parseInt(v.replace(/[()]/g, ''), 10));
      return false;
    }
    if (n.type === 'function_definition') {
      const name = declaratorName(field(n, 'declarator'));
      if (name) defined.add(name);
      return false;
    }
    return true;
  });
  for (const d of kids(root)) {
    if (d.type !== 'declaration') continue;
    for (const decl of declaratorsOf(d)) {
      let x: Node | null = decl.type === 'init_declarator' ? field(decl, 'declarator') : decl;
      while (x && x.type === 'pointer_declarator') x = field(x, 'declarator');
      if (x?.type === 'function_declarator') {
        const name = declaratorName(field(x, 'declarator'));
        if (name) declared.add(name);
      } else if (x?.type === 'array_declarator') {
        const name = declaratorName(x);
        if (name) globalArrays.set(name, numberOf(field(x, 'size'), macros));
        if (name) sizeText.set(name, field(x, 'size')?.text.replace(/\s+/g, '') ?? '');
      }
    }
  }
  const externFns = new Set([...declared].filter((n) => !defined.has(n)));
  return { macros, globalArrays, externFns, nullChecked: nullCheckedCallees(root), sizeText };
}

function declaratorsOf(decl: Node): Node[] {
  const out: Node[] = [];
  for (const c of decl.children) {
    if (c.isNamed && decl.childForFieldName('type')?.id !== c.id && c.type !== 'storage_class_specifier' && c.type !== 'type_qualifier' && c.type !== 'comment') out.push(c);
  }
  return out;
}

function fnInfo(fn: Node, file: FileInfo): FnInfo {
  const body = field(fn, 'body')!;
  const params = new Set<string>();
  const types = new Map<string, string>();
  const arrays = new Map<string, number | null>();
  const tainted = new Set<string>();
  const scanned = new Set<string>();
  const sizeText = new Map<string, string>();
  let fd: Node | null = field(fn, 'declarator');
  while (fd && fd.type !== 'function_declarator') fd = field(fd, 'declarator');
  const plist = fd ? field(fd, 'parameters') : null;
  for (const p of plist ? kids(plist) : []) {
    if (p.type !== 'parameter_declaration') continue;
    const name = declaratorName(field(p, 'declarator'));
    if (name) {
      params.add(name);
      types.set(name, field(p, 'type')?.text ?? '');
    }
  }
  const assigns: Array<[string, Node]> = [];
  walk(body, (n) => {
    if (n.type === 'declaration') {
      const type = field(n, 'type')?.text ?? '';
      for (const d of declaratorsOf(n)) {
        const target = d.type === 'init_declarator' ? field(d, 'declarator') : d;
        const name = declaratorName(target);
        if (!name) continue;
        types.set(name, type + (target?.type === 'pointer_declarator' ? '*' : ''));
        if (target?.type === 'array_declarator') {
          arrays.set(name, numberOf(field(target, 'size'), file.macros));
          sizeText.set(name, field(target, 'size')?.text.replace(/\s+/g, '') ?? '');
        }
        const value = d.type === 'init_declarator' ? field(d, 'value') : null;
        if (value) assigns.push([name, value]);
      }
    } else if (n.type === 'assignment_expression' && operator(n) === '=') {
      const left = field(n, 'left');
      const right = field(n, 'right');
      if (left?.type === 'identifier' && right) assigns.push([left.text, right]);
    } else if (n.type === 'call_expression') {
      const from = C.scanners.get(callName(n));
      if (from !== undefined) {
        for (const a of argList(n).slice(from)) {
          const u = unwrapParens(a);
          if (u?.type === 'pointer_expression' && u.text.startsWith('&')) {
            const v = field(u, 'argument');
            if (v?.type === 'identifier') {
              scanned.add(v.text);
              tainted.add(v.text);
            }
          }
        }
      }
    }
    return true;
  });
  // Two passes so `b = a + 1; a = rand();` style orderings in loops still propagate.
  for (let pass = 0; pass < 2; pass++) {
    for (const [name, value] of assigns) {
      if (!boundedExpr(value) && externalValue(value, tainted, file)) tainted.add(name);
    }
  }
  return { body, params, types, arrays, tainted, scanned, sizeText };
}

/** `x % N` / `x & MASK` cap the value: the bound CodeQL accepts as a guard. */
export function boundedExpr(n: Node): boolean {
  const u = unwrap(n);
  if (!u) return false;
  if (u.type === 'binary_expression') {
    const op = operator(u);
    if (op === '%' || op === '&') return true;
  }
  return false;
}

function isSourceCall(n: Node | null, file: FileInfo): boolean {
  const u = unwrap(n);
  if (!u || u.type !== 'call_expression') return false;
  const name = callName(u);
  return C.externalInts.has(name) || file.externFns.has(name);
}

/** Whether an expression carries an unbounded external value (not through a bounding % or &). */
function externalValue(n: Node, tainted: Set<string>, file: FileInfo): boolean {
  let found = false;
  walk(n, (x) => {
    if (found) return false;
    if (x !== n && boundedExpr(x)) return false;
    if (x.type === 'call_expression') {
      if (isSourceCall(x, file)) found = true;
      return false; // arguments of other calls do not flow into the result
    }
    if (x.type === 'sizeof_expression') return false;
    if (x.type === 'identifier' && tainted.has(x.text)) found = true;
    return true;
  });
  return found;
}

export function exits(s: Node | null): boolean {
  if (!s) return false;
  if (s.type === 'compound_statement') {
    const body = kids(s).filter((k) => k.type !== 'comment');
    return exits(body[body.length - 1] ?? null);
  }
  if (['return_statement', 'break_statement', 'continue_statement', 'goto_statement'].includes(s.type)) return true;
  if (s.type === 'expression_statement') {
    const e = kids(s)[0];
    return !!e && e.type === 'call_expression' && C.exits.has(callName(e));
  }
  return false;
}

function mentions(n: Node | null, names: ReadonlySet<string>): boolean {
  if (!n) return false;
  let found = false;
  walk(n, (x) => {
    if (found) return false;
    if (x.type === 'identifier' && names.has(x.text)) found = true;
    return true;
  });
  return found;
}

interface Step {
  child: Node;
  parent: Node;
}

/** Walks from `n` up to `stop`, giving each (child, parent) pair on the way. */
function* climb(n: Node, stop: Node): Generator<Step> {
  let child = n;
  for (let p = n.parent; p; child = p, p = p.parent) {
    yield { child, parent: p };
    if (p.id === stop.id) return;
  }
}

function isIn(n: Node, container: Node | null): boolean {
  return !!container && n.startIndex >= container.startIndex && n.endIndex <= container.endIndex;
}

/** A condition met on the way to `n`: where it comes from, and the statement or expression it belongs to. */
export interface PathCondition {
  cond: Node | null;
  /** `encloses`: of an if/loop/?: around `n`; `left`: the left side of a `&&`/`||` whose right side holds `n`; `earlier`: of an `if` before `n` in a block on the way. */
  how: 'encloses' | 'left' | 'earlier';
  owner: Node;
  /** For `earlier`: the block (compound or case statement) both are in. */
  block?: Node;
}

const CONDITIONED = new Set(['if_statement', 'while_statement', 'for_statement', 'do_statement', 'conditional_expression']);

/** The conditions on the path from `stop` down to `n`, nearest first; each guard rule picks the ones it trusts. */
export function* pathConditions(n: Node, stop: Node): Generator<PathCondition> {
  for (const { child, parent } of climb(n, stop)) {
    if (CONDITIONED.has(parent.type)) {
      const cond = field(parent, 'condition');
      if (!isIn(child, cond)) yield { cond, how: 'encloses', owner: parent };
    } else if (parent.type === 'binary_expression' && (operator(parent) === '&&' || operator(parent) === '||') && isIn(child, field(parent, 'right'))) {
      yield { cond: field(parent, 'left'), how: 'left', owner: parent };
    } else if (parent.type === 'compound_statement' || parent.type === 'case_statement') {
      for (const s of kids(parent)) {
        if (s.id === child.id) break;
        if (s.type === 'if_statement') yield { cond: field(s, 'condition'), how: 'earlier', owner: s, block: parent };
      }
    }
  }
}

/** Whether some condition on the path to `n` (enclosing or an earlier early exit) mentions `names`. */
export function guarded(n: Node, body: Node, names: ReadonlySet<string>): boolean {
  for (const c of pathConditions(n, body)) {
    if (c.how === 'encloses' && mentions(c.cond, names)) return true;
    if (c.how === 'earlier' && c.block?.type === 'compound_statement' && !field(c.owner, 'alternative') && exits(field(c.owner, 'consequence')) && mentions(c.cond, names)) return true;
  }
  return false;
}

// ------------------------------------------------------------------ CWE-190
function integerOverflow(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const taintedOperand = (o: Node | null, ids: Set<string>): boolean => {
    const p = unwrapParens(o);
    if (!p || boundedExpr(p)) return false;
    if (isSourceCall(p, file)) return true;
    const u = unwrap(p);
    if (u?.type === 'identifier' && fn.tainted.has(u.text)) {
      ids.add(u.text);
      return true;
    }
    return false;
  };
  const widened = (o: Node | null): boolean => {
    const p = unwrapParens(o);
    return p?.type === 'cast_expression' && C.wideTypes.test(field(p, 'type')?.text ?? '');
  };
  walk(fn.body, (n) => {
    let ids: Set<string> | null = null;
    if (n.type === 'binary_expression' && ['+', '-', '*'].includes(operator(n))) {
      const l = field(n, 'left');
      const r = field(n, 'right');
      if (widened(l) || widened(r)) return true;
      const s = new Set<string>();
      const lt = taintedOperand(l, s);
      const rt = taintedOperand(r, s);
      if (lt || rt) ids = s;
    } else if (n.type === 'assignment_expression' && ['+=', '-=', '*='].includes(operator(n))) {
      const l = field(n, 'left');
      const r = field(n, 'right');
      if (widened(r)) return true;
      const s = new Set<string>();
      const lt = taintedOperand(l, s);
      const rt = taintedOperand(r, s);
      if (l?.type === 'identifier') s.add(l.text);
      if (lt || rt) ids = s;
    }
    if (ids && !guarded(n, fn.body, ids)) {
      let inAlloc = false;
      for (let p = n.parent; p && p.id !== fn.body.id; p = p.parent) {
        if (p.type === 'call_expression' && C.allocators.has(callName(p))) inAlloc = true;
      }
      hits.push({ rule: operator(n).startsWith('-') ? 'c/integer-underflow' : 'c/integer-overflow', startLine: line(n), endLine: endLine(n), detail: inAlloc ? 'in an allocation size' : undefined });
      return false;
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-125 / CWE-787 subscripts
interface Bounds {
  lower: boolean;
  upper: boolean;
  /** A `<=` (or reversed) bound that is not provably inside the array: the off-by-one shape. */
  inclusive: boolean;
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };
const NEG: Record<string, string> = { '<': '>=', '>=': '<', '>': '<=', '<=': '>', '==': '!=', '!=': '==' };

function collectFacts(cond: Node | null, sense: boolean, v: string, size: number | null, macros: Map<string, number>, b: Bounds): void {
  const c = unwrapParens(cond);
  if (!c) return;
  if (c.type === 'unary_expression' && operator(c) === '!') return collectFacts(field(c, 'argument'), !sense, v, size, macros, b);
  if (c.type !== 'binary_expression') return;
  let op = operator(c);
  if (op === '&&' || op === '||') {
    if ((op === '&&') === sense) {
      collectFacts(field(c, 'left'), sense, v, size, macros, b);
      collectFacts(field(c, 'right'), sense, v, size, macros, b);
    }
    return;
  }
  if (!(op in FLIP)) return;
  let left = unwrap(field(c, 'left'));
  let right = field(c, 'right');
  if (unwrap(right)?.type === 'identifier' && unwrap(right)?.text === v) {
    [left, right] = [unwrap(right), field(c, 'left')];
    op = FLIP[op];
  }
  if (left?.type !== 'identifier' || left.text !== v) return;
  if (!sense) op = NEG[op];
  const k = numberOf(right, macros);
  if ((op === '>=' && k !== null && k >= 0) || (op === '>' && k !== null && k >= -1)) b.lower = true;
  if (op === '<') b.upper = true;
  if (op === '<=') {
    if (k !== null && size !== null && k < size) b.upper = true;
    else b.inclusive = true;
  }
}

function boundsFor(s: Node, fn: FnInfo, v: string, size: number | null, file: FileInfo): Bounds {
  const b: Bounds = { lower: false, upper: false, inclusive: false };
  const facts = (cond: Node | null, sense: boolean): void => collectFacts(cond, sense, v, size, file.macros, b);
  for (const { child, parent } of climb(s, fn.body)) {
    switch (parent.type) {
      case 'if_statement': {
        const cond = field(parent, 'condition');
        if (isIn(child, cond)) break;
        facts(cond, !isIn(child, field(parent, 'alternative')));
        break;
      }
      case 'while_statement':
      case 'for_statement': {
        const cond = field(parent, 'condition');
        if (!isIn(child, cond) && !isIn(child, field(parent, 'initializer'))) facts(cond, true);
        break;
      }
      case 'conditional_expression': {
        const cond = field(parent, 'condition');
        if (isIn(child, cond)) break;
        facts(cond, !isIn(child, field(parent, 'alternative')));
        break;
      }
      case 'binary_expression': {
        const op = operator(parent);
        if ((op === '&&' || op === '||') && isIn(child, field(parent, 'right'))) facts(field(parent, 'left'), op === '&&');
        break;
      }
      case 'compound_statement': {
        const local: Bounds = { lower: false, upper: false, inclusive: false };
        for (const st of kids(parent)) {
          if (st.id === child.id) break;
          if (assignsVar(st, v)) {
            local.lower = local.upper = local.inclusive = false;
            continue;
          }
          if (st.type === 'if_statement' && !field(st, 'alternative') && exits(field(st, 'consequence'))) {
            collectFacts(field(st, 'condition'), false, v, size, file.macros, local);
          }
        }
        b.lower ||= local.lower;
        b.upper ||= local.upper;
        b.inclusive ||= local.inclusive;
        break;
      }
    }
  }
  return b;
}

function assignsVar(st: Node, v: string): boolean {
  let found = false;
  walk(st, (x) => {
    if (found) return false;
    if (x.type === 'assignment_expression' && field(x, 'left')?.text === v) found = true;
    if (x.type === 'call_expression' && C.scanners.has(callName(x)) && x.text.includes(`&${v}`)) found = true;
    return true;
  });
  return found;
}

/** Whether loop `n` decrements `v`, not counting loops nested in it that do not contain `use`. */
function decrements(n: Node | null, v: string, use?: Node): boolean {
  let found = false;
  if (!n) return false;
  walk(n, (x) => {
    if (found) return false;
    if (use && x.id !== n.id && LOOPS.has(x.type) && !isIn(use, x)) return false;
    if (x.type === 'update_expression' && field(x, 'argument')?.text === v && x.text.includes('--')) found = true;
    if (x.type === 'assignment_expression' && field(x, 'left')?.text === v) {
      const op = operator(x);
      const r = field(x, 'right');
      if (op === '-=' || (op === '=' && r?.type === 'binary_expression' && operator(r) === '-' && field(r, 'left')?.text === v)) found = true;
    }
    return true;
  });
  return found;
}

/** An `if` inside `stop` on the way to `n` that compares `v` itself: enclosing it, or an earlier early exit. */
function testedOnTheWay(n: Node, stop: Node, v: string): boolean {
  for (const c of pathConditions(n, stop)) {
    if (c.how === 'encloses' && c.owner.type === 'if_statement' && testsDirectly(c.cond, v)) return true;
    if (c.how === 'earlier' && c.block?.type === 'compound_statement' && exits(field(c.owner, 'consequence')) && testsDirectly(c.cond, v)) return true;
  }
  return false;
}

/** The loop condition compares `v` itself (not merely uses it inside a subscript). */
function testsDirectly(cond: Node | null, v: string): boolean {
  let found = false;
  if (!cond) return false;
  walk(cond, (x) => {
    if (found || x.type === 'subscript_expression' || x.type === 'call_expression') return false;
    // `&& i` / `!i`: a truthiness test stops a count-down index at zero.
    if (x.type === 'binary_expression' && (operator(x) === '&&' || operator(x) === '||')) {
      for (const side of [unwrap(field(x, 'left')), unwrap(field(x, 'right'))]) if (side?.type === 'identifier' && side.text === v) found = true;
    }
    if (x.type === 'unary_expression' && operator(x) === '!' && unwrap(field(x, 'argument'))?.text === v) found = true;
    if (x.type === 'binary_expression' && (RELATIONAL.has(operator(x)) || operator(x) === '!=' || operator(x) === '==')) {
      const l = unwrap(field(x, 'left'));
      const r = unwrap(field(x, 'right'));
      if ((l?.type === 'identifier' && l.text === v) || (r?.type === 'identifier' && r.text === v)) found = true;
    }
    return true;
  });
  return found;
}

function inductionLowerBound(loop: Node, v: string, macros: Map<string, number>): boolean {
  const init = field(loop, 'initializer');
  const update = field(loop, 'update');
  if (!init || !update) return false;
  let start: number | null = null;
  walk(init, (x) => {
    if (x.type === 'init_declarator' && declaratorName(field(x, 'declarator')) === v) start = numberOf(field(x, 'value'), macros);
    if (x.type === 'assignment_expression' && field(x, 'left')?.text === v) start = numberOf(field(x, 'right'), macros);
    return true;
  });
  const up = /\+\+|\+=/.test(update.text) && update.text.includes(v);
  return start !== null && start >= 0 && up;
}

export function isWrite(s: Node): boolean {
  const p = s.parent;
  if (!p) return false;
  if (p.type === 'assignment_expression' && field(p, 'left')?.id === s.id) return true;
  return p.type === 'update_expression';
}

/**
 * `p = malloc(n + 1); ... p[n] = 0;`: the array was allocated one or more elements past the index
 * (the terminator idiom), so the index is inside what was allocated whatever `n` is. Whether `n + 1`
 * itself can wrap is the allocation-size rules' question.
 */
function allocatedPast(s: Node, body: Node): boolean {
  const clean = (t: string): string => t.replace(/\s+/g, '').replace(/\((u?int(8|16|32|64)_t|size_t|unsigned|int|long|unsignedlong|ssize_t)\)/g, '');
  const arr = clean(field(s, 'argument')?.text ?? '');
  const idx = clean(field(s, 'index')?.text ?? '').replace(/^\((.*)\)$/, '$1');
  if (!arr || !idx) return false;
  const esc = idx.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const past = new RegExp(`(^|[(,*])\\(?${esc}\\)?\\+\\d+|\\d+\\+\\(?${esc}\\)?($|[),*])`);
  // Sizes computed beforehand: `size = n + 1`, or a checked add `add_overflow(n, 1, &size)`.
  const sizes = new Set<string>();
  walk(body, (n) => {
    if (n.startIndex > s.startIndex) return false;
    if (n.type === 'assignment_expression' && operator(n) === '=' && past.test(clean(field(n, 'right')?.text ?? ''))) sizes.add(clean(field(n, 'left')?.text ?? ''));
    if (n.type === 'init_declarator' && past.test(clean(field(n, 'value')?.text ?? ''))) sizes.add(declaratorName(field(n, 'declarator')) ?? '');
    if (n.type === 'call_expression') {
      const args = argList(n).map((a) => clean(a.text));
      const out = args.find((a) => a.startsWith('&'));
      if (out && args.includes(idx) && args.some((a) => /^[1-9]\d*$/.test(a))) sizes.add(out.slice(1));
    }
    return true;
  });
  let found = false;
  walk(body, (n) => {
    if (found || n.startIndex > s.startIndex) return false;
    let target: string | null = null;
    let value: Node | null = null;
    if (n.type === 'assignment_expression' && operator(n) === '=') [target, value] = [clean(field(n, 'left')?.text ?? ''), field(n, 'right')];
    else if (n.type === 'init_declarator') [target, value] = [declaratorName(field(n, 'declarator')), field(n, 'value')];
    const call = unwrap(value);
    if (target === arr && call?.type === 'call_expression' && C.allocName.test(callName(call)) && argList(call).some((a) => past.test(clean(a.text)) || sizes.has(clean(a.text)))) found = true;
    return !found;
  });
  return found;
}

function subscripts(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  walk(fn.body, (s) => {
    if (s.type !== 'subscript_expression') return true;
    const idx = field(s, 'index');
    const arr = unwrap(field(s, 'argument'));
    if (!idx || !arr) return true;
    if (allocatedPast(s, fn.body)) return true;
    const vars = new Set<string>();
    walk(idx, (x) => {
      if (x.type === 'call_expression' || x.type === 'subscript_expression' || x.type === 'sizeof_expression' || x.type === 'field_expression') return false;
      if (x.type === 'identifier' && !file.macros.has(x.text) && !/^[A-Z][A-Z0-9_]*$/.test(x.text)) vars.add(x.text);
      return true;
    });
    if (vars.size !== 1) return true;
    const v = [...vars][0];
    const write = isWrite(s);
    const rule = write ? 'c/out-of-bounds-write' : 'c/out-of-bounds-read';
    const size = arr.type === 'identifier' ? (fn.arrays.get(arr.text) ?? file.globalArrays.get(arr.text) ?? null) : null;
    // An array of known, fixed size is where an index bug is certain; into memory the function only
    // points at, a caller's index is a hint the caller may well keep in range.
    const fixed = arr.type === 'identifier' && (fn.arrays.has(arr.text) || file.globalArrays.has(arr.text));
    const report = (detail: string, weak = false): void => {
      hits.push({ rule, startLine: line(s), endLine: endLine(s), detail, ...(weak && !fixed ? { severity: 'note' as const } : {}) });
    };

    let loop: Node | null = null;
    for (let p = s.parent; p && p.id !== fn.body.id; p = p.parent) {
      if (LOOPS.has(p.type)) {
        loop = p;
        break;
      }
    }
    // A decrementing index: the loop condition itself must keep it in range.
    if (loop && decrements(loop, v, s)) {
      if (!testsDirectly(field(loop, 'condition'), v) && !testedOnTheWay(s, loop, v)) report(`decrementing index \`${v}\` is not tested by the loop condition`);
      return true;
    }
    const b = boundsFor(s, fn, v, size, file);
    if (/\bunsigned\b|size_t|uint\d*_t/.test(fn.types.get(v) ?? '')) b.lower = true;
    // Loop induction variable counting up from a non-negative start.
    let inductionLoop: Node | null = null;
    for (let p = s.parent; p && p.id !== fn.body.id; p = p.parent) {
      if (p.type === 'for_statement' && inductionLowerBound(p, v, file.macros)) {
        inductionLoop = p;
        break;
      }
    }
    if (inductionLoop) {
      b.lower = true;
      // `for (i = 0; i <= MAX; i++) a[i]` over `a[MAX + 1]`: the declared size already counts the last one.
      const declared = arr.type === 'identifier' ? (fn.sizeText.get(arr.text) ?? file.sizeText.get(arr.text)) : undefined;
      const cond = unwrap(field(inductionLoop, 'condition'));
      if (declared && cond?.type === 'binary_expression' && operator(cond) === '<=' && field(cond, 'left')?.text === v) {
        const bound = field(cond, 'right')?.text.replace(/\s+/g, '') ?? '';
        if (declared === `${bound}+1` || declared === `1+${bound}` || declared === `(${bound}+1)`) return true;
      }
      if (!b.upper && b.inclusive) report(`loop bound on \`${v}\` uses <= and can reach one past the end`, true);
      return true;
    }
    const external = fn.params.has(v) || fn.tainted.has(v) || fn.scanned.has(v);
    if (!external) return true;
    if (!b.lower || !b.upper) {
      const missing = !b.lower && !b.upper ? 'lower and upper bound' : !b.lower ? 'lower bound (>= 0)' : 'upper bound (< size)';
      report(`index \`${v}\` has no ${missing} check`, !fn.tainted.has(v) && !fn.scanned.has(v));
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-787 string writes
const FMT = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|L|z|j|t)?([diouxXeEfFgGaAcspn%])/g;

function cString(n: Node | null): string | null {
  const u = unwrapParens(n);
  if (!u) return null;
  if (u.type === 'concatenated_string') {
    const parts = kids(u).map(cString);
    return parts.every((p) => p !== null) ? parts.join('') : null;
  }
  if (u.type !== 'string_literal') return null;
  return u.text.slice(1, -1).replace(/\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)/g, 'e');
}

/** Worst-case length of a printf conversion, the way CodeQL's buffer-overflow query counts it. */
function maxFormatLength(fmt: string, args: Node[], fn: FnInfo, file: FileInfo): number {
  let total = 0;
  let argIdx = 0;
  let last = 0;
  for (const m of fmt.matchAll(FMT)) {
    total += m.index! - last;
    last = m.index! + m[0].length;
    const [, , width, precision, len, conv] = m;
    if (conv === '%') {
      total += 1;
      continue;
    }
    if (width === '*') argIdx++;
    if (precision === '*') argIdx++;
    const arg = args[argIdx++] ?? null;
    const wide = len === 'l' || len === 'll' || len === 'z' || len === 'j' || len === 't';
    const prec = precision && precision !== '*' ? Number(precision) : null;
    let n: number;
    switch (conv) {
      case 'd': case 'i': n = wide ? 20 : 11; break;
      case 'u': n = wide ? 20 : 10; break;
      case 'o': n = wide ? 22 : 11; break;
      case 'x': case 'X': n = wide ? 16 : 8; break;
      case 'c': n = 1; break;
      case 'p': n = 18; break;
      case 'e': case 'E': n = 8 + (prec ?? 6); break;
      case 'g': case 'G': n = 8 + (prec ?? 6); break;
      case 'a': case 'A': n = 24; break;
      case 'f': case 'F': n = 311 + (prec ?? 6); break;
      case 'n': n = 0; break;
      default: {
        const lit = cString(arg);
        const u = unwrap(arg);
        const arrSize = u?.type === 'identifier' ? (fn.arrays.get(u.text) ?? file.globalArrays.get(u.text) ?? null) : null;
        n = prec ?? (lit !== null ? lit.length : arrSize !== null ? arrSize - 1 : Number.POSITIVE_INFINITY);
      }
    }
    total += Math.max(n, width && width !== '*' ? Number(width) : 0);
  }
  return total + (fmt.length - last);
}

function stringWrites(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const sizeOf = (n: Node | null): number | null => {
    const u = unwrap(n);
    return u?.type === 'identifier' ? (fn.arrays.get(u.text) ?? file.globalArrays.get(u.text) ?? null) : null;
  };
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression') return true;
    const name = callName(call);
    const args = argList(call);
    const hit = (detail: string): void => {
      hits.push({ rule: 'c/unbounded-buffer-write', startLine: line(call), endLine: endLine(call), detail });
    };
    if (name === 'gets') hit('gets() cannot limit its input');
    else if (name === 'sprintf' || name === 'vsprintf') {
      const size = sizeOf(args[0] ?? null);
      const fmt = cString(args[1] ?? null);
      if (size !== null && fmt !== null) {
        const max = maxFormatLength(fmt, args.slice(2), fn, file);
        if (max + 1 > size) hit(`output can reach ${Number.isFinite(max) ? max + 1 : 'unbounded'} bytes, destination holds ${size}`);
      }
    } else if (name === 'strcpy' || name === 'strcat') {
      const size = sizeOf(args[0] ?? null);
      if (size !== null) {
        const lit = cString(args[1] ?? null);
        const srcSize = sizeOf(args[1] ?? null);
        const fits = name === 'strcpy' && ((lit !== null && lit.length + 1 <= size) || (srcSize !== null && srcSize <= size));
        if (!fits && !(name === 'strcat' && lit !== null)) hit(`${name} of data with no length limit into a ${size}-byte buffer`);
      }
    } else if (C.scanners.has(name)) {
      const fmt = cString(args[C.scanners.get(name)! - 1] ?? null);
      if (fmt && /%s/.test(fmt)) hit('%s in scanf has no width limit');
    }
    return true;
  });
}

/**
 * A write at an offset into a buffer sized as if it started at the beginning: `recv(s, buf + pos,
 * sizeof buf - 1, 0)`, `memcpy(&out[n], src, sizeof out)`. Once the offset is past zero the call can
 * write that many bytes past the end; the size must subtract the offset (`sizeof buf - pos - 1`).
 */
function offsetWrites(fn: FnInfo, hits: RuleHit[]): void {
  const names = (n: Node | null): Set<string> => {
    const out = new Set<string>();
    if (n) walk(n, (x) => (x.type === 'identifier' && out.add(x.text), x.type !== 'sizeof_expression'));
    return out;
  };
  /** `X + off` or `&X[off]`: the buffer and the offset. */
  const split = (n: Node | null): [string, Node] | null => {
    const u = unwrap(n);
    if (u?.type === 'binary_expression' && operator(u) === '+') {
      const l = unwrap(field(u, 'left'));
      const r = field(u, 'right');
      if (l?.type === 'identifier' && r && names(r).size > 0) return [l.text, r];
    }
    if (u?.type === 'pointer_expression' && u.text.startsWith('&')) {
      const sub = unwrap(field(u, 'argument'));
      const arr = unwrap(sub ? field(sub, 'argument') : null);
      const idx = sub ? field(sub, 'index') : null;
      if (sub?.type === 'subscript_expression' && arr?.type === 'identifier' && idx && names(idx).size > 0) return [arr.text, idx];
    }
    return null;
  };
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression') return true;
    const spec = C.sizeArgs.get(callName(call));
    if (!spec || spec[0] < 0 || callName(call) === 'memcmp' || callName(call) === 'strncmp') return true;
    const args = argList(call);
    const dest = split(args[spec[0]] ?? null);
    const size = args[spec[1]];
    if (!dest || !size) return true;
    const [buf, off] = dest;
    // The size is the whole buffer's: sizeof the buffer itself, minus constants at most.
    let whole = false;
    walk(size, (x) => {
      if (x.type === 'sizeof_expression' && x.text.replace(/^sizeof\s*\(?\s*|\s*\)?$/g, '') === buf) whole = true;
      return !whole;
    });
    if (!whole) return true;
    const used = names(size);
    if ([...names(off)].some((v) => used.has(v))) return true;
    hits.push({ rule: 'c/out-of-bounds-write', startLine: line(call), endLine: endLine(call), detail: `writes at \`${buf}\` + \`${off.text.replace(/\s+/g, ' ')}\` but sizes the write as the whole of \`${buf}\`` });
    return true;
  });
}

// ------------------------------------------------------------------ CWE-476
function isTest(id: Node, stmtBoundary: Node): boolean {
  for (const { child, parent } of climb(id, stmtBoundary)) {
    switch (parent.type) {
      case 'if_statement':
      case 'while_statement':
      case 'for_statement':
      case 'do_statement':
      case 'conditional_expression':
        if (isIn(child, field(parent, 'condition'))) return true;
        break;
      case 'binary_expression': {
        const op = operator(parent);
        if (op === '==' || op === '!=' || op === '&&' || op === '||') return true;
        break;
      }
      case 'unary_expression':
        if (operator(parent) === '!') return true;
        break;
      case 'call_expression':
        if (/assert/i.test(callName(parent))) return true;
        return false;
      case 'expression_statement':
      case 'compound_statement':
        return false;
    }
  }
  return false;
}

function derefUse(id: Node): boolean {
  const p = id.parent;
  if (!p) return false;
  if (p.type === 'field_expression' && field(p, 'argument')?.id === id.id && p.text.slice(id.text.length).trimStart().startsWith('->')) return true;
  if (p.type === 'pointer_expression' && p.text.startsWith('*')) return true;
  if (p.type === 'subscript_expression' && field(p, 'argument')?.id === id.id) return true;
  if (p.type === 'argument_list' && p.parent?.type === 'call_expression') {
    const idx = argList(p.parent).findIndex((a) => a.id === id.id);
    const positions = C.derefArgs.get(callName(p.parent));
    return !!positions && positions.includes(idx);
  }
  return false;
}

/** What a declaration or plain assignment stores: the variable's name and the value, or nulls. */
function storedValue(n: Node): [string | null, Node | null] {
  if (n.type === 'init_declarator') return [declaratorName(field(n, 'declarator')), field(n, 'value')];
  if (n.type === 'assignment_expression' && operator(n) === '=' && field(n, 'left')?.type === 'identifier') return [field(n, 'left')!.text, field(n, 'right')];
  return [null, null];
}

/**
 * The functions whose result some code in this file stores and then tests for NULL (`p = f(); if (!p)`).
 * The file's own authors say those can return NULL, so a result of the same function used unchecked
 * elsewhere is the deviant case (the way Engler's checkers infer beliefs from the code itself).
 */
function nullCheckedCallees(root: Node): Set<string> {
  const out = new Set<string>();
  walk(root, (fnNode) => {
    if (fnNode.type !== 'function_definition') return true;
    const body = field(fnNode, 'body');
    if (!body) return false;
    const stored: Array<{ name: string; callee: string; at: Node }> = [];
    walk(body, (n) => {
      const [name, value] = storedValue(n);
      const call = unwrap(value);
      if (name && call?.type === 'call_expression' && callName(call)) stored.push({ name, callee: callName(call), at: n });
      return true;
    });
    for (const { name, callee, at } of stored) {
      if (out.has(callee)) continue;
      let tested = false;
      walk(body, (x) => {
        if (tested) return false;
        if (x.endIndex <= at.endIndex && !isIn(at, x)) return false;
        if (x.type === 'identifier' && x.text === name && x.startIndex >= at.endIndex && isNullTest(x)) tested = true;
        return true;
      });
      if (tested) out.add(callee);
    }
    return false;
  });
  return out;
}

/** `!p`, `p == NULL`, `NULL != p`, `if (p)`, `p ? :`, `p &&`: a test of the pointer itself against NULL. */
function isNullTest(id: Node): boolean {
  const p = id.parent;
  if (!p) return false;
  if (p.type === 'unary_expression' && operator(p) === '!') return true;
  if (p.type === 'binary_expression' && (operator(p) === '==' || operator(p) === '!=')) {
    const other = field(p, 'left')?.id === id.id ? field(p, 'right') : field(p, 'left');
    return /^(NULL|nullptr|0)$/.test(unwrap(other)?.text ?? '');
  }
  if (p.type === 'binary_expression' && (operator(p) === '&&' || operator(p) === '||')) return true;
  if (p.type === 'parenthesized_expression' && /^(if_statement|while_statement)$/.test(p.parent?.type ?? '')) return true;
  return p.type === 'conditional_expression' && field(p, 'condition')?.id === id.id;
}

function missingNullTest(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const allocs: Array<{ name: string; at: Node; lookup: string | null; inferred: boolean }> = [];
  walk(fn.body, (n) => {
    const [name, value] = storedValue(n);
    const call = unwrap(value);
    if (!name || call?.type !== 'call_expression' || isTest(n, fn.body)) return true;
    const callee = callName(call);
    if (C.nullableAllocators.has(callee) || C.nullableLookups.has(callee)) {
      allocs.push({ name, at: n, lookup: C.nullableLookups.has(callee) ? callee : null, inferred: false });
    } else if (file.nullChecked.has(callee)) {
      allocs.push({ name, at: n, lookup: callee, inferred: true });
    }
    return true;
  });
  // The result used on the spot: `strcmp(pw, crypt(key, salt))`, `getenv("HOME")[0]`, `localtime(&t)->tm_year`.
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression') return true;
    const callee = callName(call);
    const lookup = C.nullableLookups.has(callee);
    if (!lookup && !C.nullableAllocators.has(callee)) return true;
    let use: Node = call;
    while (use.parent?.type === 'parenthesized_expression' || use.parent?.type === 'cast_expression') use = use.parent;
    const p = use.parent;
    let deref = false;
    if (p?.type === 'field_expression' && field(p, 'argument')?.id === use.id && p.text.slice(use.text.length).trimStart().startsWith('->')) deref = true;
    else if (p?.type === 'subscript_expression' && field(p, 'argument')?.id === use.id) deref = true;
    else if (p?.type === 'pointer_expression' && /^\*\s*$/.test(p.text.slice(0, use.startIndex - p.startIndex))) deref = true;
    else if (p?.type === 'argument_list' && p.parent?.type === 'call_expression') {
      const idx = argList(p.parent).findIndex((a) => a.id === use.id);
      deref = (C.derefArgs.get(callName(p.parent)) ?? []).includes(idx);
    }
    if (deref && !isTest(call, fn.body)) {
      hits.push({
        rule: 'c/missing-null-test',
        startLine: line(call),
        endLine: line(call),
        severity: lookup ? 'warning' : undefined,
        detail: `the result of ${callee}() can be NULL and is used at once, with no NULL check`,
      });
    }
    return true;
  });
  for (const { name, at, lookup, inferred } of allocs) {
    let done = false;
    walk(fn.body, (x) => {
      if (done) return false;
      // Only code after the allocation matters; descend into nodes that enclose it.
      if (x.endIndex <= at.endIndex && !isIn(at, x)) return false;
      if (x.type !== 'identifier' || x.text !== name || x.startIndex < at.endIndex) return true;
      const p = x.parent;
      if (p?.type === 'assignment_expression' && field(p, 'left')?.id === x.id) {
        done = true;
      } else if (isTest(x, fn.body)) {
        done = true;
      } else if (p?.type === 'argument_list' && p.parent && C.releaseFns.has(callName(p.parent))) {
        done = true;
      } else if (derefUse(x)) {
        hits.push({
          rule: 'c/missing-null-test',
          startLine: line(x),
          endLine: line(x),
          // A lookup may well be known to succeed here; an allocation never is. A NULL result inferred
          // from the file's other uses is a hint.
          severity: inferred ? 'note' : lookup ? 'warning' : undefined,
          detail: inferred
            ? `\`${name}\` comes from ${lookup}(), whose result this file tests for NULL elsewhere, and is used before any NULL check`
            : lookup
              ? `\`${name}\` comes from ${lookup}(), which returns NULL when nothing is found, and is used before any NULL check`
              : `\`${name}\` is used before any NULL check`,
        });
        done = true;
      }
      return true;
    });
  }
}

// ------------------------------------------------------------------ CWE-416 / CWE-415
function useAfterFree(fn: FnInfo, hits: RuleHit[]): void {
  walk(fn.body, (call) => {
    // Known release functions, and one-argument functions named for releasing (`buf_release(req)`,
    // `DestroyImage(img)`): with one argument, what they release can only be that argument.
    if (call.type !== 'call_expression') return true;
    const known = C.releaseFns.has(callName(call));
    if (!known && !(argList(call).length === 1 && C.releaseName.test(callName(call)))) return true;
    const target = unwrap(argList(call)[0] ?? null);
    if (!target || (target.type !== 'identifier' && target.type !== 'field_expression')) return true;
    // By name, only a pointer the function declares as one (`jv_free(v)` takes a value, not memory).
    if (!known && !(target.type === 'identifier' && /\*/.test(fn.types.get(target.text) ?? ''))) return true;
    const stmt = call.parent;
    if (stmt?.type !== 'expression_statement') return true;
    const name = target.text;
    let cur: Node = stmt;
    let stop = false;
    while (!stop) {
      const block = cur.parent;
      if (!block || block.type !== 'compound_statement') break;
      let after = false;
      for (const s of kids(block)) {
        if (s.id === cur.id) {
          after = true;
          continue;
        }
        if (!after) continue;
        stop = scanUse(s, name, hits, known);
        if (stop || exits(s)) {
          stop = true;
          break;
        }
      }
      if (stop) break;
      // Leaving an if/else body: the code after the if still runs on the freeing path.
      const owner = block.parent;
      if (owner?.type === 'if_statement') cur = owner;
      else if (owner?.type === 'else_clause' && owner.parent?.type === 'if_statement') cur = owner.parent;
      else if (owner && LOOPS.has(owner.type) && field(owner, 'body')?.id === block.id) {
        // The end of a loop's body without an exit: the next iteration runs the update, the condition and
        // the body up to the release again, with the pointer still freed unless one of them reassigns it.
        const head = [owner.type === 'for_statement' ? field(owner, 'update') : null, field(owner, 'condition')];
        if (head.some((h) => h && scanUse(h, name, hits, known))) break;
        for (const s of kids(block)) {
          if (s.id === cur.id || scanUse(s, name, hits, known) || exits(s)) break;
        }
        break;
      } else break;
    }
    return true;
  });
}

/** Scans one statement after a free; true when the analysis of that pointer is finished. */
function scanUse(s: Node, name: string, hits: RuleHit[], known = true): boolean {
  let result = false;
  walk(s, (x) => {
    if (result) return false;
    if (x.type === 'sizeof_expression') return false;
    if (x.text !== name || (x.type !== 'identifier' && x.type !== 'field_expression')) return true;
    const p = x.parent;
    if (p?.type === 'assignment_expression' && field(p, 'left')?.id === x.id) {
      result = true;
      return false;
    }
    // `make(&p, ...)`: handed out to be set again, not read.
    if (p?.type === 'pointer_expression' && p.text.startsWith('&') && p.parent?.type === 'argument_list') {
      result = true;
      return false;
    }
    // A declaration of the same name (a fresh variable in the next iteration of a loop) is not a use.
    let d: Node | null = p;
    while (d && (d.type === 'pointer_declarator' || d.type === 'array_declarator')) d = d.parent;
    if (d && (d.type === 'init_declarator' || d.type === 'declaration') && x.type === 'identifier' && declaratorName(d.type === 'init_declarator' ? field(d, 'declarator') : x) === name) {
      result = true;
      return false;
    }
    if (isTest(x, s)) return false;
    const call = p?.type === 'argument_list' ? p.parent : null;
    if (call && !known && (C.releaseFns.has(callName(call)) || /free/i.test(callName(call)))) {
      // After a release known only by its name, a free may be of the object whose insides it released
      // (`hash_destroy(h); FREE_HASHTABLE(h);`): no verdict.
    } else if (call && C.releaseFns.has(callName(call))) {
      hits.push({ rule: 'c/double-free', startLine: line(x), endLine: line(x) });
    } else {
      hits.push({ rule: 'c/use-after-free', startLine: line(x), endLine: line(x), detail: `\`${name}\` was freed earlier` });
    }
    result = true;
    return false;
  });
  return result;
}

/**
 * CWE-416: memory that a longer-lived object still points to is released and the pointer is left
 * behind (`kfree(dev->buf)` with no `dev->buf = NULL` after, or a local alias `p = dev->buf; free(p)`).
 * Whoever reaches that object later uses or frees the memory again. Functions that tear their object
 * down, and objects freed themselves later in the function, are left alone.
 */
function danglingField(fnNode: Node, fn: FnInfo, hits: RuleHit[]): void {
  const name = declaratorName(field(fnNode, 'declarator')) ?? '';
  if (C.teardownName.test(name)) return;
  const norm = (t: string): string => t.replace(/\s+/g, '');
  /** Objects that outlive the call: parameters, and locals pointing into them (`priv = fe->tuner_priv`). */
  const owners = new Set(fn.params);
  const baseOf = (n: Node | null): Node | null => {
    let base = unwrap(n);
    while (base && (base.type === 'field_expression' || base.type === 'subscript_expression' || base.type === 'parenthesized_expression' || (base.type === 'pointer_expression' && base.text.startsWith('&')))) {
      base = base.type === 'parenthesized_expression' ? kids(base)[0] ?? null : field(base, 'argument');
    }
    return base;
  };
  walk(fn.body, (n) => {
    if (n.type === 'init_declarator') {
      const v = declaratorName(field(n, 'declarator'));
      const value = unwrap(field(n, 'value'));
      const b = baseOf(value);
      if (v && value && value.type !== 'identifier' && b?.type === 'identifier' && fn.params.has(b.text)) owners.add(v);
    }
    return true;
  });
  /** Locals that hold a field of a parameter: `iter = seqf->private`. */
  const aliasOf = new Map<string, string>();
  const fieldOfParam = (n: Node | null): string | null => {
    const u = unwrap(n);
    if (u?.type !== 'field_expression') return null;
    const base = baseOf(u);
    return base?.type === 'identifier' && owners.has(base.text) ? norm(u.text) : null;
  };
  /** Whether `x` runs whenever `call` has run: its innermost block encloses the call. */
  const unconditional = (x: Node): boolean => {
    for (let c = x, p = x.parent; p; c = p, p = p.parent) {
      if (isIn(call0!, p)) return true;
      if (/^(if_statement|while_statement|for_statement|do_statement|switch_statement|case_statement|conditional_expression)$/.test(p.type) && !isIn(c, field(p, 'condition'))) return false;
      if (p.type === 'binary_expression' && /^(&&|\|\|)$/.test(operator(p))) return false;
    }
    return false;
  };
  let call0: Node | null = null;
  walk(fn.body, (n) => {
    if (n.type === 'init_declarator') {
      const v = declaratorName(field(n, 'declarator'));
      const f = fieldOfParam(field(n, 'value'));
      if (v && f) aliasOf.set(v, f);
    } else if (n.type === 'assignment_expression' && operator(n) === '=' && field(n, 'left')?.type === 'identifier') {
      const f = fieldOfParam(field(n, 'right'));
      if (f) aliasOf.set(field(n, 'left')!.text, f);
      else aliasOf.delete(field(n, 'left')!.text);
    }
    return true;
  });
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression' || !C.releaseFns.has(callName(call))) return true;
    const arg = unwrap(argList(call)[0] ?? null);
    if (!arg) return true;
    const target = arg.type === 'identifier' ? aliasOf.get(arg.text) ?? null : fieldOfParam(arg);
    if (!target) return true;
    const owner = target.split(/->|\./)[0];
    call0 = call;
    // Reset, reassigned or the owner torn down on every path after the free: nothing dangles.
    let settled = false;
    walk(fn.body, (x) => {
      if (settled) return false;
      if (x.endIndex <= call.startIndex && !isIn(call, x)) return false;
      if (x.startIndex < call.endIndex) return true;
      if (x.type === 'assignment_expression' && norm(field(x, 'left')?.text ?? '') === target && unconditional(x)) settled = true;
      if (x.type === 'call_expression' && C.teardownName.test(callName(x)) && unconditional(x) && argList(x).some((a) => norm(unwrap(a)?.text ?? '') === owner)) settled = true;
      if (x.type === 'call_expression' && /(^|_)(memset|bzero|memzero)/.test(callName(x)) && argList(x).some((a) => norm(a.text).replace(/^&/, '') === owner || norm(a.text) === owner)) settled = true;
      return true;
    });
    if (!settled) {
      hits.push({
        rule: 'c/dangling-pointer',
        startLine: line(call),
        endLine: endLine(call),
        detail: `\`${target}\` still points to the released memory`,
      });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-125: length-tracked buffer reads
interface Budget {
  /** Bytes known to remain. */
  n: number;
  /** Symbolic lengths known to remain (`remaining(s) < len` was ruled out). */
  sym: ReadonlySet<string>;
}
type Budgets = Map<string, Budget>;

const SIZEOF: Record<string, number> = {
  BYTE: 1, UINT8: 1, INT8: 1, char: 1, uint8_t: 1, int8_t: 1, UINT16: 2, INT16: 2, WORD: 2, uint16_t: 2, int16_t: 2, short: 2,
  UINT32: 4, INT32: 4, DWORD: 4, uint32_t: 4, int32_t: 4, int: 4, float: 4, UINT64: 8, INT64: 8, uint64_t: 8, int64_t: 8, double: 8,
};

/** A small constant expression's value (`18`, `2 * 4`, `sizeof(UINT32) + 2`, a macro), or null. */
function constValue(n: Node | null, macros: Map<string, number>): number | null {
  const u = unwrapParens(n);
  if (!u) return null;
  const direct = numberOf(u, macros);
  if (direct !== null) return direct;
  if (u.type === 'sizeof_expression') {
    const t = (field(u, 'type') ?? unwrapParens(field(u, 'value')))?.text.replace(/\s+/g, '') ?? '';
    return SIZEOF[t] ?? null;
  }
  if (u.type === 'binary_expression') {
    const l = constValue(field(u, 'left'), macros);
    const r = constValue(field(u, 'right'), macros);
    if (l === null || r === null) return null;
    switch (operator(u)) {
      case '+': return l + r;
      case '-': return l - r;
      case '*': return l * r;
      default: return null;
    }
  }
  return null;
}

/**
 * Reads from a length-tracked stream (`Stream_Read_UINT32(s, v)`, `Stream_Read(s, buf, len)`) that no
 * check of the bytes remaining covers on every path to them. Conditions `remaining(s) < K` that exit,
 * and enclosing `remaining(s) >= K` tests, give the budget each read then spends.
 */
function streamReads(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  let any = false;
  walk(fn.body, (n) => {
    if (n.type === 'call_expression' && C.streamReads.has(callName(n))) any = true;
    return !any;
  });
  if (!any) return;
  const norm = (t: string): string => t.replace(/\s+/g, '').replace(/^\((.*)\)$/, '$1');
  const reported = new Set<string>();
  const get = (st: Budgets, v: string): Budget => st.get(v) ?? { n: 0, sym: new Set() };

  /** What holds about remaining lengths where `cond` is `sense`: [stream, guaranteed length]. */
  const facts = (cond: Node | null, sense: boolean, out: Array<[string, Node]>): void => {
    const c = unwrapParens(cond);
    if (!c) return;
    if (c.type === 'unary_expression' && operator(c) === '!') return facts(field(c, 'argument'), !sense, out);
    if (c.type === 'call_expression') {
      const spec = C.streamCheckers.get(callName(c));
      const a = argList(c);
      if (spec && sense && a[spec[0]] && a[spec[1]]) out.push([norm(a[spec[0]].text), a[spec[1]]]);
      return;
    }
    if (c.type !== 'binary_expression') return;
    const op = operator(c);
    if (op === '&&' || op === '||') {
      if ((op === '&&') === sense) {
        facts(field(c, 'left'), sense, out);
        facts(field(c, 'right'), sense, out);
      }
      return;
    }
    const remainingOf = (x: Node | null): string | null => {
      const u = unwrap(x);
      return u?.type === 'call_expression' && C.streamRemaining.has(callName(u)) && argList(u)[0] ? norm(argList(u)[0].text) : null;
    };
    let l = field(c, 'left');
    let r = field(c, 'right');
    let o = op;
    if (!remainingOf(l) && remainingOf(r)) {
      [l, r] = [r, l];
      o = FLIP[o] ?? o;
    }
    const v = remainingOf(l);
    if (!v || !r) return;
    if (!sense) o = NEG[o] ?? o;
    // remaining >= K, remaining > K: K bytes (at least) are there.
    if (o === '>=' || o === '>') out.push([v, r]);
  };
  const assume = (st: Budgets, fs: Array<[string, Node]>): Budgets => {
    if (fs.length === 0) return st;
    const out = new Map(st);
    for (const [v, k] of fs) {
      const num = constValue(k, file.macros);
      const b = get(out, v);
      out.set(v, num !== null ? { n: Math.max(num, 0), sym: b.sym } : { n: b.n, sym: new Set([...b.sym, norm(k.text)]) });
    }
    return out;
  };
  const merge = (a: Budgets | null, b: Budgets | null): Budgets | null => {
    if (!a) return b;
    if (!b) return a;
    const out: Budgets = new Map();
    for (const v of new Set([...a.keys(), ...b.keys()])) {
      const x = get(a, v);
      const y = get(b, v);
      out.set(v, { n: Math.min(x.n, y.n), sym: new Set([...x.sym].filter((k) => y.sym.has(k))) });
    }
    return out;
  };
  /** Spends the reads in an expression, in source order. */
  const spend = (n: Node | null, st: Budgets): void => {
    if (!n) return;
    walk(n, (x) => {
      if (x.type !== 'call_expression') return true;
      const spec = C.streamReads.get(callName(x));
      if (!spec) return true;
      const a = argList(x);
      const sv = a[spec.stream];
      if (!sv) return true;
      const v = norm(sv.text);
      const b = get(st, v);
      let ok: boolean;
      if ('size' in spec) {
        ok = b.n >= spec.size || b.sym.size > 0;
        if (b.n >= spec.size) st.set(v, { n: b.n - spec.size, sym: b.sym });
      } else {
        const len = a[spec.lengthArg];
        const num = constValue(len ?? null, file.macros);
        if (num !== null) {
          ok = b.n >= num || b.sym.size > 0;
          if (b.n >= num) st.set(v, { n: b.n - num, sym: b.sym });
        } else ok = !!len && b.sym.has(norm(len.text));
      }
      if (!ok && !reported.has(v)) {
        reported.add(v);
        hits.push({ rule: 'c/unchecked-stream-read', startLine: line(x), endLine: endLine(x), detail: `no check of the bytes remaining in \`${sv.text}\` covers this read` });
      }
      if (!ok) st.set(v, { n: Number.POSITIVE_INFINITY, sym: b.sym });
      return true;
    });
  };
  const stmt = (s: Node, st: Budgets): Budgets | null => {
    switch (s.type) {
      case 'compound_statement': {
        let cur: Budgets | null = st;
        for (const k of kids(s)) {
          if (!cur) return null;
          cur = stmt(k, cur);
        }
        return cur;
      }
      case 'if_statement': {
        const cond = field(s, 'condition');
        const before = new Map(st);
        spend(cond, before);
        const pos: Array<[string, Node]> = [];
        const neg: Array<[string, Node]> = [];
        facts(cond, true, pos);
        facts(cond, false, neg);
        const cons = field(s, 'consequence');
        const alt = field(s, 'alternative');
        const a = cons ? stmt(cons, assume(new Map(before), pos)) : assume(before, pos);
        const altBody = alt?.type === 'else_clause' ? kids(alt).find((k) => k.type !== 'comment') ?? null : alt;
        const b = altBody ? stmt(altBody, assume(new Map(before), neg)) : assume(before, neg);
        return merge(a, b) ?? (a === null && b === null ? null : before);
      }
      case 'switch_statement': {
        const before = new Map(st);
        spend(field(s, 'condition'), before);
        let out: Budgets | null = null;
        let hasDefault = false;
        for (const c of kids(field(s, 'body') ?? s)) {
          if (c.type !== 'case_statement') continue;
          if (/^default\b/.test(c.text)) hasDefault = true;
          let cur: Budgets | null = new Map(before);
          for (const k of kids(c).slice(/^default\b/.test(c.text) ? 0 : 1)) {
            if (!cur) break;
            if (k.type === 'break_statement') break;
            cur = stmt(k, cur);
          }
          out = merge(out, cur);
        }
        return hasDefault ? out : merge(out, before);
      }
      case 'while_statement':
      case 'for_statement':
      case 'do_statement': {
        const before = new Map(st);
        spend(field(s, 'initializer'), before);
        spend(field(s, 'condition'), before);
        const pos: Array<[string, Node]> = [];
        facts(field(s, 'condition'), true, pos);
        const body = field(s, 'body');
        const after = body ? stmt(body, assume(new Map(before), pos)) : before;
        return merge(before, after);
      }
      case 'labeled_statement': {
        const k = kids(s).filter((x) => x.type !== 'statement_identifier');
        return k[0] ? stmt(k[0], st) : st;
      }
      case 'return_statement':
      case 'goto_statement':
      case 'break_statement':
      case 'continue_statement':
        spend(s, new Map(st));
        return null;
      default: {
        const cur = new Map(st);
        spend(s, cur);
        if (s.type === 'expression_statement' && exits(s)) return null;
        return cur;
      }
    }
  };
  stmt(fn.body, new Map());
}

// ------------------------------------------------------------------ CWE-190: products in allocation sizes
/** `a * b` with two run-time operands (not literals, macros or sizeof): the product can wrap. */
function runtimeProducts(n: Node | null, file: FileInfo, out: Node[]): void {
  if (!n) return;
  walk(n, (x) => {
    if (x.type === 'sizeof_expression' || x.type === 'call_expression') return false;
    if (x.type === 'binary_expression' && operator(x) === '*') {
      const l = unwrap(field(x, 'left'));
      const r = unwrap(field(x, 'right'));
      const runtime = (o: Node | null): boolean =>
        !!o && constValue(o, file.macros) === null && o.type !== 'sizeof_expression' && !(o.type === 'identifier' && /^[A-Z][A-Z0-9_]*$/.test(o.text)) && o.type !== 'number_literal';
      if (runtime(l) && runtime(r)) out.push(x);
    }
    return true;
  });
}

/**
 * An allocation whose size multiplies two run-time values (`malloc(w * h * 4)`, or through a variable
 * assigned such a product) with no overflow guard in the function: no condition that divides a limit by
 * one of the operands or compares with a *_MAX constant, and no checked-multiply helper. A wrapped
 * size allocates a small buffer that the code then fills at full size.
 */
function allocSizeOverflow(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const norm = (t: string): string => t.replace(/\s+/g, '');
  /** Variables and fields assigned a product (`state->bytes = w * h`). */
  const products = new Map<string, Node[]>();
  walk(fn.body, (n) => {
    let name: string | null = null;
    let value: Node | null = null;
    if (n.type === 'init_declarator') {
      name = declaratorName(field(n, 'declarator'));
      value = field(n, 'value');
    } else if (n.type === 'assignment_expression' && operator(n) === '=' && /^(identifier|field_expression)$/.test(field(n, 'left')?.type ?? '')) {
      name = norm(field(n, 'left')!.text);
      value = field(n, 'right');
    }
    if (name && value) {
      const ps: Node[] = [];
      runtimeProducts(value, file, ps);
      if (ps.length) products.set(name, ps);
    }
    return true;
  });
  let helper = false;
  /** Comparisons in conditions: what an overflow guard is made of. */
  const comparisons: Node[] = [];
  walk(fn.body, (n) => {
    if (n.type === 'call_expression' && C.overflowCheckers.test(callName(n))) helper = true;
    if (n.type === 'binary_expression' && RELATIONAL.has(operator(n))) comparisons.push(n);
    return true;
  });
  if (helper) return;
  /** The names an operand stands for: its variables and the last field of each field access. */
  const leaves = (o: Node): Set<string> => {
    const out = new Set<string>();
    walk(o, (x) => {
      if (x.type === 'field_expression') {
        out.add(field(x, 'field')?.text ?? '');
        return false;
      }
      if (x.type === 'identifier' && !/^[A-Z][A-Z0-9_]*$/.test(x.text)) out.add(x.text);
      return x.type !== 'sizeof_expression';
    });
    return out;
  };
  const names = (n: Node | null): Set<string> => (n ? leaves(n) : new Set());
  const overlaps = (a: Set<string>, b: Set<string>): boolean => [...a].some((x) => b.has(x));
  const limitLike = (n: Node | null): boolean => !!n && (constValue(n, file.macros) !== null || /\/|[A-Z_]*MAX\b|LIMIT/.test(n.text) || (unwrap(n)?.type === 'identifier' && /^[A-Z][A-Z0-9_]*$/.test(unwrap(n)!.text)));
  const guarded = (p: Node): boolean => {
    const ops = [unwrap(field(p, 'left')), unwrap(field(p, 'right'))].filter((o): o is Node => !!o).map(leaves);
    // Both operands in one comparison with a limit or a division (`a > INT_MAX / b`).
    for (const c of comparisons) {
      const all = names(c);
      if (ops.every((o) => overlaps(o, all)) && /\/|MAX|LIMIT/.test(c.text)) return true;
    }
    // Every operand bounded by a constant on its own (`n > 0x7ffe` fails).
    return ops.every((o) =>
      comparisons.some((c) => {
        const l = field(c, 'left');
        const r = field(c, 'right');
        return (overlaps(o, names(l)) && limitLike(r)) || (overlaps(o, names(r)) && limitLike(l));
      }),
    );
  };
  walk(fn.body, (call) => {
    if (call.type !== 'call_expression') return true;
    const name = callName(call);
    if (!C.allocName.test(name)) return true;
    const args = argList(call);
    // calloc(n, size) multiplies its two arguments itself, with a check.
    const sizeArgs = /calloc$/i.test(name) ? args.filter((a) => unwrap(a)?.type === 'binary_expression') : args;
    const found: Node[] = [];
    for (const a of sizeArgs) {
      runtimeProducts(a, file, found);
      const u = unwrap(a);
      if (u && products.has(norm(u.text))) found.push(...products.get(norm(u.text))!);
    }
    const p = found.find((x) => !guarded(x));
    if (p) {
      hits.push({ rule: 'c/alloc-size-overflow', startLine: line(call), endLine: endLine(call), detail: `\`${p.text.replace(/\s+/g, ' ').slice(0, 60)}\` is not checked for overflow` });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-22: a name joined onto a directory
/** `"x/"` at the right end of a concatenation's left side (C++ `dir + "/" + name`). */
function endsWithSlashLiteral(n: Node | null): boolean {
  let cur = unwrapParens(n);
  while (cur?.type === 'binary_expression') cur = unwrapParens(field(cur, 'right'));
  const t = cString(cur);
  return t !== null && t.endsWith('/');
}

/**
 * A string parameter joined onto a directory (`concat_path_file(dir, name)`, `snprintf(p, n, "%s/%s",
 * dir, name)`, `dir + "/" + name`) and the path then used or returned, with no check of the name (a
 * call on it in a condition, other than a plain comparison) anywhere in the function: `..` or `/` in
 * the name leaves the directory.
 */
function pathJoinTraversal(fnNode: Node, fn: FnInfo, hits: RuleHit[]): void {
  const names = new Set([...fn.params].filter((p) => /char|string|path|name/i.test(fn.types.get(p) ?? '') && !/\b(int|long|size_t|unsigned|bool)\b/.test(fn.types.get(p) ?? '')));
  if (names.size === 0) return;
  const isName = (n: Node | null): string | null => {
    const u = unwrap(n);
    return u?.type === 'identifier' && names.has(u.text) ? u.text : null;
  };
  // Vetted names: passed to a check inside a condition (`if (!str_is_correct_filename(name))`, `strstr(name, "..")`).
  const vetted = new Set<string>();
  walk(fn.body, (n) => {
    if (n.type !== 'call_expression' || C.stringCompares.test(callName(n))) return true;
    let inCond = false;
    for (const { child, parent } of climb(n, fn.body)) {
      if (/^(if_statement|while_statement|conditional_expression|for_statement)$/.test(parent.type) && isIn(child, field(parent, 'condition'))) inCond = true;
      if (/_statement$/.test(parent.type) && !inCond) break;
    }
    if (inCond) for (const a of argList(n)) { const v = isName(a); if (v) vetted.add(v); }
    return true;
  });
  for (const v of vetted) names.delete(v);
  if (names.size === 0) return;
  /** Where the joined path goes: the variable it is stored in, or the expression used in place. */
  const joins: Array<{ at: Node; holder: string | null; expr: Node }> = [];
  const holderOf = (e: Node): string | null => {
    const p = e.parent;
    if (p?.type === 'init_declarator') return declaratorName(field(p, 'declarator'));
    if (p?.type === 'assignment_expression' && field(p, 'right')?.id === e.id) return field(p, 'left')?.text ?? null;
    return null;
  };
  walk(fn.body, (n) => {
    if (n.type === 'call_expression') {
      const name = callName(n);
      const args = argList(n);
      if (C.pathJoins.test(name) && args.slice(1).some((a) => isName(a))) joins.push({ at: n, holder: holderOf(n), expr: n });
      const fi = C.pathFormatters.get(name);
      if (fi !== undefined) {
        const fmt = cString(args[fi] ?? null);
        // The arguments printed right after a "/": names placed under a directory.
        const after: Node[] = [];
        if (fmt) {
          let k = fi + 1;
          for (const m of fmt.matchAll(FMT)) {
            if (m[5] === '%') continue;
            if (m[2] === '*') k++;
            if (m[3] === '*') k++;
            if (m[5] === 's' && fmt[m.index! - 1] === '/' && args[k]) after.push(args[k]);
            k++;
          }
        }
        if (after.some((a) => isName(a))) {
          const buf = fi > 0 && name !== 'asprintf' && name !== 'vasprintf' ? unwrap(args[0])?.text ?? null : name === 'asprintf' || name === 'vasprintf' ? (args[0]?.text.replace(/^&/, '') ?? null) : holderOf(n);
          joins.push({ at: n, holder: buf, expr: n });
        }
      }
    } else if (n.type === 'binary_expression' && operator(n) === '+' && isName(field(n, 'right')) && endsWithSlashLiteral(field(n, 'left'))) {
      // The outermost concatenation is what gets stored.
      let top: Node = n;
      while (top.parent?.type === 'binary_expression' && operator(top.parent) === '+') top = top.parent;
      joins.push({ at: n, holder: holderOf(top), expr: top });
    }
    return true;
  });
  for (const j of joins) {
    let used = false;
    walk(fn.body, (x) => {
      if (used) return false;
      if (x.startIndex < j.at.endIndex) return x.endIndex > j.at.endIndex;
      if (x.type === 'return_statement' && j.holder && mentions(x, new Set([j.holder]))) used = true;
      if (x.type === 'call_expression' && !C.pathReporters.test(callName(x)) && j.holder && argList(x).some((a) => unwrap(a)?.text === j.holder)) used = true;
      return true;
    });
    // Used in place: an argument of a call, or returned.
    const p = j.expr.parent;
    if (!j.holder && (p?.type === 'return_statement' || (p?.type === 'argument_list' && p.parent && !C.pathReporters.test(callName(p.parent))))) used = true;
    if (used) {
      hits.push({ rule: 'c/path-join-traversal', startLine: line(j.at), endLine: endLine(j.at), detail: 'the name is not checked for ".." or "/" before it is joined onto the directory' });
      return;
    }
  }
}

/** Names declared as pointers (parameters and locals), not arrays: `sizeof` of one is the pointer's size. */
function pointerNames(fnNode: Node): Set<string> {
  const out = new Set<string>();
  const arrays = new Set<string>();
  const visit = (d: Node | null): void => {
    if (!d) return;
    const target = d.type === 'init_declarator' ? field(d, 'declarator') : d;
    const name = declaratorName(target);
    if (!name) return;
    if (target?.type === 'pointer_declarator') out.add(name);
    else if (target?.type === 'array_declarator') arrays.add(name);
  };
  walk(fnNode, (n) => {
    if (n.type === 'parameter_declaration') visit(field(n, 'declarator'));
    else if (n.type === 'declaration') for (const d of declaratorsOf(n)) visit(d);
    return true;
  });
  for (const a of arrays) out.delete(a);
  return out;
}

/** `sizeof(p)` / `sizeof p` of a plain identifier: its name. */
function sizeofOperand(n: Node | null): string | null {
  const u = unwrapParens(n);
  if (!u || u.type !== 'sizeof_expression') return null;
  const v = unwrapParens(field(u, 'value') ?? kids(u)[0] ?? null);
  if (v?.type === 'identifier') return v.text;
  // `sizeof(p)` may parse as a type descriptor naming p.
  const t = field(u, 'type');
  if (t && /^[A-Za-z_]\w*$/.test(t.text)) return t.text;
  return null;
}

/** CWE-467: a buffer length given as `sizeof` of a pointer, which is 4 or 8 whatever the buffer. */
function sizeofPointer(fnNode: Node, hits: RuleHit[]): void {
  const pointers = pointerNames(fnNode);
  if (pointers.size === 0) return;
  walk(fnNode, (n) => {
    if (n.type !== 'call_expression') return true;
    const spec = C.sizeArgs.get(callName(n));
    if (!spec) return true;
    const args = argList(n);
    const [dest, size] = spec;
    const p = sizeofOperand(args[size] ?? null);
    if (p && pointers.has(p)) {
      const same = dest >= 0 && unwrap(args[dest] ?? null)?.text === p;
      hits.push({
        rule: 'c/sizeof-pointer',
        startLine: line(n),
        endLine: endLine(n),
        severity: same ? 'error' : 'warning',
        detail: `\`${p}\` is a pointer: sizeof gives the pointer's size, not the buffer's`,
      });
    }
    return true;
  });
}

/** CWE-134: a printf-family format that is not a literal and has no arguments after it (`printf(buf)`). */
function formatStrings(fn: FnInfo, hits: RuleHit[]): void {
  walk(fn.body, (n) => {
    if (n.type !== 'call_expression') return true;
    const i = C.formatArg.get(callName(n));
    if (i === undefined) return true;
    const args = argList(n);
    if (args.length !== i + 1) return true;
    const f = unwrap(args[i]);
    if (!f || f.type === 'string_literal' || f.type === 'concatenated_string') return true;
    // A macro or a translated literal is a fixed format.
    if (f.type === 'identifier' && /^[A-Z][A-Z0-9_]*$/.test(f.text)) return true;
    if (f.type === 'call_expression' && /^(_|gettext|dgettext|N_)$/.test(callName(f))) return true;
    const name = f.type === 'identifier' ? f.text : null;
    const fromInput = !!name && (fn.params.has(name) || fn.tainted.has(name) || inputFilled(fn.body, name));
    hits.push({
      rule: 'c/format-string',
      startLine: line(n),
      endLine: endLine(n),
      severity: fromInput ? 'error' : 'warning',
      detail: fromInput ? `\`${name}\` comes from outside this function` : undefined,
    });
    return true;
  });
}

/** Whether `name` is filled by an input function (fgets/read/recv/scanf...) or is argv/getenv data. */
function inputFilled(body: Node, name: string): boolean {
  let found = false;
  walk(body, (n) => {
    if (found) return false;
    if (n.type === 'call_expression' && C.inputFns.has(callName(n))) {
      const a = argList(n);
      if (a.some((x) => unwrap(x)?.text === name)) found = true;
    }
    if (n.type === 'init_declarator' || (n.type === 'assignment_expression' && operator(n) === '=')) {
      const l = field(n, n.type === 'init_declarator' ? 'declarator' : 'left');
      const r = field(n, n.type === 'init_declarator' ? 'value' : 'right');
      if (declaratorName(l) === name && r && /\b(getenv|argv)\b/.test(r.text)) found = true;
    }
    return true;
  });
  return found;
}

/**
 * Where a function definition has no return type (C89's implicit `int`, or a type on a line the file
 * does not show, such as a macro that expands to one), tree-sitter reads the header as a call, a macro
 * type or an error, and no rule would look inside the body. Returns the offsets at which inserting
 * `int ` turns each such header into a definition, so the caller can parse again; empty when there is
 * none. A header is a top-level `name(...)` with no `;` before the `{` that follows it.
 */
export function untypedDefinitions(root: Node): number[] {
  const src = root.text;
  const out: number[] = [];
  const scan = (parent: Node): void => {
    for (const a of parent.children) {
      if (a.type.startsWith('preproc_')) scan(a);
      if (a.type === 'function_definition' || a.type === 'compound_statement' || a.type === 'comment' || a.type.startsWith('preproc_')) continue;
      const m = /^([A-Za-z_]\w*)\s*\(/.exec(src.slice(a.startIndex, a.startIndex + 200));
      if (!m || /^(if|while|for|switch|return|sizeof|do|else|case|goto)$/.test(m[1])) continue;
      const brace = src.indexOf('{', a.startIndex);
      if (brace < 0 || brace - a.startIndex > 2000) continue;
      const header = src.slice(a.startIndex, brace);
      if (!/^[A-Za-z_]\w*\s*\([^;{}]*\)\s*$/.test(header)) continue;
      let depth = 0;
      for (const ch of header) depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
      if (depth === 0) out.push(a.startIndex);
    }
  };
  scan(root);
  return out;
}

export function checkC(root: Node): RuleHit[] {
  const file = fileInfo(root);
  const hits: RuleHit[] = [];
  walk(root, (n) => {
    if (n.type !== 'function_definition') return true;
    if (!field(n, 'body')) return false;
    const fn = fnInfo(n, file);
    integerOverflow(fn, file, hits);
    subscripts(fn, file, hits);
    stringWrites(fn, file, hits);
    offsetWrites(fn, hits);
    missingNullTest(fn, file, hits);
    useAfterFree(fn, hits);
    danglingField(n, fn, hits);
    streamReads(fn, file, hits);
    pathJoinTraversal(n, fn, hits);
    allocSizeOverflow(fn, file, hits);
    sizeofPointer(n, hits);
    formatStrings(fn, hits);
    wrappingBoundsChecks(fn, file, hits);
    uncheckedCopyLength(fn, file, hits);
    fixedOffsetReads(n, fn, file, hits);
    uncheckedPointerWalk(fn, hits);
    misuse.uncheckedReturn(fn, hits);
    misuse.wrongReturnCheck(fn, file, hits);
    misuse.divideByZero(fn, hits);
    misuse.integerUnderflow(fn, hits);
    misuse.numericTruncation(fn, hits);
    misuse.overflowBeforeWidening(fn, file, hits);
    misuse.toctou(fn, hits);
    misuse.untrustedSearchPath(fn, hits);
    misuse.pointerSubtraction(fn, file, hits);
    misuse.assignmentInCondition(fn, file, hits);
    misuse.comparisonAsStatement(fn, hits);
    misuse.incorrectOperator(fn, hits);
    return false;
  });
  return hits;
}

// ------------------------------------------------------------------ CWE-190: bounds checks that can wrap
/** A run-time term of a sum: a variable or field, not a constant, macro, sizeof or literal. */
function runtimeTerm(n: Node | null, macros: Map<string, number>): boolean {
  const u = unwrap(n);
  if (!u) return false;
  if (u.type === 'identifier') return !macros.has(u.text) && !/^[A-Z][A-Z0-9_]*$/.test(u.text);
  return u.type === 'field_expression' || u.type === 'subscript_expression';
}

/** A comparison before `at` of one term of `a + b` with something minus the other (`a > MAX - b`). */
function preChecked(body: Node, at: Node, a: Node | null, b: Node | null): boolean {
  const t = (n: Node | null): string => unwrap(n)?.text.replace(/\s+/g, '') ?? '';
  const [ta, tb] = [t(a), t(b)];
  let found = false;
  walk(body, (x) => {
    if (found || x.startIndex >= at.startIndex) return false;
    if (x.type === 'binary_expression' && RELATIONAL.has(operator(x))) {
      for (const [one, other] of [[field(x, 'left'), field(x, 'right')], [field(x, 'right'), field(x, 'left')]] as const) {
        const o = unwrap(other);
        if (o?.type !== 'binary_expression' || operator(o) !== '-') continue;
        const sub = t(field(o, 'right'));
        if ((t(one) === ta && sub === tb) || (t(one) === tb && sub === ta)) found = true;
      }
    }
    return !found;
  });
  return found;
}

/**
 * A bounds check written as `off + len > size` (or `<=`): when `off` and `len` come from the data, the
 * sum wraps around and passes the check, and the copy it guards runs far past the buffer. The
 * wrap-free form compares one term with what is left (`len > size || off > size - len`), or adds
 * with an overflow-checking helper. Only sums of two run-time values, at least one of them a length,
 * offset or position, compared with a run-time limit count; pointer sums (`p + n > end`) wrap the
 * same way.
 */
function wrappingBoundsChecks(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  let helper = false;
  walk(fn.body, (n) => {
    if (n.type === 'call_expression' && C.overflowCheckers.test(callName(n))) helper = true;
    return !helper;
  });
  if (helper) return;
  const sizeNamed = (n: Node | null): boolean => {
    const t = unwrap(n)?.text ?? '';
    return /(len|length|size|sz|off|offset|pos|count|cnt|nbytes|bytes)\w{0,2}$/i.test(t.slice(t.search(/\w+$/)));
  };
  walk(fn.body, (cond) => {
    if (cond.type !== 'binary_expression' || !RELATIONAL.has(operator(cond))) return true;
    // Only comparisons that decide something: conditions of if/while/?:, or operands of && / ||.
    const owner = cond.parent;
    if (!owner || !/^(parenthesized_expression|binary_expression|conditional_expression)$/.test(owner.type)) return true;
    for (const [sumSide, limitSide] of [[field(cond, 'left'), field(cond, 'right')], [field(cond, 'right'), field(cond, 'left')]] as const) {
      const sum = unwrap(sumSide);
      if (sum?.type !== 'binary_expression' || operator(sum) !== '+') continue;
      const a = field(sum, 'left');
      const b = field(sum, 'right');
      if (!runtimeTerm(a, file.macros) || !runtimeTerm(b, file.macros) || !(sizeNamed(a) || sizeNamed(b))) continue;
      const limit = unwrap(limitSide);
      if (!limit || constValue(limit, file.macros) !== null || (limit.type === 'identifier' && /^[A-Z][A-Z0-9_]*$/.test(limit.text))) continue;
      // Unsigned sizes wrap silently; small signed loop counters (`i + 1 < n`) are not what this is about.
      if (unwrap(a)?.type === 'identifier' && /^(int|short|char|bool)$/.test(fn.types.get(unwrap(a)!.text) ?? '') && unwrap(b)?.type === 'identifier' && /^(int|short|char|bool)$/.test(fn.types.get(unwrap(b)!.text) ?? '')) continue;
      // An earlier overflow pre-check of the same two terms (`if (off > SIZE_MAX - len) fail;`) makes the sum safe.
      if (preChecked(fn.body, cond, a, b)) return true;
      hits.push({ rule: 'c/wrapping-bounds-check', startLine: line(cond), endLine: endLine(cond), detail: `\`${sum.text.replace(/\s+/g, ' ').slice(0, 60)}\` can wrap around before it is compared` });
      return true;
    }
    return true;
  });
}

