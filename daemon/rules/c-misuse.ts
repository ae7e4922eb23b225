import { type Node, kids, field, line, endLine, walk, operator } from './ast.js';
import type { RuleHit } from './catalog.js';
import { type FileInfo, type FnInfo, argList, boundedExpr, callName, declaratorName, guarded, numberOf, unwrap, unwrapParens } from './c.js';
import { C } from './data.js';

/*
 * Misuse of the language and the C library that compilers, cppcheck and CodeQL report without any
 * data flow: results that are ignored or tested the wrong way, a check separated from the use of a
 * path, operators that say something other than what was meant, and narrowing or dividing by values
 * that come from outside the program.
 */

// ------------------------------------------------------------------ per-file facts
interface MisuseFacts {
  /** `#define NAME "text"`: the text. */
  stringMacros: Map<string, string[]>;
  /** `#define OPEN open`: a name standing for another (both branches of an #ifdef kept). */
  aliases: Map<string, Set<string>>;
  /** Functions defined or declared in the file: their bare name is the function's address. */
  functions: Set<string>;
}

const factsCache = new WeakMap<Node, MisuseFacts>();

function rootOf(n: Node): Node {
  while (n.parent) n = n.parent;
  return n;
}

function factsOf(n: Node): MisuseFacts {
  const root = rootOf(n);
  const cached = factsCache.get(root);
  if (cached) return cached;
  const f: MisuseFacts = { stringMacros: new Map(), aliases: new Map(), functions: new Set() };
  walk(root, (x) => {
    if (x.type === 'preproc_def') {
      const name = field(x, 'name')?.text;
      const v = field(x, 'value')?.text.trim() ?? '';
      if (!name) return false;
      const s = literalText(v);
      if (s !== null) f.stringMacros.set(name, [...(f.stringMacros.get(name) ?? []), s]);
      else if (/^[A-Za-z_]\w*$/.test(v)) f.aliases.set(name, new Set([...(f.aliases.get(name) ?? []), v]));
      return false;
    }
    if (x.type === 'function_declarator') {
      const d = field(x, 'declarator');
      if (d?.type === 'identifier') f.functions.add(d.text);
    }
    return true;
  });
  factsCache.set(root, f);
  return f;
}

/** The content of a C string literal (or adjacent literals), or null when `text` is not one. */
function literalText(text: string): string | null {
  const parts = text.match(/(?:L|u8|u|U)?"(?:[^"\\\n]|\\.)*"/g);
  if (!parts || parts.join('').replace(/\s+/g, '') !== text.replace(/\s+/g, '').replace(/^\(|\)$/g, '')) return null;
  return parts.map((p) => p.slice(p.indexOf('"') + 1, -1)).join('');
}

/** A call's name and what it stands for through `#define ALIAS name`. */
function callNames(call: Node, facts: MisuseFacts): string[] {
  const name = callName(call);
  return name ? [name, ...(facts.aliases.get(name) ?? [])] : [];
}

function firstIn<T>(names: string[], m: ReadonlyMap<string, T> | ReadonlySet<string>): string | null {
  for (const n of names) if (m.has(n)) return n;
  return null;
}

/** Text of an expression with whitespace folded, to compare two mentions of the same path. */
function norm(n: Node | null): string {
  return n ? n.text.replace(/\s+/g, '') : '';
}

function isNullConst(n: Node | null): boolean {
  const u = unwrap(n);
  if (!u) return false;
  return u.type === 'null' || u.text === 'NULL' || u.text === 'nullptr';
}

function isConstant(n: Node | null, file: FileInfo): boolean {
  const u = unwrapParens(n);
  if (!u) return false;
  if (['number_literal', 'char_literal', 'true', 'false', 'null', 'string_literal'].includes(u.type)) return true;
  if (u.type === 'identifier') return file.macros.has(u.text) || /^[A-Z][A-Z0-9_]*$/.test(u.text);
  if (u.type === 'unary_expression' && operator(u) === '-') return isConstant(field(u, 'argument'), file);
  return false;
}

/**
 * Variables whose value comes from the program's input: scanf targets, and results of atoi/strtol/
 * rand/getchar/atof... (through copies and arithmetic, not through a bounding % or &). Unlike the
 * CWE-190 taint this leaves out functions merely declared in the file: dividing by a count some
 * other module returns is not dividing by input.
 */
function inputDerived(fn: FnInfo): Set<string> {
  const out = new Set(fn.scanned);
  const sources = (n: Node): boolean => {
    let found = false;
    walk(n, (x) => {
      if (found) return false;
      if (x !== n && boundedExpr(x)) return false;
      if (x.type === 'call_expression') {
        const name = callName(x);
        if (C.externalInts.has(name) || C.floatInputs.has(name)) found = true;
        return false;
      }
      if (x.type === 'sizeof_expression') return false;
      if (x.type === 'identifier' && out.has(x.text)) found = true;
      return true;
    });
    return found;
  };
  const assigns: Array<[string, Node]> = [];
  walk(fn.body, (n) => {
    if (n.type === 'init_declarator') {
      const name = declaratorName(field(n, 'declarator'));
      const v = field(n, 'value');
      if (name && v) assigns.push([name, v]);
    } else if (n.type === 'assignment_expression' && operator(n) === '=' && field(n, 'left')?.type === 'identifier') {
      const v = field(n, 'right');
      if (v) assigns.push([field(n, 'left')!.text, v]);
    }
    return true;
  });
  for (let pass = 0; pass < 2; pass++) {
    for (const [name, v] of assigns) if (!boundedExpr(v) && sources(v)) out.add(name);
  }
  return out;
}

