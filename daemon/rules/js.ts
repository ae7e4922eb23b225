import { type Node, kids, field, line, endLine, walk, dotted, lastSegment, qualifier } from './ast.js';
import type { RuleHit } from './catalog.js';
import { JS } from './data.js';
import type { JsBinding } from './js-imports.js';
import {
  type SinkKind, type TV, built, join, joinAll, normalized, opaque, reaches, sanitize, signature, strongSource, weakSource,
} from './taint.js';

const FUNCTIONS = new Set([
  'function_declaration', 'function_expression', 'arrow_function', 'method_definition', 'generator_function_declaration',
  'generator_function', 'function',
]);
const WRAPPERS = new Set([
  'parenthesized_expression', 'await_expression', 'as_expression', 'non_null_expression', 'satisfies_expression',
  'type_assertion', 'spread_element',
]);

function moduleName(n: Node | null): string | null {
  if (!n || n.type !== 'string') return null;
  const m = n.text.slice(1, -1).replace(/^node:/, '');
  return m === 'fs/promises' ? 'fs.promises' : m;
}

function requireTarget(value: Node | null): string | null {
  let v = value;
  while (v && WRAPPERS.has(v.type)) v = kids(v)[0] ?? null;
  if (v?.type === 'member_expression') {
    // require('fs').promises
    const base = requireTarget(field(v, 'object'));
    return base ? `${base}.${field(v, 'property')?.text}` : null;
  }
  if (v?.type !== 'call_expression' || field(v, 'function')?.text !== 'require') return null;
  return moduleName(kids(field(v, 'arguments')!)[0] ?? null);
}

/** Local binding -> module path (`cp` -> `child_process`, `exec` -> `child_process.exec`). */
function moduleAliases(root: Node): Map<string, string> {
  const alias = new Map<string, string>();
  walk(root, (n) => {
    if (n.type === 'variable_declarator') {
      const mod = requireTarget(field(n, 'value'));
      const name = field(n, 'name');
      if (mod && name) {
        if (name.type === 'identifier') alias.set(name.text, mod);
        else if (name.type === 'object_pattern') {
          for (const p of kids(name)) {
            if (p.type === 'shorthand_property_identifier_pattern') alias.set(p.text, `${mod}.${p.text}`);
            else if (p.type === 'pair_pattern') {
              const key = field(p, 'key')?.text;
              const val = field(p, 'value');
              if (key && val?.type === 'identifier') alias.set(val.text, `${mod}.${key}`);
            }
          }
        }
      }
    } else if (n.type === 'import_statement') {
      const mod = moduleName(field(n, 'source'));
      if (!mod) return false;
      walk(n, (x) => {
        if (x.type === 'import_clause') {
          for (const c of kids(x)) if (c.type === 'identifier') alias.set(c.text, mod);
        } else if (x.type === 'namespace_import') {
          const id = kids(x).find((k) => k.type === 'identifier');
          if (id) alias.set(id.text, mod);
        } else if (x.type === 'import_specifier') {
          const name = field(x, 'name')?.text;
          const as = field(x, 'alias')?.text ?? name;
          if (name && as) alias.set(as, `${mod}.${name}`);
        }
        return true;
      });
      return false;
    }
    return true;
  });
  return alias;
}

const CHAIN = /^request data passed to (.+) reaches the sink at (\S+)$/;
/** Bounds on following calls to a file's own functions: how deep, and how many analyses per file. */
const MAX_LOCAL_DEPTH = 8;
const MAX_LOCAL_PROBES = 2000;

/** The identifier a member/call chain starts from: `res` for `res.status(200).send`. */
function chainRoot(n: Node | null): Node | null {
  while (n) {
    if (n.type === 'identifier' || n.type === 'this') return n;
    if (n.type === 'member_expression' || n.type === 'subscript_expression') n = field(n, 'object');
    else if (n.type === 'call_expression') n = field(n, 'function');
    else if (WRAPPERS.has(n.type)) n = kids(n)[0] ?? null;
    else return null;
  }
  return null;
}

/** A call into a staged module's export, as analysed there with the caller's argument values. */
export interface JsCallResult {
  ret: TV;
  /** Sinks in the callee (or further down) that the arguments' request data reaches, at the callee's lines. */
  hits: RuleHit[];
}

/** The other staged files, as one file's analysis sees them. */
export interface JsProject {
  /** Analyses `name` exported by the staged module `path` with `args`; undefined when it is not followed. */
  call(path: string, name: string, args: TV[]): JsCallResult | undefined;
}

export interface JsContext {
  path: string;
  bindings: ReadonlyMap<string, JsBinding>;
  project: JsProject;
}

/** One module's analysis: its own findings, and any of its functions analysed again with given arguments. */
export interface JsModule {
  emit(): RuleHit[];
  probe(fn: Node, args: TV[]): { ret: TV; hits: RuleHit[] };
}

/** `path` names the file in the messages of findings reached through its own helpers. */
/**
 * `fn` analysed with the caller's argument values, keeping only the hits the request data among them
 * causes: the same run with that data demoted to a caller's parameter must not produce them (the
 * function's findings for a caller's data are reported in its own body already).
 */
export function probeWithRequestData(mod: JsModule, fn: Node, args: TV[]): JsCallResult {
  const run = mod.probe(fn, args);
  if (!args.some((a) => a?.strong) || run.hits.length === 0) return { ret: run.ret, hits: [] };
  const key = (h: RuleHit): string => `${h.rule}:${h.startLine}:${h.severity ?? ''}`;
  const known = new Set(mod.probe(fn, args.map((a) => (a?.strong ? { ...a, strong: false, weak: true } : a))).hits.map(key));
  return { ret: run.ret, hits: run.hits.filter((h) => !known.has(key(h))) };
}

export function checkJs(root: Node, path?: string): RuleHit[] {
  return jsModule(root, undefined, path).emit();
}

export function jsModule(root: Node, ctx?: JsContext, ownPath = ctx?.path ?? 'this-file'): JsModule {
  const alias = moduleAliases(root);
  let hits: RuleHit[] = [];
  /** The values a function being probed returns; null outside a probe and inside nested functions. */
  let returns: TV[] | null = null;
  const usesChildProcess = [...alias.values()].some((m) => m.startsWith('child_process'));

  const qualify = qualifier(alias);
  const sanitizerOf = (qn: string, raw: string): readonly SinkKind[] | 'all' | undefined =>
    JS.sanitizers.get(qn) ?? JS.sanitizers.get(raw) ?? JS.sanitizers.get(lastSegment(raw));
  const hit = (rule: string, n: Node, severity?: RuleHit['severity'], detail?: string): void => {
    hits.push({ rule, startLine: line(n), endLine: endLine(n), ...(severity ? { severity } : {}), ...(detail ? { detail } : {}) });
  };
  const modules = new Set([...alias.values()].map((m) => m.split('.')[0]));
  const usesMongo = [...modules].some((m) => JS.nosqlModules.has(m)) || [...alias.values()].some((m) => /mongo/i.test(m));
  const jwtModule = [...modules].some((m) => JS.jwtModules.has(m));
  const source = root.text;
  const verifiesJwt = /\.verify\s*\(|\bjwtVerify\s*\(|\bverify\s*\(\s*\w*[tT]oken/.test(source);

  const isRequestObject = (n: Node | null): boolean =>
    !!n && (JS.requestNames.has(n.text) || (n.type === 'member_expression' && n.text === 'ctx.request'));

  /*
   * Facts about a tainted value that the shared lattice does not carry, kept by identity of the value
   * object (every string operation makes a new one, so a fact never leaks onto a value it was not
   * established for):
   * - raw: the request's parsed body/query/cookies as they came, which may be an object or array
   *   (`{"$ne": null}`), not only a string;
   * - crlfSafe: line breaks removed or escaped (a log line cannot be forged with it);
   * - hostFixed: a URL whose scheme and host come from the program, only its path/query from the data;
   * - sqlBuilt: a string built around SQL text.
   */
  const raw = new WeakSet<object>();
  const crlfSafe = new WeakSet<object>();
  const hostFixed = new WeakSet<object>();
  const sqlBuilt = new WeakSet<object>();
  const has = (set: WeakSet<object>, t: TV): boolean => !!t && set.has(t);
  const copy = (t: TV): TV => (t ? { ...t } : t);
  const mark = (set: WeakSet<object>, t: TV): TV => {
    if (t) set.add(t);
    return t;
  };
  const RAW_PROPS = new Set(['body', 'query', 'cookies', 'signedCookies', 'files']);
  const HOST_PREFIX = /^(([a-z][a-z0-9+.-]*:)?\/\/[^/?#]+[/?#]|\/[^/\\])/i;
  const literalText = (n: Node | null): string | null => {
    if (!n) return null;
    if (n.type === 'string') return n.text.slice(1, -1);
    if (n.type === 'template_string') return kids(n).filter((k) => k.type === 'string_fragment').map((k) => k.text).join('');
    return null;
  };
  const sqlLiteral = (n: Node | null): boolean => {
    const t = literalText(n);
    return t !== null && JS.sqlText.test(t);
  };
  /** Whether the leftmost part of a URL being built fixes its scheme and host. */
  const fixesHost = (n: Node | null, v: TV): boolean => {
    if (!n) return false;
    if (v) return hostFixed.has(v);
    if (n.type === 'string') return HOST_PREFIX.test(n.text.slice(1, -1));
    if (n.type === 'template_string') return false;
    // An untainted, non-literal base (a configured origin, a constant) decides the host.
    return n.type === 'identifier' || n.type === 'member_expression' || n.type === 'call_expression' || n.type === 'binary_expression';
  };

  const ev = (n: Node | null, env: Map<string, TV>): TV => {
    if (!n) return null;
    if (WRAPPERS.has(n.type)) return ev(kids(n)[0] ?? null, env);
    switch (n.type) {
      case 'identifier':
      case 'shorthand_property_identifier':
        return env.get(n.text) ?? null;
      case 'member_expression': {
        const obj = field(n, 'object');
        const prop = field(n, 'property')?.text ?? '';
        if (isRequestObject(obj) && JS.requestProps.has(prop)) {
          const t = strongSource();
          return RAW_PROPS.has(prop) ? mark(raw, t) : t;
        }
        if (JS.domSources.has(dotted(n))) return strongSource();
        return ev(obj, env);
      }
      case 'subscript_expression':
        return ev(field(n, 'object'), env);
      case 'call_expression':
        return evCall(n, env);
      case 'binary_expression': {
        const op = n.childForFieldName('operator')?.type ?? '';
        if (op === '+') {
          const L = field(n, 'left');
          const R = field(n, 'right');
          const l = ev(L, env);
          const r = ev(R, env);
          const out = built(join(l, r));
          if (out) {
            if ((!l || crlfSafe.has(l)) && (!r || crlfSafe.has(r))) crlfSafe.add(out);
            if (has(sqlBuilt, l) || has(sqlBuilt, r) || sqlLiteral(L) || sqlLiteral(R)) sqlBuilt.add(out);
            if (fixesHost(L, l)) hostFixed.add(out);
          }
          return out;
        }
        if (op === '||' || op === '??' || op === '&&') return join(ev(field(n, 'left'), env), ev(field(n, 'right'), env));
        return null;
      }
      case 'template_string': {
        const subs = kids(n).filter((k) => k.type === 'template_substitution').map((s) => kids(s).find((k) => k.type !== '${' && k.type !== '}') ?? null);
        const vals = subs.map((s) => ev(s, env));
        const out = built(joinAll(vals));
        if (out) {
          if (vals.every((v) => !v || crlfSafe.has(v))) crlfSafe.add(out);
          if (vals.some((v) => has(sqlBuilt, v)) || sqlLiteral(n)) sqlBuilt.add(out);
          const first = kids(n).find((k) => k.type === 'string_fragment' || k.type === 'template_substitution');
          if (first?.type === 'string_fragment' ? HOST_PREFIX.test(first.text) : first ? fixesHost(subs[0], vals[0]) : false) hostFixed.add(out);
        }
        return out;
      }
      case 'ternary_expression':
        return join(ev(field(n, 'consequence'), env), ev(field(n, 'alternative'), env));
      case 'array':
      case 'object': {
        const vals = kids(n).map((k) => (k.type === 'pair' ? ev(field(k, 'value'), env) : ev(k, env)));
        const out = copy(joinAll(vals));
        // A container holding raw request values is itself a query object an attacker shapes.
        return vals.some((v) => has(raw, v)) ? mark(raw, out) : out;
      }
      case 'assignment_expression':
        return ev(field(n, 'right'), env);
      default:
        return null;
    }
  };

  const argNodes = (call: Node): Node[] => {
    const a = field(call, 'arguments');
    return a ? kids(a).filter((k) => k.type !== 'comment') : [];
  };

  const evCall = (n: Node, env: Map<string, TV>): TV => {
    const fn = field(n, 'function');
    if (!fn) return null;
    const raw = dotted(fn);
    const qn = qualify(fn);
    const args = () => joinAll(argNodes(n).map((a) => ev(a, env)));
    const staged = stagedTarget(fn);
    if (staged) {
      const r = ctx!.project.call(staged.path, staged.name, argNodes(n).map((a) => ev(a, env)));
      // A copy: the result is shared by every call with the same argument values, and facts are kept per value.
      if (r) return copy(r.ret);
    }
    if (fn.type === 'identifier' && localFns.has(fn.text)) {
      const l = localCall(fn, argNodes(n).map((a) => ev(a, env)));
      if (l) return copy(l.r.ret);
    }
    const method = fn.type === 'member_expression' ? field(fn, 'property')?.text ?? '' : '';
    const kinds = JS.kindSanitizers.get(qn) ?? JS.kindSanitizers.get(raw);
    if (kinds) return sanitize(args(), kinds);
    // The SQL escaper of a driver or pool (`connection.escape(v)`, `client.escapeLiteral(v)`).
    if (/^(escape|escapeLiteral|escapeId|escapeIdentifier)$/.test(method) && /(conn|db|pool|mysql|client|sequelize|knex|pg|sql|database)/i.test(dotted(field(fn, 'object')))) {
      return sanitize(args(), ['sql']);
    }
    const san = sanitizerOf(qn, raw);
    if (san) {
      if (san === 'all') return null;
      const out = sanitize(args(), san);
      return /^(encodeURIComponent|encodeURI|querystring\.escape)$/.test(qn) ? mark(crlfSafe, out) : out;
    }
    if (JS.normalizers.has(qn) || JS.normalizers.has(raw)) return normalized(args());
    // JSON and util.inspect escape line breaks; either makes a string, never a query object.
    if (qn === 'JSON.stringify' || qn === 'util.inspect') return mark(crlfSafe, copy(args()));
    if (JS.propagators.has(qn) || JS.propagators.has(raw)) return copy(args());
    if (method) {
      if (JS.propagatingMethods.has(method)) {
        const recv = ev(field(fn, 'object'), env);
        const out = copy(method === 'concat' || method === 'join' || method === 'replace' || method === 'replaceAll' ? join(recv, args()) : recv);
        if (has(crlfSafe, recv) || ((method === 'replace' || method === 'replaceAll') && /\\[rns]|\[\^?\\[rn]/.test(argNodes(n)[0]?.text ?? ''))) mark(crlfSafe, out);
        if (has(sqlBuilt, recv)) mark(sqlBuilt, out);
        if (has(hostFixed, recv) && method !== 'join') mark(hostFixed, out);
        return out;
      }
    }
    // A helper we know nothing about (`utils.trunc(id, 40)`): its result may carry its arguments' data,
    // as a caller's data at most, so only the rules that take weak evidence look at it.
    const a = args();
    return a && (a.strong || a.weak) ? opaque(a) : null;
  };

  /**
   * Functions this file defines at its top level (`function f(...)`, `const f = (...) => ...`, also
   * exported ones): a call to one is analysed with the caller's argument values, as a call into another
   * staged module is. Bounded per file; a call back into a function still being analysed is not followed.
   */
  const localFns = new Map<string, Node>();
  for (const top of kids(root)) {
    const decl = top.type === 'export_statement' ? field(top, 'declaration') : top;
    if (!decl) continue;
    if (decl.type === 'function_declaration' || decl.type === 'generator_function_declaration') {
      const name = field(decl, 'name')?.text;
      if (name) localFns.set(name, decl);
    } else if (decl.type === 'lexical_declaration' || decl.type === 'variable_declaration') {
      for (const d of kids(decl)) {
        const name = field(d, 'name');
        const value = field(d, 'value');
        if (d.type === 'variable_declarator' && name?.type === 'identifier' && value && /^(arrow_function|function_expression|function)$/.test(value.type)) localFns.set(name.text, value);
      }
    }
  }
  const localMemo = new Map<string, JsCallResult>();
  const localActive = new Set<number>();
  let localProbes = 0;
  const localCall = (fn: Node, vals: TV[]): { name: string; r: JsCallResult } | undefined => {
    if (fn.type !== 'identifier' || ctx?.bindings.has(fn.text)) return undefined;
    const target = localFns.get(fn.text);
    if (!target || localActive.has(target.id) || localActive.size >= MAX_LOCAL_DEPTH) return undefined;
    const key = `${target.id}\0${vals.map(signature).join('|')}`;
    const memo = localMemo.get(key);
    if (memo) return { name: fn.text, r: memo };
    if (localProbes >= MAX_LOCAL_PROBES) return undefined;
    localProbes++;
    localActive.add(target.id);
    try {
      const r = probeWithRequestData(self, target, vals);
      localMemo.set(key, r);
      return { name: fn.text, r };
    } finally {
      localActive.delete(target.id);
    }
  };

  /** The staged module's export a callee names: `f(...)` of an imported f, `db.f(...)` of an imported module. */
  const stagedTarget = (fn: Node): JsBinding | null => {
    if (!ctx) return null;
    if (fn.type === 'identifier') {
      const b = ctx.bindings.get(fn.text);
      return b ? { path: b.path, name: b.name === '*' ? 'default' : b.name } : null;
    }
    if (fn.type === 'member_expression') {
      const obj = field(fn, 'object');
      const prop = field(fn, 'property')?.text;
      const b = obj?.type === 'identifier' ? ctx.bindings.get(obj.text) : undefined;
      // `import db from './db'` of a CommonJS module is its exports object too.
      if (b && prop && (b.name === '*' || b.name === 'default')) return { path: b.path, name: prop };
    }
    return null;
  };

  /** Request data passed into a staged helper that reaches a sink there: reported here, at the call. */
  const checkStagedCall = (call: Node, fn: Node, env: Map<string, TV>): void => {
    const t = stagedTarget(fn);
    if (!t) {
      if (fn.type !== 'identifier' || !localFns.has(fn.text)) return;
      const vals = argNodes(call).map((a) => ev(a, env));
      if (!vals.some((v) => v?.strong)) return;
      const l = localCall(fn, vals);
      for (const h of l?.r.hits ?? []) {
        const deeper = CHAIN.exec(h.detail ?? '');
        const via = deeper ? `${l!.name}() -> ${deeper[1]}` : `${l!.name}()`;
        const at = deeper ? deeper[2] : `${ownPath}:${h.startLine}`;
        hit(h.rule, call, h.severity, `request data passed to ${via} reaches the sink at ${at}`);
      }
      return;
    }
    const vals = argNodes(call).map((a) => ev(a, env));
    if (!vals.some((v) => v?.strong)) return;
    const r = ctx!.project.call(t.path, t.name, vals);
    if (!r) return;
    for (const h of r.hits) {
      // A hit that itself came through a call further down keeps its chain and the sink's place.
      const deeper = CHAIN.exec(h.detail ?? '');
      const via = deeper ? `${t.name}() -> ${deeper[1]}` : `${t.name}()`;
      const at = deeper ? deeper[2] : `${t.path}:${h.startLine}`;
      hit(h.rule, call, h.severity, `request data passed to ${via} reaches the sink at ${at}`);
    }
  };

  const checkCall = (call: Node, env: Map<string, TV>, isNew: boolean): void => {
    const fn = field(call, isNew ? 'constructor' : 'function');
    if (!fn) return;
    if (!isNew) checkStagedCall(call, fn, env);
    const raw = dotted(fn);
    const qn = qualify(fn);
    const seg = lastSegment(qn);
    const args = argNodes(call);
    const tainted = (i: number, kind: SinkKind): boolean => !!args[i] && !!reaches(ev(args[i], env), kind);

    // CWE-78
    const execLike = qn === 'child_process.exec' || qn === 'child_process.execSync' || (usesChildProcess && JS.cmdSinks.has(raw)) || qn.startsWith('shelljs.exec');
    if (execLike && tainted(0, 'cmd')) hit('js/command-injection', call);
    if (qn.startsWith('child_process.spawn') || (usesChildProcess && JS.spawnSinks.has(raw))) {
      const opts = args.find((a) => a.type === 'object' && /\bshell\s*:\s*(true|['"`])/.test(a.text));
      if (opts && (tainted(0, 'cmd') || tainted(1, 'cmd'))) hit('js/command-injection', call);
    }
    // CWE-94/95
    if (JS.codeSinks.has(raw) || JS.codeSinks.has(qn)) {
      if (seg === 'Function') {
        if (args.some((_, i) => tainted(i, 'code'))) hit('js/code-injection', call);
      } else if (args[0] && !FUNCTIONS.has(args[0].type) && tainted(0, 'code')) hit('js/code-injection', call);
    }
    if (isNew) return;
    // CWE-22
    const recv = fn.type === 'member_expression' ? field(fn, 'object') : null;
    const fsCall = JS.fsMethods.has(seg) && (qn.startsWith('fs.') || (!!recv && JS.fsReceivers.has(dotted(recv))) || alias.get(raw)?.startsWith('fs'));
    if (fsCall) {
      const idx = seg.startsWith('rename') || seg.startsWith('copyFile') ? [0, 1] : [0];
      if (idx.some((i) => tainted(i, 'path'))) hit('js/path-injection', call);
    }
    const root = chainRoot(recv);
    const isResponse = !!root && JS.responseReceivers.has(root.text);
    if (isResponse && (seg === 'sendFile' || seg === 'download' || seg === 'sendfile')) {
      const rooted = args.slice(1).some((a) => a.type === 'object' && /\broot\s*:/.test(a.text));
      if (!rooted && tainted(0, 'path')) hit('js/path-injection', call);
    }
    // CWE-79
    if (isResponse && (seg === 'send' || seg === 'write' || seg === 'end') && args[0] && args[0].type !== 'object' && tainted(0, 'xss')) {
      hit('js/xss', call);
    }
    if ((raw === 'document.write' || raw === 'document.writeln') && tainted(0, 'xss')) hit('js/xss', call);
    if (seg === 'insertAdjacentHTML' && tainted(1, 'xss')) hit('js/xss', call);
    checkNewSinks(call, fn, qn, raw, seg, args, recv, env);
  };

  /** The `key: value` pairs of an object literal (nested objects included), by key. */
  const pairs = (obj: Node | undefined | null): Map<string, Node> => {
    const out = new Map<string, Node>();
    if (obj?.type !== 'object') return out;
    for (const p of kids(obj)) {
      if (p.type === 'pair') {
        const k = field(p, 'key');
        const v = field(p, 'value');
        if (k && v) out.set(k.text.replace(/^['"`]|['"`]$/g, ''), v);
      } else if (p.type === 'shorthand_property_identifier') out.set(p.text, p);
    }
    return out;
  };
  const isFalse = (n: Node | undefined): boolean => !!n && /^(false|0|null|undefined)$/.test(n.text);
  const isTrue = (n: Node | undefined): boolean => !!n && n.text === 'true';

  /** Query objects: a `$where` with request data, or request values where the driver expects plain values. */
  const nosqlProblem = (q: Node, env: Map<string, TV>, depth = 0): string | null => {
    if (depth > 4) return null;
    const t = ev(q, env);
    if (q.type !== 'object') return has(raw, t) && !t!.clean.has('nosql') ? 'the whole query object comes from the request' : null;
    // Sequelize/TypeORM options ({ where: {...} }): their operators are symbols, which JSON cannot carry.
    if (depth === 0 && pairs(q).has('where')) return null;
    for (const [k, v] of pairs(q)) {
      const vt = ev(v, env);
      // $where is checked where it is written (visit), whatever call it reaches.
      if (k.startsWith('$') && /^\$(where|function|accumulator)$/.test(k)) continue;
      if (v.type === 'object' || v.type === 'array') {
        const inner = v.type === 'object' ? nosqlProblem(v, env, depth + 1) : null;
        if (inner) return inner;
        continue;
      }
      if (has(raw, vt) && !vt!.clean.has('nosql')) return `"${k}" takes a request value that may be an object such as {"$ne": null}`;
    }
    return null;
  };

  const checkNewSinks = (call: Node, fn: Node, qn: string, rawName: string, seg: string, args: Node[], recv: Node | null, env: Map<string, TV>): void => {
    const at = (i: number): TV => (args[i] ? ev(args[i], env) : null);
    const head = rawName.split('.')[0];
    const root = chainRoot(recv);
    const isResponse = !!root && JS.responseReceivers.has(root.text);
    // CWE-89: SQL text built from request data.
    if (fn.type === 'member_expression' && args[0] && (JS.sqlMethods.has(seg) || JS.sqlMaybeMethods.has(seg))) {
      const t = at(0);
      const dbLike = /(db|conn|pool|client|sequelize|knex|mysql|pg|sql|database|prisma|trx|tx|sqlite|query)/i.test(dotted(recv));
      if (reaches(t, 'sql') && (has(sqlBuilt, t) || (JS.sqlMethods.has(seg) && dbLike && (t!.built || args[0].type === 'member_expression')))) hit('js/sql-injection', call);
      // A helper's parameters formatted into SQL: the caller decides what they hold.
      else if (reaches(t, 'sql', 'weak') && has(sqlBuilt, t)) hit('js/sql-injection', call, 'warning', "SQL built by string formatting from the function's parameters");
    }
    // CWE-943: MongoDB query objects.
    if (fn.type === 'member_expression' && args[0] && (usesMongo || /collection|mongo/i.test(dotted(recv)))) {
      if (JS.nosqlMethods.has(seg)) {
        const why = nosqlProblem(args[0], env);
        if (why) hit('js/nosql-injection', call, undefined, why);
      } else if (seg === '$where' && reaches(at(0), 'nosql')) hit('js/nosql-injection', call, undefined, 'request data in $where runs as JavaScript on the server');
    }
    // CWE-601: redirects.
    if ((isResponse || root?.text === 'ctx') && (seg === 'redirect' || seg === 'location') && args.length > 0) {
      const u = args.length > 1 && seg === 'redirect' ? args[1] : args[0];
      const t = ev(u, env);
      if (reaches(t, 'url') && !hostFixed.has(t!)) hit('js/open-redirect', call);
    }
    if (isResponse && (seg === 'setHeader' || seg === 'set' || seg === 'header') && /^['"`]location['"`]$/i.test(args[0]?.text ?? '')) {
      const t = at(1);
      if (reaches(t, 'url') && !hostFixed.has(t!)) hit('js/open-redirect', call);
    }
    if (isResponse && seg === 'writeHead') {
      const loc = [...pairs(args.find((a) => a.type === 'object'))].find(([k]) => k.toLowerCase() === 'location')?.[1];
      const t = loc ? ev(loc, env) : null;
      if (reaches(t, 'url') && !hostFixed.has(t!)) hit('js/open-redirect', call);
    }
    if (/^((window|document)\.)?location\.(assign|replace)$/.test(rawName) || rawName === 'window.open') {
      const t = at(0);
      if (reaches(t, 'url') && !hostFixed.has(t!)) hit('js/open-redirect', call);
    }
    // CWE-918: server-side requests to a URL from the request.
    if (JS.ssrfCallees.has(qn) && (alias.has(head) || rawName === 'fetch')) {
      let u: Node | undefined = args[0];
      if (u?.type === 'object') {
        const p = pairs(u);
        u = p.get('url') ?? p.get('uri') ?? p.get('baseURL') ?? p.get('host') ?? p.get('hostname') ?? p.get('href');
      }
      const t = u ? ev(u, env) : null;
      if (reaches(t, 'url')) {
        if (hostFixed.has(t!)) hit('js/ssrf', call, 'note', 'only the path or query of a fixed host comes from the request');
        else hit('js/ssrf', call);
      }
    }
    // CWE-1336: request data compiled as a template.
    if (JS.templateCompilers.has(qn) && args[0] && reaches(at(0), 'code')) hit('js/template-injection', call);
    // CWE-79: template engines configured not to escape.
    if (/^(swig|nunjucks|handlebars|hbs|express-handlebars|ejs|dustjs-linkedin|twig|eta|mustache)\b/i.test(qn) || /^(swig|nunjucks|Handlebars|handlebars|hbs|env)\.\w+$/.test(rawName)) {
      for (const a of args) {
        const p = pairs(a);
        if (isFalse(p.get('autoescape')) || isTrue(p.get('noEscape'))) {
          hit('js/template-autoescape-off', call);
          break;
        }
      }
    }
    // CWE-117: request data written into a log line.
    if (fn.type === 'member_expression' && JS.logMethods.has(seg) && JS.logReceivers.test(dotted(recv))) {
      const t = args.map((a) => ev(a, env)).find((v) => !!reaches(v, 'cmd') && !crlfSafe.has(v!));
      if (t) hit('js/log-injection', call);
    }
    // CWE-614/1004: session cookies without HttpOnly/Secure.
    if (isResponse && seg === 'cookie' && args[0]?.type === 'string' && JS.sessionCookie.test(args[0].text.slice(1, -1))) {
      const opts = args[2];
      if (!opts || opts.type === 'object') {
        const p = pairs(opts);
        const http = p.get('httpOnly');
        const secure = p.get('secure');
        const spread = !!opts && kids(opts).some((k) => k.type === 'spread_element');
        if (!spread) {
          if (!http || isFalse(http)) hit('js/insecure-cookie', call, 'warning', 'the cookie is readable from script (no httpOnly: true)');
          else if (!secure || isFalse(secure)) hit('js/insecure-cookie', call, 'note', 'the cookie is also sent over plain HTTP (no secure: true)');
        }
      }
    }
    if (JS.sessionMiddleware.has(qn) && args[0]?.type === 'object') {
      const top = pairs(args[0]);
      const c = top.get('cookie')?.type === 'object' ? pairs(top.get('cookie')) : top;
      if (top.get('cookie') && top.get('cookie')!.type !== 'object') {
        // options built elsewhere: not ours to judge
      } else if (isFalse(c.get('httpOnly'))) hit('js/insecure-cookie', call, 'warning', 'the session cookie is readable from script (httpOnly: false)');
      else if (!c.get('secure') || isFalse(c.get('secure'))) hit('js/insecure-cookie', call, 'note', 'the session cookie is also sent over plain HTTP (no cookie.secure: true)');
    }
    // CWE-347: tokens accepted without a verified signature.
    if ((qn === 'express-jwt' || qn === 'express-jwt.expressjwt' || qn === 'koa-jwt') && args[0]?.type !== 'identifier') {
      let o: Node | undefined = args[0];
      while (o && WRAPPERS.has(o.type)) o = kids(o)[0];
      if (o?.type === 'object' && !pairs(o).has('algorithms') && !kids(o).some((k) => k.type === 'spread_element')) {
        hit('js/jwt-no-verify', call, 'warning', 'no algorithms list: the token chooses how it is checked ("none", or HS256 keyed with a public key)');
      }
    }
    if (jwtModule && (qn.startsWith('jsonwebtoken.') || qn.startsWith('jwt-simple.') || qn.startsWith('jose.'))) {
      const opts = pairs(args.find((a, i) => i > 0 && a.type === 'object'));
      const algs = opts.get('algorithms') ?? opts.get('algorithm');
      if ((seg === 'verify' || seg === 'sign') && algs && /['"`]none['"`]/i.test(algs.text)) hit('js/jwt-no-verify', call, undefined, 'the "none" algorithm accepts unsigned tokens');
      else if (qn.startsWith('jwt-simple.') && seg === 'decode' && isTrue(args[2])) hit('js/jwt-no-verify', call, undefined, 'decode(token, key, true) skips verification');
      else if (qn === 'jsonwebtoken.verify' && !algs && args[1] && /pub|cert|pem/i.test(args[1].text)) hit('js/jwt-no-verify', call, 'warning', 'verifying with a public key and no algorithms list lets a token signed with HS256 and that public key as secret pass; pass { algorithms: ["RS256"] }');
      else if ((qn === 'jsonwebtoken.decode' || qn === 'jose.decodeJwt') && !verifiesJwt && reaches(at(0), 'code')) hit('js/jwt-no-verify', call, 'warning', 'decode() reads a token from the request without checking its signature, and this file never verifies one');
    }
    // CWE-502: deserializers that revive functions.
    if (JS.deserSinks.has(qn) && args[0] && args[0].type !== 'string') {
      hit('js/unsafe-deserialization', call, reaches(at(0), 'deser') ? 'error' : 'warning');
    }
    // CWE-611: libxmljs with entity expansion.
    if (JS.xmlParsers.has(qn) && args.some((a) => isTrue(pairs(a).get('noent')))) hit('js/xxe', call);
  };

  const applyGuard = (cond: Node | null, env: Map<string, TV>): void => {
    if (!cond) return;
    walk(cond, (x) => {
      if (x.type !== 'call_expression') return true;
      const fn = field(x, 'function');
      if (fn?.type === 'member_expression' && field(fn, 'property')?.text === 'startsWith') {
        const obj = field(fn, 'object');
        if (obj?.type === 'identifier') {
          const t = env.get(obj.text) ?? null;
          if (t?.normalized) env.set(obj.text, sanitize(t, ['path']));
        }
      }
      return true;
    });
  };

  type Fact = readonly SinkKind[] | 'all' | 'string';
  const VALIDATOR = /^(is_?)?(valid|validate|safe|allowed|whitelisted|allowlisted|permitted|trusted)|^validator\.is(Int|Numeric|Alphanumeric|Alpha|UUID|MongoId|Email|Hexadecimal|Base64|Boolean|Date|ISO8601|Port|IP|FQDN|Hash|JWT|Slug)$/i;
  const subject = (n: Node | null): string | null => {
    while (n && WRAPPERS.has(n.type)) n = kids(n)[0] ?? null;
    return n?.type === 'identifier' ? n.text : null;
  };
  /** The variable whose URL a host check inspects: `new URL(u).hostname`, `url.parse(u).host`. */
  const hostSubject = (n: Node | null): string | null => {
    if (n?.type !== 'member_expression' || !/^(host|hostname|origin|protocol)$/.test(field(n, 'property')?.text ?? '')) return null;
    let o = field(n, 'object');
    while (o && WRAPPERS.has(o.type)) o = kids(o)[0] ?? null;
    if (o?.type !== 'new_expression' && o?.type !== 'call_expression') return null;
    return subject(argNodes(o)[0] ?? null);
  };
  /** What a condition establishes about variables when it evaluates to `truth`: allow-lists, validators, type checks. */
  const facts = (c: Node | null, truth: boolean, out = new Map<string, Fact>()): Map<string, Fact> => {
    while (c && (c.type === 'parenthesized_expression' || c.type === 'await_expression')) c = kids(c)[0] ?? null;
    if (!c) return out;
    if (c.type === 'unary_expression' && c.text.startsWith('!')) return facts(field(c, 'argument'), !truth, out);
    if (c.type === 'binary_expression') {
      const op = c.childForFieldName('operator')?.type ?? '';
      const L = field(c, 'left');
      const R = field(c, 'right');
      if (op === '&&') return truth ? facts(R, true, facts(L, true, out)) : out;
      if (op === '||') return truth ? out : facts(R, false, facts(L, false, out));
      const eq = op === '===' || op === '==';
      const ne = op === '!==' || op === '!=';
      if ((eq && truth) || (ne && !truth)) {
        // x === 'literal', typeof x === 'string', host(x) === 'example.com'
        for (const [a, b] of [[L, R], [R, L]] as const) {
          if (b?.type !== 'string' && b?.type !== 'number') continue;
          if (a?.type === 'unary_expression' && a.text.startsWith('typeof') && b.text.slice(1, -1) === 'string') {
            const v = subject(field(a, 'argument'));
            if (v) out.set(v, 'string');
          }
          const v = subject(a);
          if (v) out.set(v, 'all');
          const h = hostSubject(a);
          if (h) out.set(h, ['url']);
        }
      }
      // list.indexOf(x) !== -1 / >= 0 / > -1 (true), === -1 (false)
      const idx = L?.type === 'call_expression' && /\.indexOf$/.test(dotted(field(L, 'function'))) ? L : null;
      if (idx && R) {
        const found = (ne && R.text === '-1') || (op === '>=' && R.text === '0') || (op === '>' && R.text === '-1');
        const missing = eq && R.text === '-1';
        if ((found && truth) || (missing && !truth)) {
          const v = subject(argNodes(idx)[0] ?? null) ?? hostSubject(argNodes(idx)[0] ?? null);
          if (v) out.set(v, subject(argNodes(idx)[0] ?? null) ? 'all' : ['url']);
        }
      }
      return out;
    }
    if (c.type === 'call_expression' && !truth) {
      // `!name.includes('/')`, `!name.includes('..')`: the name cannot leave its directory.
      const fn = field(c, 'function');
      const a0 = argNodes(c)[0] ?? null;
      if (fn?.type === 'member_expression' && field(fn, 'property')?.text === 'includes' && a0?.type === 'string' && /^(\/|\.\.|\.\.\/|\\\\)$/.test(a0.text.slice(1, -1))) {
        const v = subject(field(fn, 'object'));
        if (v) out.set(v, ['path']);
      }
    }
    if (c.type === 'call_expression' && truth) {
      const fn = field(c, 'function');
      const name = dotted(fn);
      const method = fn?.type === 'member_expression' ? field(fn, 'property')?.text ?? '' : '';
      const a0 = argNodes(c)[0] ?? null;
      if (method === 'includes' || method === 'has') {
        // An allow-list lookup (not `x.includes('..')`, which tests the value itself).
        const v = subject(a0);
        if (v && subject(field(fn!, 'object')) !== v) out.set(v, 'all');
        const h = hostSubject(a0);
        if (h) out.set(h, ['url']);
      } else if (method === 'startsWith' && field(fn!, 'object')) {
        // u.startsWith('https://example.com/') or a local path that is not protocol-relative.
        const v = subject(field(fn!, 'object'));
        const lit = a0?.type === 'string' ? a0.text.slice(1, -1) : null;
        if (v && lit !== null && (HOST_PREFIX.test(lit) || (lit === '/' && /['"`]\/\/['"`]/.test(c.parent?.text ?? '')))) out.set(v, ['url']);
      } else if (method === 'test' && /^\/\^/.test(field(fn!, 'object')?.text ?? '')) {
        // An anchored pattern: /^[a-z0-9]+$/.test(x).
        const v = subject(a0);
        if (v && /\$\/[a-z]*$/.test(field(fn!, 'object')!.text)) out.set(v, 'all');
      } else if (VALIDATOR.test(lastSegment(name)) || VALIDATOR.test(name)) {
        const v = subject(a0);
        if (v) out.set(v, /url/i.test(name) ? ['url'] : 'all');
      } else if (/^(Number\.isInteger|Number\.isSafeInteger|Number\.isFinite|isFinite|Array\.isArray)$/.test(name)) {
        const v = subject(a0);
        if (v && name !== 'Array.isArray') out.set(v, 'all');
      }
    }
    return out;
  };
  const applyFacts = (env: Map<string, TV>, f: Map<string, Fact>): Map<string, TV> => {
    const out = new Map(env);
    for (const [v, k] of f) {
      const t = out.get(v) ?? null;
      if (!t) continue;
      out.set(v, k === 'all' ? null : k === 'string' ? copy(t) : sanitize(t, k));
    }
    return out;
  };
  /** A branch that cannot fall through: its last statement returns, throws, breaks or continues. */
  const exits = (b: Node | null): boolean => {
    if (!b) return false;
    if (b.type === 'else_clause') return exits(kids(b)[0] ?? null);
    if (b.type === 'statement_block') {
      const last = kids(b).filter((k) => k.type !== 'comment').pop() ?? null;
      return exits(last);
    }
    return b.type === 'return_statement' || b.type === 'throw_statement' || b.type === 'break_statement' || b.type === 'continue_statement';
  };
  /** Visits a branch under the facts its condition gives, then keeps what the branch itself assigned. */
  const visitUnder = (b: Node, env: Map<string, TV>, f: Map<string, Fact>): void => {
    if (f.size === 0) {
      visit(b, env);
      return;
    }
    const inner = applyFacts(env, f);
    const before = new Map(inner);
    visit(b, inner);
    for (const [k, v] of inner) if (before.get(k) !== v || !env.has(k)) env.set(k, v);
  };

  const bindPattern = (pat: Node, value: TV, env: Map<string, TV>): void => {
    switch (pat.type) {
      case 'identifier':
      case 'shorthand_property_identifier_pattern':
        env.set(pat.text, value);
        break;
      case 'object_pattern':
      case 'array_pattern':
        for (const k of kids(pat)) bindPattern(k, value, env);
        break;
      case 'pair_pattern': {
        const v = field(pat, 'value');
        if (v) bindPattern(v, value, env);
        break;
      }
      case 'assignment_pattern':
      case 'object_assignment_pattern': {
        const l = field(pat, 'left') ?? kids(pat)[0];
        if (l) bindPattern(l, value, env);
        break;
      }
      case 'rest_pattern':
        for (const k of kids(pat)) bindPattern(k, value, env);
        break;
    }
  };

  const visit = (n: Node, env: Map<string, TV>): void => {
    if (FUNCTIONS.has(n.type)) {
      const inner = new Map(env);
      const params = field(n, 'parameters') ?? field(n, 'parameter');
      // A caller's data: only rules that accept weak evidence (a query built around it) look at it.
      const list = params ? (params.type === 'identifier' ? [params] : kids(params)) : [];
      for (const p of list) {
        const pat = field(p, 'pattern') ?? p;
        // The request and response objects themselves are the framework's: only their client fields are data.
        const framework = pat.type === 'identifier' && (JS.requestNames.has(pat.text) || JS.responseReceivers.has(pat.text) || pat.text === 'next');
        bindPattern(pat, framework ? null : weakSource(), inner);
      }
      // `({ query, body }, res) => ...`: a handler that destructures the request in its parameter list.
      const first = list[0] ? field(list[0], 'pattern') ?? list[0] : null;
      const second = list[1] ? field(list[1], 'pattern') ?? list[1] : null;
      if (first?.type === 'object_pattern' && second?.type === 'identifier' && JS.responseReceivers.has(second.text)) {
        for (const k of kids(first)) {
          const name = k.type === 'shorthand_property_identifier_pattern' ? k.text : k.type === 'pair_pattern' ? field(k, 'key')?.text ?? '' : '';
          if (!JS.requestProps.has(name)) continue;
          const t = strongSource();
          bindPattern(k, RAW_PROPS.has(name) ? mark(raw, t) : t, inner);
        }
      }
      const body = field(n, 'body');
      const outer = returns;
      returns = null;
      try {
        if (body) visit(body, inner);
      } finally {
        returns = outer;
      }
      return;
    }
    switch (n.type) {
      case 'return_statement': {
        for (const k of kids(n)) visit(k, env);
        const e = kids(n).find((k) => k.type !== 'comment') ?? null;
        if (returns && e) returns.push(ev(e, env));
        return;
      }
      case 'variable_declarator': {
        const value = field(n, 'value');
        if (value) visit(value, env);
        const name = field(n, 'name');
        if (name) bindPattern(name, ev(value, env), env);
        return;
      }
      case 'assignment_expression':
      case 'augmented_assignment_expression': {
        const right = field(n, 'right');
        if (right) visit(right, env);
        const left = field(n, 'left');
        if (!left) return;
        const value = n.type === 'augmented_assignment_expression' ? join(ev(left, env), built(ev(right, env))) : ev(right, env);
        if (left.type === 'identifier') env.set(left.text, value);
        else if (left.type === 'member_expression') {
          const prop = field(left, 'property')?.text ?? '';
          if (JS.htmlProps.has(prop) && reaches(ev(right, env), 'xss')) hit('js/xss', n);
          if (/^((window|document)\.)?location(\.href)?$/.test(dotted(left))) {
            const t = ev(right, env);
            if (reaches(t, 'url') && !hostFixed.has(t!)) hit('js/open-redirect', n);
          }
          visit(left, env);
        } else bindPattern(left, value, env);
        return;
      }
      case 'pair': {
        // CWE-943: MongoDB runs the JavaScript of a $where/$function; nothing else uses these keys.
        const key = field(n, 'key')?.text.replace(/^['"`]|['"`]$/g, '') ?? '';
        if (/^\$(where|function|accumulator)$/.test(key)) {
          const r = reaches(ev(field(n, 'value'), env), 'nosql', 'weak');
          if (r === 'strong') hit('js/nosql-injection', n, undefined, `request data in ${key} runs as JavaScript on the server`);
          else if (r) hit('js/nosql-injection', n, 'warning', `${key} is built from the function's parameters and runs as JavaScript on the server`);
        }
        for (const k of kids(n)) visit(k, env);
        return;
      }
      case 'call_expression':
      case 'new_expression':
        for (const k of kids(n)) visit(k, env);
        checkCall(n, env, n.type === 'new_expression');
        return;
      case 'if_statement': {
        const cond = field(n, 'condition');
        if (cond) visit(cond, env);
        applyGuard(cond, env);
        const yes = facts(cond, true);
        const no = facts(cond, false);
        const cons = field(n, 'consequence');
        const alt = field(n, 'alternative');
        if (cons) visitUnder(cons, env, yes);
        if (alt) visitUnder(alt, env, no);
        // `if (!allowed.includes(u)) return ...;` — what follows runs only where the check passed.
        const after = exits(cons) ? no : alt && exits(alt) ? yes : null;
        if (after) for (const [k, v] of applyFacts(env, after)) env.set(k, v);
        return;
      }
      default:
        for (const k of kids(n)) visit(k, env);
    }
  };

  const self: JsModule = {
    emit(): RuleHit[] {
      hits = [];
      visit(root, new Map());
      return hits;
    },
    probe(fn: Node, args: TV[]): { ret: TV; hits: RuleHit[] } {
      const savedHits = hits;
      const savedReturns = returns;
      hits = [];
      returns = [];
      try {
        const env = new Map<string, TV>();
        const params = field(fn, 'parameters') ?? field(fn, 'parameter');
        const list = params ? (params.type === 'identifier' ? [params] : kids(params).filter((k) => k.type !== 'comment')) : [];
        list.forEach((p, i) => {
          const pat = field(p, 'pattern') ?? p;
          // A rest parameter takes every argument from its position on.
          bindPattern(pat, pat.type === 'rest_pattern' ? joinAll(args.slice(i)) : args[i] ?? null, env);
        });
        const body = field(fn, 'body');
        if (body) {
          visit(body, env);
          // An arrow function's expression body is its return value.
          if (body.type !== 'statement_block') returns.push(ev(body, env));
        }
        return { ret: joinAll(returns), hits };
      } finally {
        hits = savedHits;
        returns = savedReturns;
      }
    },
  };
  return self;
}