/** Whether `name` is read anywhere after `after` in the function body. */
function usedAfter(body: Node, after: Node, name: string): boolean {
  let found = false;
  walk(body, (x) => {
    if (found) return false;
    if (x.endIndex <= after.endIndex) return false;
    if (x.type === 'identifier' && x.text === name && x.startIndex >= after.endIndex) found = true;
    return true;
  });
  return found;
}

// ------------------------------------------------------------------ CWE-252
/**
 * A call whose failure must be handled, used as a statement: privilege and jail calls (the process
 * carries on with the rights or the directory it meant to leave), and input calls whose target is
 * used afterwards (on failure it holds nothing read). A `(void)` cast says the result is ignored on
 * purpose, and is not a statement of a bare call.
 */
export function uncheckedReturn(fn: FnInfo, hits: RuleHit[]): void {
  const facts = factsOf(fn.body);
  walk(fn.body, (st) => {
    if (st.type !== 'expression_statement') return true;
    const call = kids(st).find((k) => k.type !== 'comment');
    if (call?.type !== 'call_expression') return false;
    const names = callNames(call, facts);
    const priv = firstIn(names, C.privilegeCalls);
    if (priv) {
      hits.push({ rule: 'c/unchecked-return', startLine: line(call), endLine: endLine(call), detail: `the result of ${priv}() is ignored: when it fails the program goes on without the change it asked for` });
      return false;
    }
    const fill = firstIn(names, C.inputFills);
    if (!fill) return false;
    const how = C.inputFills.get(fill)!;
    const args = argList(call);
    const targets = how === 'scan' ? args.slice(/^(scanf|wscanf)$/.test(fill) ? 1 : 2) : [args[how]];
    for (const a of targets) {
      let t = unwrapParens(a ?? null);
      if (t?.type === 'pointer_expression' && t.text.startsWith('&')) t = unwrap(field(t, 'argument'));
      else t = unwrap(t);
      if (t?.type !== 'identifier' || !usedAfter(fn.body, st, t.text)) continue;
      hits.push({
        rule: 'c/unchecked-return',
        startLine: line(call),
        endLine: endLine(call),
        severity: 'note',
        detail: `\`${t.text}\` is used afterwards, but ${fill}() may have failed and left it unset`,
      });
      break;
    }
    return false;
  });
}

// ------------------------------------------------------------------ CWE-253
const COMPARE = new Set(['==', '!=', '<', '<=', '>', '>=']);
const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };

/**
 * A return value tested against what the function never returns on failure: a pointer result
 * compared with `< 0`, `>= 0` or `-1`, an int result compared with NULL, a size_t result compared with
 * `< 0`, a NULL test of mmap's MAP_FAILED, and `== 0` as the failure of fputs/putc (0 is success).
 */
export function wrongReturnCheck(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const facts = factsOf(fn.body);
  // Variables that only ever hold the result of one function (NULL/0 initialisers aside).
  const holds = new Map<string, string | null>();
  const record = (name: string, v: Node | null): void => {
    const u = unwrap(v);
    if (!u || isNullConst(u) || (u.type === 'number_literal' && numberOf(u, file.macros) === 0)) return;
    const f = u.type === 'call_expression' ? callNames(u, facts)[0] ?? null : null;
    const prev = holds.get(name);
    holds.set(name, prev === undefined || prev === f ? f : null);
  };
  walk(fn.body, (n) => {
    if (n.type === 'init_declarator') {
      const name = declaratorName(field(n, 'declarator'));
      if (name) record(name, field(n, 'value'));
    } else if (n.type === 'assignment_expression' && field(n, 'left')?.type === 'identifier') {
      record(field(n, 'left')!.text, operator(n) === '=' ? field(n, 'right') : null);
    }
    return true;
  });
  for (const p of fn.params) holds.set(p, null);
  walk(fn.body, (n) => {
    if (n.type !== 'binary_expression' || !COMPARE.has(operator(n))) return true;
    for (const [fnSide, constSide, flip] of [[field(n, 'left'), field(n, 'right'), false], [field(n, 'right'), field(n, 'left'), true]] as const) {
      const op = flip ? FLIP[operator(n)] : operator(n);
      const s = unwrap(fnSide);
      let names: string[] = [];
      if (s?.type === 'call_expression') names = callNames(s, facts);
      else if (s?.type === 'identifier' && holds.get(s.text)) names = [holds.get(s.text)!, ...(facts.aliases.get(holds.get(s.text)!) ?? [])];
      if (names.length === 0) continue;
      const isNull = isNullConst(constSide);
      const k = isNull ? null : numberOf(constSide, file.macros) ?? (unwrap(constSide)?.text === 'EOF' ? -1 : null);
      const relational = op !== '==' && op !== '!=';
      let why: string | null = null;
      let f: string | null;
      // `p <= 0` and `p > 0` do separate NULL from the rest in practice; `< 0`, `>= 0` and `-1` never do.
      const strict = op === '<' || op === '>=';
      if ((f = firstIn(names, C.pointerReturning)) && k !== null && ((strict && k <= 0) || k < 0)) {
        why = `${f}() returns a pointer, NULL on failure: comparing it with ${op} ${k} does not detect the failure`;
      } else if ((f = firstIn(names, C.sentinelPointerReturning)) && (isNull || k === 0) && !relational) {
        why = `${f}() returns MAP_FAILED ((void *) -1) on failure, never NULL`;
      } else if ((f = firstIn(names, C.intReturning)) && isNull && unwrap(constSide)?.type !== 'number_literal') {
        why = `${f}() returns an int (-1 on failure), not a pointer: compare it with -1 or < 0, not NULL`;
      } else if ((f = firstIn(names, C.unsignedReturning)) && unwrapParens(fnSide)?.type !== 'cast_expression' && k !== null && ((k === 0 && (op === '<' || op === '>=')) || (k < 0 && relational))) {
        why = `${f}() returns an unsigned size: ${op} ${k} is ${op === '<' || op === '<=' ? 'never' : 'always'} true; compare it with the count you asked for`;
      } else if ((f = firstIn(names, C.eofReturning)) && k === 0 && !relational) {
        why = `${f}() returns EOF on failure and a non-negative value, possibly 0, on success: compare it with EOF`;
      }
      if (why) {
        hits.push({ rule: 'c/wrong-return-check', startLine: line(n), endLine: endLine(n), detail: why });
        return false;
      }
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-369
/** `/` or `%` by a value read from input (or straight from atoi/rand...) with no test of it on the way. */
export function divideByZero(fn: FnInfo, hits: RuleHit[]): void {
  const inputs = inputDerived(fn);
  walk(fn.body, (n) => {
    let divisor: Node | null = null;
    if (n.type === 'binary_expression' && (operator(n) === '/' || operator(n) === '%')) divisor = field(n, 'right');
    else if (n.type === 'assignment_expression' && (operator(n) === '/=' || operator(n) === '%=')) divisor = field(n, 'right');
    const d = unwrap(divisor);
    if (!d) return true;
    if (d.type === 'identifier' && inputs.has(d.text) && !guarded(n, fn.body, new Set([d.text]))) {
      hits.push({ rule: 'c/divide-by-zero', startLine: line(n), endLine: endLine(n), detail: `\`${d.text}\` comes from input and is not tested against 0 before this division` });
    } else if (d.type === 'call_expression' && (C.externalInts.has(callName(d)) || C.floatInputs.has(callName(d)))) {
      hits.push({ rule: 'c/divide-by-zero', startLine: line(n), endLine: endLine(n), detail: `${callName(d)}() can return 0` });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-191
/**
 * `x--` on an input value with no test of it on the way (subtraction itself is reported by the
 * CWE-190 pass in c.ts under the CWE-191 rule).
 */
export function integerUnderflow(fn: FnInfo, hits: RuleHit[]): void {
  walk(fn.body, (n) => {
    if (n.type !== 'update_expression' || !n.text.includes('--')) return true;
    const v = unwrap(field(n, 'argument'));
    if (v?.type === 'identifier' && fn.tainted.has(v.text) && !guarded(n, fn.body, new Set([v.text]))) {
      hits.push({ rule: 'c/integer-underflow', startLine: line(n), endLine: endLine(n), detail: `\`${v.text}\` comes from outside and is decremented without a check of its lower bound` });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-197
function typeWidth(t: string): number | null {
  if (t.includes('*') || t.includes('[')) return null;
  const k = t.replace(/\b(const|volatile|static|register|extern|inline|auto)\b/g, ' ').replace(/\s+/g, ' ').trim();
  return C.narrowTypes.get(k) ?? C.wideWidths.get(k) ?? null;
}

const pointerParamCache = new WeakMap<Node, Set<string>>();

/** Parameters declared as pointers or arrays (FnInfo records only their base type). */
function pointerParams(fn: FnInfo): Set<string> {
  const cached = pointerParamCache.get(fn.body);
  if (cached) return cached;
  const out = new Set<string>();
  let d: Node | null = fn.body.parent ? field(fn.body.parent, 'declarator') : null;
  while (d && d.type !== 'function_declarator') d = field(d, 'declarator');
  const plist = d ? field(d, 'parameters') : null;
  for (const p of plist ? kids(plist) : []) {
    const decl = field(p, 'declarator');
    const name = declaratorName(decl);
    if (name && decl && decl.type !== 'identifier') out.add(name);
  }
  pointerParamCache.set(fn.body, out);
  return out;
}

/** Width in bytes of an expression's type where it is plain from the code, else null. */
function exprWidth(n: Node | null, fn: FnInfo): number | null {
  const u = unwrapParens(n);
  if (!u) return null;
  switch (u.type) {
    case 'cast_expression':
      return typeWidth(field(u, 'type')?.text ?? '');
    case 'identifier':
      return fn.arrays.has(u.text) || pointerParams(fn).has(u.text) ? null : typeWidth(fn.types.get(u.text) ?? '');
    case 'call_expression':
      return C.callWidths.get(callName(u)) ?? null;
    case 'sizeof_expression':
      return 8;
    case 'binary_expression': {
      if (!['+', '-', '*', '/'].includes(operator(u))) return null;
      const l = exprWidth(field(u, 'left'), fn);
      const r = exprWidth(field(u, 'right'), fn);
      return l === null && r === null ? null : Math.max(l ?? 0, r ?? 0);
    }
    default:
      return null;
  }
}

/** The input variable (or input call) an expression's value is made of, outside bounding % & >>. */
function inputIn(n: Node, inputs: Set<string>): { name: string; call: boolean } | null {
  let found: { name: string; call: boolean } | null = null;
  walk(n, (x) => {
    if (found) return false;
    if (x.type === 'binary_expression' && ['%', '&', '>>'].includes(operator(x))) return false;
    if (x.type === 'call_expression') {
      if (C.externalInts.has(callName(x))) found = { name: callName(x), call: true };
      return false;
    }
    if (x.type === 'sizeof_expression' || x.type === 'conditional_expression') return false;
    if (x.type === 'identifier' && inputs.has(x.text)) found = { name: x.text, call: false };
    return true;
  });
  return found;
}

/** A size computed at run time: strlen() and the like, a size_t variable, or sizeof times a variable. */
function sizeValued(n: Node, fn: FnInfo): boolean {
  let size = false;
  let sizeofSeen = false;
  let runtime = false;
  walk(n, (x) => {
    if (x.type === 'binary_expression' && ['%', '&', '>>'].includes(operator(x))) return false;
    if (x.type === 'sizeof_expression') {
      sizeofSeen = true;
      return false;
    }
    if (x.type === 'call_expression') {
      if ((C.callWidths.get(callName(x)) ?? 0) >= 8) size = true;
      runtime = true;
      return false;
    }
    if (x.type === 'identifier' && !/^[A-Z][A-Z0-9_]*$/.test(x.text)) {
      runtime = true;
      if (/^(const )?(size_t|ssize_t|off_t|ptrdiff_t)$/.test(fn.types.get(x.text) ?? '')) size = true;
    }
    return true;
  });
  return size || (sizeofSeen && runtime);
}

/**
 * A value wider than its destination stored into a char or short: an input value (in any form,
 * explicit cast included) or a size (strlen, sizeof arithmetic, size_t variables; implicit only,
 * since a written cast of a size says the narrowing is meant). A test of the value on the way
 * counts as its range check.
 */
export function numericTruncation(fn: FnInfo, hits: RuleHit[]): void {
  const inputs = inputDerived(fn);
  for (const n of fn.tainted) inputs.add(n);
  const check = (site: Node, targetWidth: number | null, value: Node | null, explicit: boolean): void => {
    if (!value || targetWidth === null || targetWidth > 2) return;
    const inner = explicit ? field(unwrapParens(value)!, 'value') : value;
    if (!inner) return;
    const w = exprWidth(inner, fn);
    if (w === null || w <= targetWidth) return;
    const inp = inputIn(inner, inputs);
    if (inp && (inp.call || !guarded(site, fn.body, new Set([inp.name])))) {
      hits.push({ rule: 'c/numeric-truncation', startLine: line(site), endLine: endLine(site), detail: `\`${inp.call ? inp.name + '()' : inp.name}\` comes from input and is narrowed to ${targetWidth} byte${targetWidth > 1 ? 's' : ''} without a range check` });
    } else if (!explicit && sizeValued(value, fn)) {
      hits.push({ rule: 'c/numeric-truncation', startLine: line(site), endLine: endLine(site), severity: 'note', detail: `a ${w}-byte size is stored in ${targetWidth} byte${targetWidth > 1 ? 's' : ''}` });
    }
  };
  walk(fn.body, (n) => {
    if (n.type === 'declaration') {
      const tw = typeWidth(field(n, 'type')?.text ?? '');
      for (const d of kids(n)) {
        if (d.type !== 'init_declarator' || field(d, 'declarator')?.type !== 'identifier') continue;
        const v = field(d, 'value');
        if (unwrapParens(v)?.type !== 'cast_expression') check(d, tw, v, false);
      }
    } else if (n.type === 'assignment_expression' && operator(n) === '=' && field(n, 'left')?.type === 'identifier') {
      const name = field(n, 'left')!.text;
      const v = field(n, 'right');
      if (!fn.arrays.has(name) && !pointerParams(fn).has(name) && unwrapParens(v)?.type !== 'cast_expression') check(n, typeWidth(fn.types.get(name) ?? ''), v, false);
    } else if (n.type === 'cast_expression') {
      check(n, typeWidth(field(n, 'type')?.text ?? ''), n, true);
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-367
/** A path checked with access()/stat() and then opened, changed or removed by name in the same function. */
export function toctou(fn: FnInfo, hits: RuleHit[]): void {
  const facts = factsOf(fn.body);
  const checks: Array<{ path: string; at: Node; by: string }> = [];
  walk(fn.body, (n) => {
    if (n.type !== 'call_expression') return true;
    const names = callNames(n, facts);
    const c = firstIn(names, C.pathChecks);
    if (c) {
      const p = argList(n)[C.pathChecks.get(c)!] ?? null;
      if (p) checks.push({ path: norm(unwrap(p)), at: n, by: c });
      return true;
    }
    const u = firstIn(names, C.pathUses);
    if (!u) return true;
    const path = norm(unwrap(argList(n)[C.pathUses.get(u)!] ?? null));
    const before = checks.find((k) => k.path === path && k.path !== '' && k.at.endIndex <= n.startIndex);
    if (before) {
      hits.push({ rule: 'c/toctou', startLine: line(n), endLine: endLine(n), detail: `\`${path.slice(0, 60)}\` was checked by ${before.by}() on line ${line(before.at)}; it can be replaced in between` });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-426 / CWE-427
/** The literal text(s) an argument can hold: a literal, a string macro, or a local only ever set to literals. */
function literalValues(arg: Node | null, fn: FnInfo, facts: MisuseFacts, depth = 0): string[] | null {
  const u = unwrap(arg);
  if (!u || depth > 3) return null;
  if (u.type === 'string_literal' || u.type === 'concatenated_string') return literalText(u.text) === null ? null : [literalText(u.text)!];
  if (u.type !== 'identifier') return null;
  const m = facts.stringMacros.get(u.text);
  if (m) return m;
  if (!fn.types.has(u.text) || fn.params.has(u.text)) return null;
  const values: string[] = [];
  let unknown = false;
  walk(fn.body, (x) => {
    if (unknown) return false;
    let v: Node | null | undefined;
    if (x.type === 'init_declarator' && declaratorName(field(x, 'declarator')) === u.text) v = field(x, 'value');
    else if (x.type === 'assignment_expression' && field(x, 'left')?.text === u.text) v = operator(x) === '=' ? field(x, 'right') : null;
    else if (x.type === 'call_expression' && /^(strcpy|wcscpy|strncpy|wcsncpy|strcat|wcscat|strncat|wcsncat|strlcpy|strlcat)$/.test(callName(x)) && unwrap(argList(x)[0] ?? null)?.text === u.text) v = argList(x)[1] ?? null;
    else if (x.type === 'call_expression' && argList(x).some((a) => unwrap(a)?.text === u.text) && !readsOnly(callNames(x, facts))) {
      // Filled by some other call (fgets, read, snprintf...): not a literal.
      unknown = true;
      return false;
    } else return true;
    if (v === undefined) return true;
    const vu = unwrap(v);
    // Pointing at a local buffer (`data = dataBuffer`) or an empty initialiser adds no text of its own.
    if (vu?.type === 'identifier' && fn.arrays.has(vu.text)) return true;
    if (vu?.type === 'string_literal' && literalText(vu.text) === '') return true;
    if (vu?.type === 'initializer_list') return true;
    const lit = literalValues(v, fn, facts, depth + 1);
    if (lit === null) unknown = true;
    else values.push(...lit);
    return true;
  });
  return unknown || values.length === 0 ? null : values;
}

/** Calls that only run, load, print or measure a string: passing the variable to one does not change it. */
function readsOnly(names: string[]): boolean {
  return names.some((n) => C.pathSearchedRunners.has(n) || C.libraryLoaders.has(n) || C.formatArg.has(n) || C.stringCompares.test(n) || /^(puts|fputs|execl|execle|execv|execve|setenv|putenv)$/.test(n));
}

function absolutePath(s: string): boolean {
  return /^(\/|[A-Za-z]:[\\/]|\\\\|%\w+%)/.test(s);
}

/**
 * A program run by a name that PATH (or the current directory) resolves: system/popen/execlp with a
 * literal command that is not an absolute path; PATH or the whole environment set from a variable;
 * a library loaded by a relative name.
 */
export function untrustedSearchPath(fn: FnInfo, hits: RuleHit[]): void {
  const facts = factsOf(fn.body);
  walk(fn.body, (n) => {
    if (n.type !== 'call_expression') return true;
    const names = callNames(n, facts);
    const args = argList(n);
    const hit = (detail: string, severity?: 'warning'): void => {
      hits.push({ rule: 'c/untrusted-search-path', startLine: line(n), endLine: endLine(n), detail, severity });
    };
    const runner = firstIn(names, C.pathSearchedRunners);
    if (runner) {
      const [i, shell] = C.pathSearchedRunners.get(runner)!;
      const values = literalValues(args[i] ?? null, fn, facts);
      if (!values) return true;
      const programs = values.map((v) => (shell ? v.trim().split(/\s+/)[0] ?? '' : v.trim()));
      if (programs.every((p) => p !== '' && !p.includes('=') && !absolutePath(p))) {
        hit(`\`${programs[0].slice(0, 40)}\` is found through PATH${shell ? ' by the shell' : ''}: whoever sets PATH or the current directory chooses the program; give its absolute path`);
      }
      return true;
    }
    const name = names[0] ?? '';
    if (/^(setenv|_wsetenv)$/.test(name) && literalText(unwrap(args[0] ?? null)?.text ?? '') !== null) {
      const key = literalText(unwrap(args[0]!)!.text);
      if (/^(PATH|LD_LIBRARY_PATH|LD_PRELOAD|DYLD_LIBRARY_PATH)$/.test(key ?? '') && !literalValues(args[1] ?? null, fn, facts)) hit(`${key} is set from a value that is not a fixed string: it decides where programs or libraries are looked up`);
      return true;
    }
    if (firstIn(names, new Set(['putenv', '_putenv', '_wputenv'])) && args[0] && !literalValues(args[0], fn, facts)) {
      hit('the environment entry is not a fixed string: PATH or a loader variable set from it decides where programs and libraries are found');
      return true;
    }
    const loader = firstIn(names, C.libraryLoaders);
    if (loader) {
      const values = literalValues(args[C.libraryLoaders.get(loader)!] ?? null, fn, facts);
      if (!values) return true;
      // dlopen without a slash searches the system paths only; LoadLibrary searches the current directory too.
      const relative = (v: string): boolean => !absolutePath(v) && (loader !== 'dlopen' || v.includes('/'));
      if (values.every(relative)) hit(`\`${values[0].slice(0, 40)}\` is loaded by a relative name: a library planted in the current or application directory is loaded instead; give its full path`);
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-469
/**
 * Subtraction of two pointers into different arrays: the difference means nothing (and is
 * undefined). A pointer's array is the array it was set from (`p = a`, `&a[i]`, `a + n`,
 * `strchr(a, c)`); pointers set from more than one place are left alone.
 */
export function pointerSubtraction(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const isArray = (name: string): boolean => fn.arrays.has(name) || (!fn.types.has(name) && file.globalArrays.has(name));
  const origin = new Map<string, string | null>();
  const baseOf = (n: Node | null, depth = 0): string | null => {
    const u = unwrap(n);
    if (!u || depth > 4) return null;
    if (u.type === 'identifier') return isArray(u.text) ? u.text : (origin.get(u.text) ?? null);
    if (u.type === 'pointer_expression' && u.text.startsWith('&')) {
      const a = unwrap(field(u, 'argument'));
      return a?.type === 'subscript_expression' ? baseOf(field(a, 'argument'), depth + 1) : null;
    }
    if (u.type === 'binary_expression' && (operator(u) === '+' || operator(u) === '-')) return baseOf(field(u, 'left'), depth + 1);
    if (u.type === 'call_expression' && C.pointerInto.has(callName(u))) return baseOf(argList(u)[0] ?? null, depth + 1);
    return null;
  };
  const sets: Array<[string, Node | null]> = [];
  walk(fn.body, (n) => {
    if (n.type === 'init_declarator') {
      const name = declaratorName(field(n, 'declarator'));
      if (name && field(n, 'declarator')?.type === 'pointer_declarator') sets.push([name, field(n, 'value')]);
    } else if (n.type === 'assignment_expression' && field(n, 'left')?.type === 'identifier' && (fn.types.get(field(n, 'left')!.text) ?? '').endsWith('*')) {
      // `p += n` keeps p in the same array; only a plain assignment can move it to another.
      if (operator(n) === '=') sets.push([field(n, 'left')!.text, field(n, 'right')]);
    }
    return true;
  });
  for (let pass = 0; pass < 2; pass++) {
    const next = new Map<string, string | null>();
    for (const [name, v] of sets) {
      if (v && isNullConst(v)) continue;
      const b = v ? baseOf(v) : null;
      const prev = next.get(name);
      next.set(name, prev === undefined ? b : prev === b ? b : null);
    }
    origin.clear();
    for (const [k, v] of next) origin.set(k, v);
  }
  walk(fn.body, (n) => {
    if (n.type !== 'binary_expression' || operator(n) !== '-') return true;
    const l = baseOf(field(n, 'left'));
    const r = baseOf(field(n, 'right'));
    if (l && r && l !== r) {
      hits.push({ rule: 'c/pointer-subtraction', startLine: line(n), endLine: endLine(n), detail: `the left pointer is into \`${l}\`, the right one into \`${r}\`` });
    }
    return true;
  });
}

// ------------------------------------------------------------------ CWE-480 / 481 / 482
/** The expression a statement tests, inside the statement's own parentheses. */
function conditionOf(s: Node): Node | null {
  const c = field(s, 'condition');
  if (!c) return null;
  if (s.type === 'for_statement' || s.type === 'conditional_expression') return c;
  return c.type === 'parenthesized_expression' ? (kids(c).find((k) => k.type !== 'comment') ?? null) : c;
}

const CONDITIONAL = new Set(['if_statement', 'while_statement', 'do_statement', 'for_statement', 'conditional_expression']);

/**
 * CWE-481: `if (x = 5)` assigns a constant where a comparison was meant; the test is then always the
 * same. As with gcc's -Wparentheses, only the whole tested expression counts: an assignment in a
 * second pair of parentheses (`if ((p = next()))`) or inside && / || (`a && (seen = 1)`, where the
 * parentheses are needed to parse at all) is written on purpose, and so is a non-constant right side.
 */
export function assignmentInCondition(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  walk(fn.body, (s) => {
    if (!CONDITIONAL.has(s.type)) return true;
    const cond = conditionOf(s);
    if (!cond) return true;
    if (cond.type === 'assignment_expression' && operator(cond) === '=' && isConstant(field(cond, 'right'), file)) {
      hits.push({ rule: 'c/assignment-in-condition', startLine: line(cond), endLine: endLine(cond), detail: `\`${cond.text.replace(/\s+/g, ' ').slice(0, 40)}\` assigns; did you mean ==?` });
    }
    return true;
  });
}

/** CWE-482: an equality test whose result is thrown away (`x == 5;`): an assignment was meant. */
export function comparisonAsStatement(fn: FnInfo, hits: RuleHit[]): void {
  walk(fn.body, (s) => {
    const exprs: Array<Node | null> = [];
    if (s.type === 'expression_statement') exprs.push(kids(s).find((k) => k.type !== 'comment') ?? null);
    else if (s.type === 'for_statement') exprs.push(field(s, 'initializer'), field(s, 'update'));
    else return true;
    // Statements rebuilt by error recovery (an #ifdef inside an expression) are not what was written.
    if (s.type === 'expression_statement' && !s.text.trimEnd().endsWith(';')) return true;
    for (let p = s.parent; p; p = p.parent) if (p.type === 'ERROR') return true;
    for (const e of exprs) {
      const u = unwrapParens(e);
      // Only ==: C++ streams overload < and > as statements, and `x != y;` is not a mistyped assignment.
      if (u?.type === 'binary_expression' && operator(u) === '==') {
        hits.push({ rule: 'c/comparison-as-statement', startLine: line(u), endLine: endLine(u), detail: `\`${u.text.replace(/\s+/g, ' ').slice(0, 40)}\` compares and discards the result; did you mean =?` });
      }
    }
    return true;
  });
}

function isComparison(n: Node | null): boolean {
  const u = unwrapParens(n);
  if (!u) return false;
  if (u.type === 'binary_expression') return COMPARE.has(operator(u)) || operator(u) === '&&' || operator(u) === '||';
  return u.type === 'unary_expression' && operator(u) === '!';
}

/**
 * CWE-480: `a > 0 & b > 0` in a condition (bitwise where logical was meant: no short circuit, and
 * wrong when operands are not 0/1), and a function's name compared with NULL (`if (f == NULL)`,
 * the call's parentheses forgotten: the address is never NULL).
 */
export function incorrectOperator(fn: FnInfo, hits: RuleHit[]): void {
  const facts = factsOf(fn.body);
  const seen = new Set<number>();
  walk(fn.body, (s) => {
    if (!CONDITIONAL.has(s.type)) return true;
    const cond = conditionOf(s);
    if (!cond) return true;
    walk(cond, (x) => {
      if (x.type === 'call_expression') return false;
      if (x.type !== 'binary_expression' || seen.has(x.id)) return true;
      seen.add(x.id);
      const op = operator(x);
      if ((op === '&' || op === '|') && isComparison(field(x, 'left')) && isComparison(field(x, 'right'))) {
        hits.push({ rule: 'c/incorrect-operator', startLine: line(x), endLine: endLine(x), detail: `\`${op}\` between two tests: did you mean \`${op}${op}\`?` });
      } else if (op === '==' || op === '!=') {
        for (const [a, b] of [[field(x, 'left'), field(x, 'right')], [field(x, 'right'), field(x, 'left')]] as const) {
          const u = unwrapParens(a);
          if (u?.type === 'identifier' && facts.functions.has(u.text) && !fn.types.has(u.text) && (isNullConst(b) || unwrap(b)?.text === '0')) {
            hits.push({ rule: 'c/incorrect-operator', startLine: line(x), endLine: endLine(x), detail: `\`${u.text}\` is a function: its address is never NULL; call it: ${u.text}()` });
            break;
          }
        }
      }
      return true;
    });
    return true;
  });
}

// ------------------------------------------------------------------ CWE-190: overflow before widening
/** Width of an integer literal or a macro standing for one: `int` unless suffixed L/LL. */
function literalWidth(n: Node | null, file: FileInfo): number | null {
  const u = unwrapParens(n);
  if (!u) return null;
  if (u.type === 'number_literal') return /[lL]/.test(u.text) ? 8 : /^[-+]?(0[xX][0-9a-fA-F]+|\d+)[uU]?$/.test(u.text) ? 4 : null;
  if (u.type === 'identifier' && (file.macros.has(u.text) || /^[A-Z][A-Z0-9_]*$/.test(u.text))) return 4;
  return null;
}

function operandWidth(n: Node | null, fn: FnInfo, file: FileInfo): number | null {
  const lit = literalWidth(n, file);
  if (lit !== null) return lit;
  const u = unwrapParens(n);
  // An element of a narrow array or pointer: `buf[i]` with `uint8_t *buf`.
  if (u?.type === 'subscript_expression') {
    const a = unwrap(field(u, 'argument'));
    if (a?.type === 'identifier') {
      const t = (fn.types.get(a.text) ?? '').replace(/\*$/, '');
      if (fn.arrays.has(a.text) || pointerParams(fn).has(a.text) || (fn.types.get(a.text) ?? '').endsWith('*')) return typeWidth(t);
    }
    return null;
  }
  const w = exprWidth(n, fn);
  return w === null ? null : Math.max(w, 4);
}

/**
 * A product or left shift computed in 32 bits and only then stored in, cast to or returned as a 64-bit
 * integer: the multiplication overflows before the widening that was meant to make room for it
 * (`uint64_t size = w * h;`, `(u64)(len << bits)`, `off = BLOCK * index` with an int index). Widen an
 * operand first: `(uint64_t)w * h`. Only operands whose types the code states, or literals, count.
 */
export function overflowBeforeWidening(fn: FnInfo, file: FileInfo, hits: RuleHit[]): void {
  const constant = (n: Node | null): boolean => literalWidth(n, file) !== null || isConstant(n, file);
  const returnWidth = ((): number | null => {
    const def = fn.body.parent;
    const t = def ? field(def, 'type')?.text ?? '' : '';
    let d = def ? field(def, 'declarator') : null;
    return d?.type === 'pointer_declarator' ? null : typeWidth(t);
  })();
  walk(fn.body, (n) => {
    if (n.type !== 'binary_expression' || !['*', '<<'].includes(operator(n))) return true;
    const l = field(n, 'left');
    const r = field(n, 'right');
    // A struct field's type is not in the function; next to an operand known to be 32-bit it is taken as one.
    const fieldOr = (o: Node | null, w: number | null): number | null => (w === null && unwrapParens(o)?.type === 'field_expression' ? 4 : w);
    let lw = operandWidth(l, fn, file);
    let rw = operator(n) === '<<' ? 4 : operandWidth(r, fn, file);
    if (lw !== null && rw === null) rw = fieldOr(r, rw);
    else if (rw !== null && lw === null && operator(n) === '*') lw = fieldOr(l, lw);
    if (lw === null || rw === null || lw > 4 || rw > 4) return true;
    if (operator(n) === '*' ? constant(l) && constant(r) : constant(r)) return true;
    // Doubling a count or scaling by a few bytes stays far from 2^31; a block size or a stride may not.
    const small = (o: Node | null): boolean => {
      const k = constant(o) ? numberOf(o, file.macros) : null;
      return k !== null && Math.abs(k) < 256;
    };
    if (operator(n) === '*' && (small(l) || small(r))) return true;
    // Where the 32-bit result is converted: through parentheses and further 32-bit sums.
    let at: Node = n;
    let p = n.parent;
    while (p && (p.type === 'parenthesized_expression' || (p.type === 'binary_expression' && ['+', '-', '*', '<<'].includes(operator(p))))) {
      if (p.type === 'binary_expression') {
        const other = field(p, 'left')?.id === at.id ? field(p, 'right') : field(p, 'left');
        const ow = operandWidth(other, fn, file);
        if (ow === null || ow > 4) return false;
      }
      at = p;
      p = p.parent;
    }
    let target: number | null = null;
    let how = '';
    if (p?.type === 'init_declarator' && field(p, 'value')?.id === at.id && field(p, 'declarator')?.type === 'identifier') {
      const decl = p.parent;
      target = decl?.type === 'declaration' ? typeWidth(field(decl, 'type')?.text ?? '') : null;
      how = `stored in the ${target}-byte \`${field(p, 'declarator')!.text}\``;
    } else if (p?.type === 'assignment_expression' && field(p, 'right')?.id === at.id && ['=', '+=', '-='].includes(operator(p))) {
      const left = unwrap(field(p, 'left'));
      if (left?.type === 'identifier' && !pointerParams(fn).has(left.text) && !fn.arrays.has(left.text)) {
        target = typeWidth(fn.types.get(left.text) ?? '');
        how = `stored in the ${target}-byte \`${left.text}\``;
      }
    } else if (p?.type === 'cast_expression') {
      target = typeWidth(field(p, 'type')?.text ?? '');
      how = `cast to ${field(p, 'type')?.text} only afterwards`;
    } else if (p?.type === 'return_statement') {
      target = returnWidth;
      how = `returned as a ${target}-byte value`;
    }
    if (target === null || target < 8) return false;
    const names = new Set<string>();
    for (const o of [l, r]) {
      const u = unwrap(o);
      if (u?.type === 'identifier') names.add(u.text);
    }
    if (names.size && guarded(n, fn.body, names)) return false;
    hits.push({ rule: 'c/overflow-before-widening', startLine: line(n), endLine: endLine(n), detail: `\`${n.text.replace(/\s+/g, ' ').slice(0, 60)}\` is computed in 32 bits and ${how}` });
    return false;
  });
}
