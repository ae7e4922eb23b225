import { type Node, kids, field, line, endLine, walk, dotted, lastSegment, qualifier } from './ast.js';
import { RULES, type RuleHit } from './catalog.js';
import type { PyBinding } from './py-imports.js';
import { CREDENTIAL_NAME, PLACEHOLDER, PY, PY_MORE } from './data.js';
import {
  type SinkKind, type Taint, type TV, built, dynSource, join, joinAll, normalized, opaque, pathJoin, reaches, sanitize, strongSource, weakSource,
} from './taint.js';

const SCOPES = new Set(['function_definition', 'class_definition', 'lambda', 'decorated_definition']);

type Table = ReadonlySet<string> | ReadonlyMap<string, unknown>;

/** Import aliases: local name -> qualified name (`escape` -> `markupsafe.escape`). */
function importAliases(root: Node): Map<string, string> {
  const alias = new Map<string, string>();
  walk(root, (n) => {
    if (n.type === 'import_statement') {
      for (const c of kids(n)) {
        if (c.type === 'aliased_import') {
          const name = dotted(field(c, 'name'));
          const as = field(c, 'alias')?.text;
          if (as) alias.set(as, name);
        }
      }
      return false;
    }
    if (n.type === 'import_from_statement') {
      const mod = dotted(field(n, 'module_name'));
      for (const c of kids(n)) {
        if (c.id === field(n, 'module_name')?.id) continue;
        if (c.type === 'dotted_name') alias.set(c.text, `${mod}.${c.text}`);
        else if (c.type === 'aliased_import') {
          const name = dotted(field(c, 'name'));
          const as = field(c, 'alias')?.text;
          if (as) alias.set(as, `${mod}.${name}`);
        }
      }
      return false;
    }
    return true;
  });
  return alias;
}

interface Unit {
  node: Node;
  /** Statements to walk: a function body, or the module's top level. */
  body: Node;
  params: string[];
  /** A request handler: its parameters come from the URL (or it receives the request object). */
  isRoute: boolean;
  name: string;
}

function paramNames(fn: Node): string[] {
  const ps = field(fn, 'parameters');
  if (!ps) return [];
  const out: string[] = [];
  for (const p of kids(ps)) {
    let id: Node | null = null;
    if (p.type === 'identifier') id = p;
    else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') id = field(p, 'name');
    else if (p.type === 'typed_parameter' || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern')
      id = kids(p).find((k) => k.type === 'identifier') ?? null;
    if (id && id.text !== 'self' && id.text !== 'cls') out.push(id.text);
  }
  return out;
}

function unitsOf(root: Node): Unit[] {
  const units: Unit[] = [{ node: root, body: root, params: [], isRoute: false, name: '<module>' }];
  walk(root, (n) => {
    if (n.type === 'function_definition') {
      const body = field(n, 'body');
      const dec = n.parent?.type === 'decorated_definition' ? n.parent : null;
      const params = paramNames(n);
      const decorated = !!dec && kids(dec).some((d) => d.type === 'decorator' && PY.routeDecorator.test(d.text));
      // A Django view takes the request first; a method taking `request` next to self is a handler too.
      const isRoute = decorated || (params[0] === 'request' && params.length > 1 && !!dec);
      if (body) units.push({ node: n, body, params, isRoute, name: field(n, 'name')?.text ?? '' });
    }
    return true;
  });
  return units;
}

interface Args {
  pos: Node[];
  kw: Map<string, Node>;
  /** `**opts` passed through: a keyword we look for may be inside. */
  splat: Node[];
}

function argsOf(call: Node): Args {
  const pos: Node[] = [];
  const kw = new Map<string, Node>();
  const splat: Node[] = [];
  const list = field(call, 'arguments');
  if (list) {
    for (const a of kids(list)) {
      if (a.type === 'keyword_argument') {
        const name = field(a, 'name')?.text;
        const value = field(a, 'value');
        if (name && value) kw.set(name, value);
      } else if (a.type === 'dictionary_splat') splat.push(a);
      else if (a.type !== 'comment') pos.push(a);
    }
  }
  return { pos, kw, splat };
}

function stringValue(n: Node): string | null {
  if (n.type !== 'string') return null;
  if (kids(n).some((k) => k.type === 'interpolation')) return null;
  const m = /^[a-zA-Z]*("""|'''|"|')([\s\S]*)\1$/.exec(n.text);
  return m ? m[2] : null;
}

/** A SQL statement: a leading keyword and the clause that makes it a statement. */
const SQL_TEXT = /^[a-zA-Z]*["'(\s]*(select\s[\s\S]*\sfrom\s|insert\s+(or\s+\w+\s+)?into\s|update\s[\s\S]*\sset\s|delete\s+from\s|replace\s+into\s|(create|drop|alter|truncate)\s+(table|index|view|database)\s)/i;

const HTML_TAG = /<\/?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?\/?>|<[a-zA-Z][a-zA-Z0-9-]*\s+[a-z-]+\s*=|\b(href|src)\s*=\s*["']/;

/** The literal text of a string or a concatenation of strings (f-string literal parts included). */
function literalText(n: Node | null): string | null {
  if (!n) return null;
  if (n.type === 'string') return n.text;
  if (n.type === 'concatenated_string') return kids(n).map((k) => k.text).join('');
  if (n.type === 'parenthesized_expression') return literalText(kids(n)[0] ?? null);
  // A translated literal: _("<a href=...>"), gettext(...).
  if (n.type === 'call' && /^(_|gettext|ugettext|gettext_lazy|ugettext_lazy|_l|N_)$/.test(field(n, 'function')?.text ?? '')) {
    const a = field(n, 'arguments');
    return literalText(a ? kids(a)[0] ?? null : null);
  }
  return null;
}

/** A comparison's operators; `not in` / `is not` come as two tokens of the same type. */
function compOps(n: Node): string {
  const out: string[] = [];
  for (const c of n.children) if (!c.isNamed && out[out.length - 1] !== c.type) out.push(c.type);
  return out.join(',');
}

type Const = string | number | boolean | null;
const NO = Symbol('not constant');

/** A literal's value (`True`, `3`, `"x"`, `None`), or NO. */
function literal(n: Node | null, consts: ReadonlyMap<string, Const>): Const | typeof NO {
  if (!n) return NO;
  switch (n.type) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'none':
      return null;
    case 'integer':
    case 'float': {
      const v = Number(n.text.replace(/_/g, ''));
      return Number.isNaN(v) ? NO : v;
    }
    case 'string':
      return stringValue(n) ?? NO;
    case 'identifier':
      return consts.has(n.text) ? (consts.get(n.text) as Const) : NO;
    case 'parenthesized_expression':
      return literal(kids(n)[0] ?? null, consts);
    default:
      return NO;
  }
}

/** Folds a condition over literals and single-assignment constants; undefined when it depends on data. */
function fold(n: Node | null, consts: ReadonlyMap<string, Const>): boolean | undefined {
  if (!n) return undefined;
  const lit = literal(n, consts);
  if (lit !== NO) return !!lit;
  if (n.type === 'parenthesized_expression') return fold(kids(n)[0] ?? null, consts);
  if (n.type === 'not_operator') {
    const v = fold(field(n, 'argument'), consts);
    return v === undefined ? undefined : !v;
  }
  if (n.type === 'boolean_operator') {
    const op = n.children.find((c) => !c.isNamed)?.type;
    const a = fold(field(n, 'left'), consts);
    const b = fold(field(n, 'right'), consts);
    if (op === 'and') return a === false || b === false ? false : a === true && b === true ? true : undefined;
    if (op === 'or') return a === true || b === true ? true : a === false && b === false ? false : undefined;
    return undefined;
  }
  if (n.type === 'comparison_operator') {
    const ks = kids(n);
    const ops = compOps(n).split(',');
    if (ks.length !== 2 || ops.length !== 1) return undefined;
    const a = literal(ks[0], consts);
    const b = literal(ks[1], consts);
    if (a === NO || b === NO) return undefined;
    switch (ops[0]) {
      case '==':
      case 'is':
        return a === b;
      case '!=':
        return a !== b;
      case '<':
        return a !== null && b !== null && a < b;
      case '>':
        return a !== null && b !== null && a > b;
      case '<=':
        return a !== null && b !== null && a <= b;
      case '>=':
        return a !== null && b !== null && a >= b;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Names assigned exactly once in a scope, to a literal: constants for folding conditions. */
function constantsOf(body: Node, outer: ReadonlyMap<string, Const>): Map<string, Const> {
  const count = new Map<string, number>();
  const value = new Map<string, Const | typeof NO>();
  walk(body, (x) => {
    if (x !== body && SCOPES.has(x.type)) return false;
    const bump = (id: Node | null, v: Const | typeof NO): void => {
      if (id?.type !== 'identifier') return;
      count.set(id.text, (count.get(id.text) ?? 0) + 1);
      value.set(id.text, v);
    };
    if (x.type === 'assignment') bump(field(x, 'left'), literal(field(x, 'right'), new Map()));
    else if (x.type === 'augmented_assignment') bump(field(x, 'left'), NO);
    else if (x.type === 'for_statement' || x.type === 'for_in_clause') walk(field(x, 'left') ?? x, (t) => (t.type === 'identifier' && bump(t, NO), true));
    else if (x.type === 'as_pattern_target' || x.type === 'global_statement' || x.type === 'nonlocal_statement') walk(x, (t) => (t.type === 'identifier' && bump(t, NO), true));
    else if (x.type === 'named_expression') bump(field(x, 'name'), NO);
    return true;
  });
  const out = new Map<string, Const>();
  for (const [k, v] of outer) if (!count.has(k)) out.set(k, v);
  for (const [k, n] of count) {
    const v = value.get(k);
    if (n === 1 && v !== undefined && v !== NO) out.set(k, v);
  }
  return out;
}

/** What a function returns when its parameters are tainted: its summary for callers. */
export interface Summary {
  ret: TV;
}

/** A sink that a function's parameter reaches when a caller passes request data to it (severity at the call). */
export interface ProbeHit {
  rule: string;
  severity: NonNullable<RuleHit['severity']>;
  /** `file:line` of the sink. */
  at: string;
  /** The functions the data passes through on its way, outermost first. */
  via: string[];
}

/** The other staged modules, as one module sees them. */
export interface PyProject {
  /** The analysis of a staged Python file (parsed on first use), or undefined. */
  module(path: string): PyModule | undefined;
  /**
   * Starts one nested analysis for another function or module (a probe, a module's summaries): false
   * once the check's bound on them, or on their nesting, is reached; otherwise `leave()` must follow.
   */
  enter(): boolean;
  leave(): void;
}

/** One staged Python module: what other modules may ask of it, and its own findings. */
export interface PyModule {
  readonly path: string;
  /** The parameters of a top-level function or a top-level class's method (`Class.method`), or undefined. */
  params(name: string): string[] | undefined;
  /** Whether the module defines a top-level class by that name. */
  hasClass(name: string): boolean;
  /** The return summary of a top-level function or method (`Class.method`). */
  summary(name: string): Summary | undefined;
  /** The sinks `param` of `name` reaches (beyond what its callers' own data does) when given `taint`. */
  probe(name: string, param: string, taint: Taint): ProbeHit[];
  /** What a name of this module is bound to by one of its imports of a staged file. */
  binding(local: string): PyBinding | undefined;
  /** Every rule over the module. */
  emit(): RuleHit[];
}

/** How a module reaches the others: its path, its import bindings and the project. */
export interface CrossFile {
  path: string;
  bindings: ReadonlyMap<string, PyBinding>;
  project: PyProject;
}

/** A hit found while probing: where the sink is, when it is in another function or file. */
interface Found extends RuleHit {
  at?: string;
  via?: string[];
}

interface ProbeRun {
  param: string | null;
  taint: TV;
  out: Found[];
}

type Env = Map<string, TV>;

/** A key for a probe's argument: only what a sink's decision can depend on. */
function taintKey(t: Taint): string {
  return JSON.stringify([t.built, t.html, t.sqlText, t.normalized, t.joined, [...t.clean].sort()]);
}

export function checkPython(root: Node): RuleHit[] {
  return pythonModule(root).emit();
}

/** The analysis of one module; with `xf`, calls into other staged modules use their summaries and probes. */
export function pythonModule(root: Node, xf?: CrossFile): PyModule {
  const alias = importAliases(root);
  const hits: RuleHit[] = [];
  const modPath = xf?.path ?? '<module>';

  const qualify = qualifier(alias);
  const lookup = <T extends Table>(table: T, qn: string): boolean => {
    if (table.has(qn)) return true;
    const seg = lastSegment(qn);
    return table.has(`*.${seg}`);
  };
  const sanitizerOf = (qn: string, raw: string): readonly SinkKind[] | 'all' | undefined =>
    PY.sanitizers.get(qn) ?? PY.sanitizers.get(raw) ?? PY.sanitizers.get(`*.${lastSegment(qn)}`);

  const isRequestObject = (n: Node): boolean => {
    if (n.type === 'identifier') {
      const q = alias.get(n.text) ?? n.text;
      return PY.requestNames.has(q) || PY.requestNames.has(n.text);
    }
    // self.request / cherrypy.request / bottle.request
    return n.type === 'attribute' && field(n, 'attribute')?.text === 'request';
  };

  /** Names bound by `import x` / `import x.y`: modules, not data. */
  const modules = new Set<string>();
  walk(root, (n) => {
    if (n.type === 'import_statement') {
      for (const c of kids(n)) if (c.type === 'dotted_name') modules.add(c.text.split('.')[0]);
      return false;
    }
    return true;
  });
  const units = unitsOf(root);
  const byName = new Map<string, Unit>();
  for (const u of units) if (u.node.type === 'function_definition') byName.set(u.name, u);
  /** Parameters that some call site in this file passes request data to. */
  const strongParams = new Map<string, Set<string>>();
  const summaries = new Map<string, Summary>();
  const moduleConsts = constantsOf(root, new Map());

  const localSource = (): TV => sanitize(strongSource(), ['path']);

  const calleeName = (fn: Node | null): string | undefined =>
    fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? field(fn, 'attribute')?.text : undefined;

  /** Top-level functions: what other modules can import. */
  const topLevel = new Map<string, Unit>();
  for (const u of units) {
    const holder = u.node.parent?.type === 'decorated_definition' ? u.node.parent.parent : u.node.parent;
    if (u.node.type === 'function_definition' && holder?.id === root.id) topLevel.set(u.name, u);
  }

  /** Methods of top-level classes, as `Class.method`: what other modules can call on the class or an instance. */
  const methods = new Map<string, Unit>();
  const classOf = new Map<Unit, string>();
  const classes = new Set<string>();
  for (const n of kids(root)) {
    const c = n.type === 'decorated_definition' ? kids(n).find((k) => k.type === 'class_definition') : n.type === 'class_definition' ? n : undefined;
    const cname = c ? field(c, 'name')?.text : undefined;
    if (c && cname) classes.add(cname);
  }
  for (const u of units) {
    if (u.node.type !== 'function_definition') continue;
    const holder = u.node.parent?.type === 'decorated_definition' ? u.node.parent : u.node;
    const cls = holder.parent?.type === 'block' ? holder.parent.parent : null;
    const outer = cls?.parent?.type === 'decorated_definition' ? cls.parent.parent : cls?.parent;
    const cname = cls?.type === 'class_definition' ? field(cls, 'name')?.text : undefined;
    if (cname && outer?.id === root.id) {
      methods.set(`${cname}.${u.name}`, u);
      classOf.set(u, cname);
    }
  }
  const exported = (name: string): Unit | undefined => topLevel.get(name) ?? methods.get(name);

  /** A callee bound by an import of a staged module (a name defined in this file shadows it). */
  const imported = (fn: Node): { mod: PyModule; name: string } | undefined => {
    if (!xf || !fn) return undefined;
    if (fn.type === 'identifier') {
      if (topLevel.has(fn.text)) return undefined;
      const b = xf.bindings.get(fn.text);
      return b?.kind === 'symbol' ? resolveSymbol(b.path, b.name) : undefined;
    }
    if (fn.type === 'attribute') {
      const obj = field(fn, 'object');
      const name = field(fn, 'attribute')?.text;
      if (!obj || !name) return undefined;
      const b = xf.bindings.get(dotted(obj));
      if (b?.kind === 'module') return resolveSymbol(b.path, name);
      // `Class.method(...)` on an imported class, or `obj.method(...)` on an instance of one.
      const cls = b?.kind === 'symbol' && !topLevel.has(dotted(obj)) ? resolveClass(b.path, b.name) : obj.type === 'identifier' ? instances().get(obj.text) : undefined;
      return cls && cls.mod.params(`${cls.name}.${name}`) ? { mod: cls.mod, name: `${cls.name}.${name}` } : undefined;
    }
    return undefined;
  };

  /**
   * A name defined in `path` as what `defines` accepts, following re-exports (`from .impl import f` in a
   * package's __init__).
   */
  const resolveDefined = (path: string, name: string, defines: (m: PyModule, name: string) => boolean, depth = 0): { mod: PyModule; name: string } | undefined => {
    const m = xf?.project.module(path);
    if (!m || depth > 4) return undefined;
    if (defines(m, name)) return { mod: m, name };
    const b = m.binding(name);
    return b?.kind === 'symbol' && b.path !== path ? resolveDefined(b.path, b.name, defines, depth + 1) : undefined;
  };
  const resolveSymbol = (path: string, name: string): { mod: PyModule; name: string } | undefined => resolveDefined(path, name, (m, n) => !!m.params(n));
  const resolveClass = (path: string, name: string): { mod: PyModule; name: string } | undefined => resolveDefined(path, name, (m, n) => m.hasClass(n));

  /**
   * Names bound only ever to a new instance of one imported class (`db = Database(path)`, at module
   * level or in a function): their method calls go to that class. A name bound to anything else
   * anywhere in the file is left out.
   */
  let instanceMap: Map<string, { mod: PyModule; name: string }> | undefined;
  const instances = (): Map<string, { mod: PyModule; name: string }> => {
    if (instanceMap) return instanceMap;
    instanceMap = new Map();
    const poisoned = new Set<string>();
    walk(root, (x) => {
      if (x.type === 'assignment' || x.type === 'augmented_assignment') {
        const left = field(x, 'left');
        const right = field(x, 'right');
        if (left?.type !== 'identifier') {
          if (left) walk(left, (t) => (t.type === 'identifier' && poisoned.add(t.text), true));
          return true;
        }
        const callee = x.type === 'assignment' && right?.type === 'call' ? field(right, 'function') : null;
        let cls: { mod: PyModule; name: string } | undefined;
        if (callee?.type === 'identifier' && !classes.has(callee.text)) {
          const b = xf?.bindings.get(callee.text);
          cls = b?.kind === 'symbol' ? resolveClass(b.path, b.name) : undefined;
        } else if (callee?.type === 'attribute') {
          const b = xf?.bindings.get(dotted(field(callee, 'object')));
          const cname = field(callee, 'attribute')?.text;
          cls = b?.kind === 'module' && cname ? resolveClass(b.path, cname) : undefined;
        }
        const prev = instanceMap!.get(left.text);
        if (!cls || (prev && (prev.mod !== cls.mod || prev.name !== cls.name))) poisoned.add(left.text);
        else instanceMap!.set(left.text, cls);
      } else if (/^(for_statement|for_in_clause|with_item|named_expression|global_statement|nonlocal_statement)$/.test(x.type) || x.type === 'parameters' || x.type === 'lambda_parameters') {
        walk(x.type === 'for_statement' || x.type === 'for_in_clause' ? field(x, 'left') ?? x : x.type === 'named_expression' ? field(x, 'name') ?? x : x, (t) => (t.type === 'identifier' && poisoned.add(t.text), true));
      }
      return true;
    });
    for (const p of poisoned) instanceMap.delete(p);
    return instanceMap;
  };

  /** While probing: a call of this module's own function (`f(x)`), or of a method of the same class (`self.f(x)`). */
  const ownCallee = (fn: Node, from: Unit): { mod: PyModule; name: string } | undefined => {
    if (fn.type === 'identifier') return topLevel.has(fn.text) ? { mod: self, name: fn.text } : undefined;
    const cls = classOf.get(from);
    const name = fn.type === 'attribute' && field(fn, 'object')?.text === 'self' ? calleeName(fn) : undefined;
    return cls && name && methods.has(`${cls}.${name}`) ? { mod: self, name: `${cls}.${name}` } : undefined;
  };

  const analyze = (u: Unit, mode: 'summary' | 'strong' | 'emit' | 'probe', probeRun?: ProbeRun): TV => {
    let env: Env = new Map();
    const lists = new Set<string>();
    const tarNames = new Set<string>();
    /** Names bound to lxml parsers that resolve entities. */
    const unsafeParsers = new Set<string>();
    const consts = u.node === root ? moduleConsts : constantsOf(u.body, moduleConsts);
    const strong = strongParams.get(u.name);
    for (const p of u.params) {
      if (mode === 'summary') env.set(p, weakSource());
      else if (mode === 'probe') env.set(p, p === probeRun?.param ? probeRun.taint : weakSource());
      else if (strong?.has(p) || (u.isRoute && p !== 'request' && p !== 'req')) env.set(p, strongSource());
      else env.set(p, weakSource());
    }
    let returned: TV = null;
    /** Local objects whose fields this function saves (`obj.save()`): stored request data ends up in pages. */
    const savedObjects = new Set<string>();
    /** Whether a field of a local object was stored into: only then do lookups gather fields. */
    let fieldStores = false;
    /** Names bound to caught exceptions (`except ValueError as ex`). */
    const caught = new Set<string>();
    walk(u.body, (x) => {
      if (x !== u.body && SCOPES.has(x.type)) return false;
      if (x.type === 'call') {
        const f = field(x, 'function');
        const o = f?.type === 'attribute' ? field(f, 'object') : null;
        if (o?.type === 'identifier' && o.text !== 'self' && PY.saveMethods.has(field(f!, 'attribute')?.text ?? '')) savedObjects.add(o.text);
      }
      return true;
    });

    const hit = (rule: string, n: Node, severity?: RuleHit['severity'], detail?: string, from?: ProbeHit): void => {
      if (mode === 'emit') hits.push({ rule, startLine: line(n), endLine: endLine(n), severity, detail });
      else if (mode === 'probe') probeRun?.out.push({ rule, startLine: line(n), endLine: endLine(n), severity, detail, at: from?.at, via: from?.via });
    };
    /** Request data: error; a caller's data built into the string: warning; data of unknown origin: a note. */
    const sev = (r: 'strong' | 'weak', t?: TV): RuleHit['severity'] =>
      r === 'strong' ? 'error' : t && !t.weak ? 'note' : 'warning';

    const evalArgs = (call: Node): TV => {
      const { pos, kw, splat } = argsOf(call);
      return joinAll([...pos, ...kw.values(), ...splat].map((a) => ev(a)));
    };

    /** Formatting: the result is built; if the template is HTML and data is unescaped, it is HTML-injectable. */
    const format = (template: Node | null, data: TV, whole: TV, parts?: TV[]): TV => {
      const out = built(whole);
      if (!out) return out;
      const text = literalText(template) ?? (template?.type === 'identifier' && typeof consts.get(template.text) === 'string' ? (consts.get(template.text) as string) : null);
      const unsafeData = !!data && !data.clean.has('xss');
      const sqlData = !!data && !data.clean.has('sql');
      // A path template (`"%s/%s"`, `f"{root}/{name}"`) joins a name onto a base; formatted into a message it is no path any more.
      const pathTpl = text !== null && PATH_TEMPLATE.test(text);
      // The values in template order: the first is the base when the template starts with it.
      const vals = parts ?? [data];
      const named = pathTpl && !!pathJoin(/^[a-zA-Z]*["']{1,3}(%|\{)/.test(text!) ? vals : [null, ...vals])?.joined;
      return {
        ...out,
        joined: pathTpl ? out.joined || named : text === null ? out.joined : false,
        html: out.html || (unsafeData && text !== null && HTML_TAG.test(text)),
        sqlText: out.sqlText || (sqlData && text !== null && SQL_TEXT.test(text)),
      };
    };

    const isList = (n: Node | null): boolean =>
      !!n && (n.type === 'list' || n.type === 'list_comprehension' || (n.type === 'identifier' && lists.has(n.text)));

    /** An unbound name: a constant, module or function is no data; anything else is of unknown origin. */
    const identifierValue = (name: string): TV =>
      consts.has(name) || /^[A-Z][A-Z0-9_]*$/.test(name) || alias.has(name) || modules.has(name) || byName.has(name) ? null : dynSource();

    const identifier = (n: Node): TV => {
      if (env.has(n.text)) {
        // The whole object: with whatever was stored in its fields.
        let v = env.get(n.text) ?? null;
        if (fieldStores) {
          const prefix = `${n.text}.`;
          for (const [k, f] of env) if (k.startsWith(prefix)) v = join(v, f);
        }
        return v;
      }
      if (consts.has(n.text) || /^[A-Z][A-Z0-9_]*$/.test(n.text) || alias.has(n.text) || modules.has(n.text) || byName.has(n.text)) return null;
      if (n.text === 'self' || n.text === 'cls') return dynSource();
      return dynSource();
    };

    const ev = (n: Node | null): TV => {
      if (!n) return null;
      switch (n.type) {
        case 'identifier':
          return identifier(n);
        case 'attribute': {
          const obj = field(n, 'object');
          const attr = field(n, 'attribute')?.text ?? '';
          if (obj && isRequestObject(obj) && PY.requestAttrs.has(attr)) return strongSource();
          if (PY.localSourceNames.has(qualify(n))) return localSource();
          if (obj?.type === 'identifier' && (alias.has(obj.text) || /^[A-Z][A-Z0-9_]*$/.test(attr))) return null;
          // A field stored on a local object (`item.meta = x`) taints that field, not its siblings.
          if (obj?.type === 'identifier') return join(env.get(obj.text) ?? (env.has(obj.text) ? null : identifier(obj)), env.get(`${obj.text}.${attr}`) ?? null);
          return ev(obj);
        }
        case 'subscript': {
          const v = field(n, 'value');
          if (v && PY.localSourceNames.has(qualify(v))) return localSource();
          return ev(v);
        }
        case 'call':
          return evCall(n);
        case 'binary_operator': {
          const l = field(n, 'left');
          const r = field(n, 'right');
          const lv = ev(l);
          const rv = ev(r);
          const op = n.children.find((c) => !c.isNamed)?.type;
          if (op === '%') {
            // `tpl % locals()`: only the names the template mentions are formatted in.
            const tpl = literalText(l);
            if (tpl && r?.type === 'call' && /^(locals|vars)$/.test(field(r, 'function')?.text ?? '') && argsOf(r).pos.length === 0) {
              const used = joinAll([...tpl.matchAll(/%\((\w+)\)/g)].map((m) => env.get(m[1]) ?? null));
              return format(l, used, join(lv, used));
            }
            return format(l, rv, join(lv, rv), r?.type === 'tuple' ? kids(r).map((k) => ev(k)) : undefined);
          }
          if (op === '+') {
            // List concatenation builds an argument vector, not a string.
            if (isList(l) || isList(r)) return join(lv, rv);
            const out = format(literalText(l) !== null ? l : r, literalText(l) !== null ? rv : lv, join(lv, rv));
            // `base + "/" + name`: the name is joined onto a directory.
            if (out && l && endsWithSlash(l) && pathJoin([null, rv])?.joined) return { ...out, joined: true };
            return out;
          }
          // Other arithmetic on data yields numbers, which no sink here cares about.
          return null;
        }
        case 'string': {
          const parts = kids(n).filter((k) => k.type === 'interpolation');
          if (!parts.length) return null;
          const vals = parts.map((p) => ev(field(p, 'expression') ?? kids(p)[0] ?? null));
          const data = joinAll(vals);
          return format(n, data, data, vals);
        }
        case 'concatenated_string': {
          const data = joinAll(kids(n).map(ev));
          return data ? format(n, data, data) : null;
        }
        case 'conditional_expression': {
          const ks = kids(n);
          const c = fold(ks[1] ?? null, consts);
          if (c === true) return ev(ks[0] ?? null);
          if (c === false) return ev(ks[2] ?? null);
          return join(ev(ks[0] ?? null), ev(ks[2] ?? null));
        }
        case 'parenthesized_expression':
        case 'await':
        case 'list_splat':
        case 'dictionary_splat':
        case 'starred_expression':
          return ev(kids(n)[0] ?? null);
        case 'keyword_argument':
        case 'pair':
          return ev(field(n, 'value'));
        case 'named_expression': {
          const v = ev(field(n, 'value'));
          const name = field(n, 'name');
          if (name) env.set(name.text, v);
          return v;
        }
        case 'list':
        case 'tuple':
        case 'set':
        case 'dictionary':
        case 'expression_list': {
          // A container of strings is not itself a formatted string (an argument vector stays one).
          const v = joinAll(kids(n).map(ev));
          return v && n.type !== 'expression_list' ? { ...v, built: false, html: false } : v;
        }
        case 'boolean_operator': {
          const op = n.children.find((c) => !c.isNamed)?.type;
          const l = ev(field(n, 'left'));
          const r = ev(field(n, 'right'));
          // `a and b` is b when it is truthy: a check in front does not pass its own value on.
          return op === 'and' ? r : join(l, r);
        }
        case 'list_comprehension':
        case 'generator_expression':
        case 'set_comprehension':
        case 'dictionary_comprehension': {
          const body = field(n, 'body');
          const saved = new Map(env);
          for (const c of kids(n).filter((k) => k.type === 'for_in_clause')) {
            const left = field(c, 'left');
            if (left) bind(left, ev(field(c, 'right')), null);
          }
          const v = ev(body);
          env = saved;
          return v;
        }
        default:
          return null;
      }
    };

    const evCall = (n: Node): TV => {
      const fn = field(n, 'function');
      if (!fn) return null;
      const raw = dotted(fn);
      const qn = qualify(fn);
      if (PY.sourceCalls.has(qn)) return strongSource();
      // `"..." % locals()` formats with every local variable.
      if ((qn === 'locals' || qn === 'vars') && argsOf(n).pos.length === 0) return joinAll(env.values());
      if (PY.localSourceCalls.has(qn)) return localSource();
      if (fn.type === 'attribute') {
        const obj = field(fn, 'object');
        const method = field(fn, 'attribute')?.text ?? '';
        // request.get_json() / request.get_data()
        if (obj && isRequestObject(obj) && PY.requestAttrs.has(method)) return strongSource();
        if (obj?.type === 'identifier' && obj.text === 'self' && PY.handlerSourceMethods.has(method)) return strongSource();
      }
      const san = sanitizerOf(qn, raw);
      if (san) return san === 'all' ? null : sanitize(evalArgs(n), san);
      if (lookup(PY.normalizers, qn)) {
        // `Path(x).resolve()` normalizes its receiver; `os.path.realpath(x)` only its argument.
        const recv = fn.type === 'attribute' && !PY.normalizers.has(qn) ? ev(field(fn, 'object')) : null;
        return normalized(join(recv, evalArgs(n)));
      }
      if (PY.pathJoins.has(qn) || PY.pathJoins.has(raw)) {
        const { pos } = argsOf(n);
        return pathJoin(pos.map((a) => ev(a)));
      }
      if (fn.type === 'attribute' && field(fn, 'attribute')?.text === 'joinpath') {
        return pathJoin([ev(field(fn, 'object')), ...argsOf(n).pos.map((a) => ev(a))]);
      }
      if (PY.propagators.has(qn) || PY.propagators.has(raw)) return evalArgs(n);
      if (fn.type === 'attribute') {
        const method = field(fn, 'attribute')?.text ?? '';
        if (PY.propagatingMethods.has(method)) {
          const recv = ev(field(fn, 'object'));
          if (method === 'format' || method === 'format_map') {
            const data = evalArgs(n);
            return format(field(fn, 'object'), data, join(recv, data), argsOf(n).pos.map((a) => ev(a)));
          }
          if (method === 'join') {
            const data = evalArgs(n);
            return format(field(fn, 'object'), data, join(recv, data));
          }
          if (method === 'replace') return join(recv, evalArgs(n));
          return recv;
        }
      }
      // `is_editable(...)`, `has_perm(...)`: a predicate's answer is a boolean, whatever it was asked about.
      if (/^_*(is|has|can|should|may|must)_[a-z]/.test(calleeName(fn) ?? '')) return null;
      // A function of another staged module, or of this file: use its summary.
      const ext = imported(fn);
      const own = fn.type === 'identifier' || (fn.type === 'attribute' && field(fn, 'object')?.text === 'self') ? calleeName(fn) : undefined;
      const sum = ext ? ext.mod.summary(ext.name) : own ? summaries.get(own) : undefined;
      if (sum) {
        if (!sum.ret) return null;
        if (sum.ret.strong) return strongSource();
        if (sum.ret.weak) {
          // The callee passes its arguments on, made safe for what it sanitized on the way.
          const a = sanitize(evalArgs(n), [...sum.ret.clean]);
          // What came back through a call the callee cannot see into (a file read from the path it was
          // given, a decoder) is derived from the arguments, not the arguments themselves.
          if (a && sum.ret.indirect) return opaque(a);
          return a ? { ...a, built: a.built || sum.ret.built, html: a.html || sum.ret.html } : sum.ret.dyn ? dynSource() : null;
        }
        return { ...sum.ret, weak: false };
      }
      const recv = fn.type === 'attribute' ? ev(field(fn, 'object')) : null;
      const res = opaque(join(recv, evalArgs(n)));
      // `sanitize_filename(x)`, `safe_path(x)`: a helper that says it makes a path safe is taken at its word.
      const name = calleeName(fn) ?? '';
      return PY.pathSanitizerName.test(name) ? sanitize(res, ['path']) : res;
    };

    const bind = (target: Node, value: TV, valueNode: Node | null): void => {
      if (target.type === 'identifier') {
        env.set(target.text, value);
        if (fieldStores) for (const k of [...env.keys()]) if (k.startsWith(`${target.text}.`)) env.delete(k);
        if (valueNode && (valueNode.type === 'list' || valueNode.type === 'tuple' || valueNode.type === 'list_comprehension')) lists.add(target.text);
        else lists.delete(target.text);
        if (valueNode?.type === 'call') {
          const q = qualify(field(valueNode, 'function'));
          if (PY.tarOpeners.has(q)) tarNames.add(target.text);
          if (PY.xmlParserCtors.has(q) && resolvesEntities(valueNode)) unsafeParsers.add(target.text);
        }
      } else if (target.type === 'as_pattern_target') {
        for (const k of kids(target)) bind(k, value, valueNode);
      } else if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list'].includes(target.type)) {
        for (const k of kids(target)) bind(k, value, null);
      } else if (target.type === 'subscript' || target.type === 'attribute') {
        if (target.type === 'subscript' && value?.strong && PY_MORE.sessionObjects.test(dotted(field(target, 'value')))) trustBoundary(target, value, hit);
        if (target.type === 'attribute' && value?.strong && !value.clean.has('xss') && savedObjects.has(baseName(target) ?? '')) {
          hit('py/unescaped-html', target, 'note', 'request data is stored in a model field unescaped; every page that shows it must escape it');
        }
        // `d["k"] = tainted` taints the container (not the other way round); `obj.x[...] = tainted` the field obj.x.
        const base = baseName(target);
        if (base && value && base !== 'self') {
          const key = fieldKey(target) ?? base;
          if (key !== base) fieldStores = true;
          env.set(key, join(env.get(key) ?? null, value));
          if (key !== base && !env.has(base)) env.set(base, identifierValue(base));
        }
      }
    };

    const assign = (a: Node): void => {
      const left = field(a, 'left');
      const right = field(a, 'right');
      if (!left || !right) return;
      if (right.type === 'assignment') {
        assign(right);
        bind(left, ev(field(right, 'left')), null);
        return;
      }
      bind(left, ev(right), right);
    };

    const resolvesEntities = (call: Node): boolean => {
      const { kw } = argsOf(call);
      const re = kw.get('resolve_entities');
      const net = kw.get('no_network');
      return (!!re && re.text !== 'False') || (!!net && net.text === 'False');
    };

    const checkCall = (call: Node): void => {
      const fn = field(call, 'function');
      if (!fn) return;
      const qn = qualify(fn);
      const seg = lastSegment(qn);
      const { pos, kw, splat } = argsOf(call);
      const first = pos[0] ?? null;

      // CWE-22: file-system sinks.
      const pathIdx = PY.pathSinks.get(qn) ?? PY.pathSinks.get(`*.${seg}`);
      let pathHit = false;
      if (pathIdx && (PY.pathSinks.has(qn) || fn.type === 'attribute')) {
        for (const i of pathIdx) {
          const arg = i < 0 ? (fn.type === 'attribute' ? field(fn, 'object') : null) : pos[i];
          const r = arg ? reaches(ev(arg), 'path', 'weak') : null;
          if (r) {
            // A library opening the path its caller gives it is normal; only request data is evidence.
            hit('py/path-injection', call, r === 'strong' ? 'error' : 'note', r === 'strong' ? undefined : "a path built from the function's parameters");
            pathHit = true;
            break;
          }
        }
      }
      // CWE-22: a name joined onto a base directory or namespace, used with no containment check.
      if (!pathHit && !isPathInspector(fn, qn)) {
        for (const a of [...pos, ...kw.values()]) {
          if (!/^(identifier|call|attribute|subscript|binary_operator|string)$/.test(a.type)) continue;
          const t = ev(a);
          if (unconfined(t)) {
            hit('py/path-join-traversal', call, t!.strong ? 'warning' : 'note');
            break;
          }
        }
      }
      // CWE-22: tar slip.
      if (fn.type === 'attribute' && (seg === 'extract' || seg === 'extractall')) {
        const obj = field(fn, 'object');
        const fromTar =
          (obj?.type === 'identifier' && tarNames.has(obj.text)) ||
          (obj?.type === 'call' && PY.tarOpeners.has(qualify(field(obj, 'function'))));
        const filter = kw.get('filter');
        const safeFilter = filter ? /^['"](data|tar)['"]$/.test(filter.text) : false;
        if (fromTar && !safeFilter && !kw.has('members') && !insideIf(call, u.node)) hit('py/tarslip', call);
      }
      // CWE-78.
      if (PY.shellSinks.has(qn)) {
        const arg = first ?? kw.get('command') ?? kw.get('cmd');
        const t = arg ? ev(arg) : null;
        const r = reaches(t, 'cmd', 'dyn');
        if (r) hit('py/command-injection', call, sev(r, t));
      } else if (PY.processSinks.has(qn)) {
        const arg = first ?? kw.get('args');
        const shell = kw.get('shell');
        const shellOn = !!shell && shell.text !== 'False' && shell.text !== '0' && shell.text !== 'None';
        const listForm = !!arg && (arg.type === 'list' || arg.type === 'tuple' || arg.type === 'list_comprehension' || (arg.type === 'identifier' && lists.has(arg.text)));
        if (arg && (shellOn || !listForm)) {
          const t = ev(arg);
          const r = reaches(t, 'cmd', shellOn ? 'dyn' : 'strong');
          if (r) hit('py/command-injection', call, sev(r, t));
        }
      } else if (first && isCommandRunner(fn)) {
        const t = ev(first);
        const r = reaches(t, 'cmd', 'dyn');
        if (r) hit('py/command-injection', call, sev(r, t), 'a command line built by string formatting is run by a shell');
      }
      // CWE-89: the DB-API and ORM raw-SQL methods, and any query helper handed a formatted SQL statement.
      const sqlArg = first ?? kw.get('sql') ?? kw.get('query') ?? kw.get('operation');
      // Values passed as parameters: formatting is then most likely for a table or column name.
      const parameterized = pos.length > 1 || kw.has('params') || kw.has('parameters') || kw.has('args');
      if (sqlArg && fn.type === 'attribute' && PY.sqlMethods.has(seg)) {
        const t = ev(sqlArg);
        const r = reaches(t, 'sql', 'weak');
        if (r) hit('py/sql-injection', call, sev(r));
        else if (t?.sqlText && !parameterized && reaches(t, 'sql', 'dyn')) hit('py/sql-injection', call, 'note', 'SQL built by string formatting from data of unknown origin');
      } else if (PY.sqlHelper.test(calleeName(fn) ?? '')) {
        // A helper may take the connection first: look for the statement among the arguments.
        const all = [...pos, ...kw.values()];
        const i = all.findIndex((a) => ev(a)?.sqlText);
        const t = i >= 0 ? ev(all[i]) : null;
        const r = reaches(t, 'sql', 'weak');
        const more = i >= 0 && i < pos.length - 1;
        if (t?.sqlText && (r || (!more && reaches(t, 'sql', 'dyn')))) hit('py/sql-injection', call, sev(r ?? 'weak', t), 'a SQL statement built by string formatting');
      }
      // CWE-94/95.
      if (PY.codeSinks.has(qn) && first) {
        const r = reaches(ev(first), 'code', 'weak');
        if (r) hit('py/code-injection', call, sev(r));
      }
      // CWE-1336: server-side template injection.
      if ((PY.templateSinks.has(qn) || (fn.type === 'attribute' && seg === 'from_string')) && first) {
        const r = reaches(ev(first), 'code', 'weak');
        if (r) hit('py/template-injection', call, sev(r));
      }
      // CWE-601.
      if ((PY.redirectSinks.has(qn) || PY.redirectSinks.has(dotted(fn))) && first) {
        if (reaches(ev(first), 'url')) hit('py/open-redirect', call);
      }
      // CWE-918.
      if (PY.ssrfSinks.has(qn)) {
        const arg = qn === 'requests.request' || qn === 'httpx.request' ? pos[1] ?? kw.get('url') : first ?? kw.get('url');
        if (arg && reaches(ev(arg), 'url')) hit('py/ssrf', call);
      }
      // CWE-611.
      if (PY.xmlParserCtors.has(qn) && resolvesEntities(call)) hit('py/xxe', call, 'error', 'the parser resolves external entities');
      if (PY.xmlParsers.has(qn) && first) {
        const parser = kw.get('parser') ?? pos[1];
        if (parser?.type === 'identifier' && unsafeParsers.has(parser.text)) hit('py/xxe', call, 'error', 'parsed with an entity-resolving parser');
        else if (!parser && reaches(ev(first), 'xml')) hit('py/xxe', call, 'warning', 'request data parsed by lxml with its default parser, which expands entities');
      }
      // CWE-347.
      if (PY.jwtDecode.has(qn)) {
        const verify = kw.get('verify');
        const options = kw.get('options');
        const algs = kw.get('algorithms');
        const off =
          (verify && /^(False|0|None)$/.test(verify.text)) ||
          (options && /["']verify_signature["']\s*:\s*(False|0|None)\b/.test(options.text)) ||
          (algs && /["']none["']/i.test(algs.text));
        if (off) hit('py/jwt-no-verify', call);
      }
      crossCall(call, fn);
      // CWE-79: data marked safe as HTML or written straight into the response.
      if (PY.htmlSinks.has(qn) && first) {
        const t = ev(first);
        const r = reaches(t, 'xss');
        if (r) hit('py/reflected-xss', call);
        else if (t?.html && reaches(t, 'xss', 'dyn')) hit('py/unescaped-html', call, t.strong ? 'error' : t.weak ? 'warning' : 'note');
        else if (t && !t.clean.has('xss') && /mark_safe|Markup|SafeString/.test(qn) && first.type !== 'string')
          hit('py/unescaped-html', call, 'note', 'a value not escaped here is marked safe HTML');
      }
      if (fn.type === 'attribute' && (seg === 'write' || seg === 'send') && first) {
        const recv = dotted(field(fn, 'object'));
        if (PY.responseWriters.test(recv) && (recv !== 'self' || u.isRoute || /handler|view|resource/i.test(u.name))) {
          const t = ev(first);
          if (reaches(t, 'xss')) hit('py/reflected-xss', call);
          else if (t?.html && reaches(t, 'xss', 'dyn')) hit('py/unescaped-html', call, t.weak ? 'warning' : 'note');
          else if (t && !t.clean.has('xss') && isExceptionText(first)) {
            hit('py/unescaped-html', call, 'note', "an exception's message usually repeats the input that caused it");
          }
        }
      }
      // CWE-79: JSON dropped into a page. json.dumps leaves < > & as they are, so "</script>" in the data ends the script block.
      if (PY.templateRenderers.test(seg)) {
        const values = [...pos, ...kw.values()].flatMap((a) => (a.type === 'dictionary' ? kids(a).filter((k) => k.type === 'pair').map((k) => field(k, 'value')) : [a]));
        for (const v of values) {
          if (v?.type !== 'call' || !PY.jsonDumps.has(qualify(field(v, 'function')))) continue;
          const ja = argsOf(v);
          if (ja.kw.has('cls') || ja.kw.has('default') || !ja.pos[0]) continue;
          const t = ev(ja.pos[0]);
          if (t && !t.clean.has('xss')) hit('py/json-in-html', v, t.strong ? 'warning' : 'note');
        }
      }
      // CWE-502.
      if (PY.pickleSinks.has(qn)) {
        const arg = first ?? kw.get('data');
        const t = arg ? ev(arg) : null;
        const r = reaches(t, 'deser', 'weak') ?? (t?.weak ? 'weak' : null);
        if (r) hit('py/unsafe-deserialization', call, sev(r));
      }
      if (PY.yamlLoads.has(qn)) {
        const loader = kw.get('Loader') ?? pos[1];
        if (!loader || !/Safe|Base/.test(loader.text)) {
          hit('py/unsafe-yaml-load', call, first && reaches(ev(first), 'deser') ? 'error' : undefined);
        }
      } else if (PY.yamlUnsafe.has(qn)) {
        hit('py/unsafe-yaml-load', call);
      }
      // CWE-79: markdown output is HTML that keeps any raw HTML of its input.
      if ((PY.markdownSinks.has(qn) || (fn.type === 'attribute' && seg === 'markdown' && /^(markdown|md|mistune)$/.test(dotted(field(fn, 'object'))))) && first) {
        const t = ev(first);
        if (t && !t.clean.has('xss')) hit('py/unescaped-html', call, t.strong ? 'error' : t.weak ? 'warning' : 'note', 'markdown keeps raw HTML of its input: escape or bleach it');
      }
      // CWE-79: HTML built around request data, handed on to anything.
      if (!PY.htmlSinks.has(qn) && !sanitizerOf(qn, dotted(fn))) {
        for (const a of [...pos, ...kw.values()]) {
          const t = a.type === 'string' || a.type === 'identifier' || a.type === 'binary_operator' || a.type === 'call' ? ev(a) : null;
          if (t?.html && t.strong && !t.clean.has('xss')) {
            hit('py/unescaped-html', call, 'error');
            break;
          }
        }
      }
      // CWE-79: jinja2 without autoescape (a bare Environment counts when it is given a loader or options).
      if (PY.jinjaCtors.has(qn) && (qn !== 'Environment' || kw.has('loader') || splat.length > 0)) {
        const ae = kw.get('autoescape');
        const viaSplat = splat.some((s) => splatSetsAutoescape(s));
        if (!viaSplat && (!ae || ae.text === 'False' || ae.text === 'None' || ae.text === '0')) hit('py/jinja2-autoescape-false', call);
      }
      moreSinks(call, fn, qn, pos, kw, alias, ev, hit);
    };

    /** `Environment(**opts)` where opts is a dict literal (or a name bound to one) with an autoescape key. */
    const splatSetsAutoescape = (s: Node): boolean => {
      const inner = kids(s)[0];
      if (!inner) return false;
      if (/autoescape/.test(inner.text)) return true;
      if (inner.type !== 'identifier') return true; // unknown options: may well set it
      let found = false;
      walk(u.body, (x) => {
        if (x.type === 'assignment' && field(x, 'left')?.text === inner.text && /autoescape/.test(field(x, 'right')?.text ?? '')) found = true;
        if (x.type === 'subscript' && field(x, 'value')?.text === inner.text && /autoescape/.test(x.text)) found = true;
        if (x.type === 'call' && /^\w+\.update$/.test(dotted(field(x, 'function'))) && dotted(field(x, 'function')).startsWith(inner.text + '.') && /autoescape/.test(x.text)) found = true;
        return !found;
      });
      return found;
    };

    /** Calls that inspect, transform or report a path rather than use it (checks, joins, logging, errors). */
    const isPathInspector = (fn: Node, qn: string): boolean => {
      const name = calleeName(fn) ?? '';
      if (PY.pathInspectors.test(qn) || PY.pathInspectors.test(name) || /(Error|Exception|Warning)$/.test(name)) return true;
      if (sanitizerOf(qn, dotted(fn)) || lookup(PY.normalizers, qn) || PY.pathJoins.has(qn) || PY.propagators.has(qn)) return true;
      // A lookup keyed by the path (`store.get(path)`, `.read(path)`) uses it; string methods only transform it.
      const lookupMethod = /^(get|pop|setdefault|read)$/.test(name);
      return fn.type === 'attribute' && ((PY.propagatingMethods.has(name) && !lookupMethod) || PY.mutatingMethods.has(name) || name === 'joinpath');
    };

    /** `ex`, `ex.message`, `str(ex)` where ex is a caught exception. */
    const isExceptionText = (n: Node): boolean => {
      const m = /^(?:str\(|unicode\(|repr\()?\s*([A-Za-z_]\w*)(?:\.(?:message|msg|args|strerror|description))?\s*\)?$/.exec(n.text);
      return !!m && caught.has(m[1]);
    };

    const isCommandRunner = (fn: Node): boolean => {
      if (fn.type === 'subscript') return /^['"]cmd\.\w+['"]$/.test(field(fn, 'subscript')?.text ?? '');
      const name = (calleeName(fn) ?? '').replace(/^_+/, '');
      if (PY.commandRunner.test(name)) return true;
      if (fn.type === 'attribute' && PY.runnerMethods.has(name)) {
        const recv = dotted(field(fn, 'object'));
        return PY.runnerReceiver.test(lastSegment(recv).replace(/^_+/, '')) || /^(utils|processutils)$/.test(recv);
      }
      return false;
    };

    /**
     * Request data handed to a function of another staged module (or, while probing, of this one):
     * the sinks it reaches there are reported here, at the call, naming the sink's file and line.
     */
    const crossCall = (call: Node, fn: Node): void => {
      if (mode !== 'emit' && mode !== 'probe') return;
      const target = imported(fn) ?? (mode === 'probe' ? ownCallee(fn, u) : undefined);
      if (!target) return;
      const params = target.mod.params(target.name);
      if (!params?.length) return;
      const { pos, kw } = argsOf(call);
      const given: Array<[string, Node]> = [];
      pos.forEach((a, i) => {
        if (i < params.length && a.type !== 'list_splat' && a.type !== 'dictionary_splat') given.push([params[i], a]);
      });
      for (const [k, v] of kw) if (params.includes(k)) given.push([k, v]);
      const seen = new Set<string>();
      for (const [param, a] of given) {
        const t = ev(a);
        if (!t?.strong) continue;
        const arg: Taint = { ...t, weak: false, dyn: false, indirect: false };
        for (const ph of target.mod.probe(target.name, param, arg)) {
          const k = `${ph.rule}|${ph.at}`;
          if (seen.has(k)) continue;
          seen.add(k);
          const via = [`${target.name}()`, ...ph.via];
          hit(ph.rule, call, ph.severity, `request data passed to ${via.join(' -> ')} reaches the sink at ${ph.at}`, { ...ph, via });
        }
      }
    };

    /** Calls in an expression, not inside nested scopes or nested statement blocks. */
    const checkCalls = (n: Node | null): void => {
      if (!n) return;
      walk(n, (x) => {
        if (x !== n && (SCOPES.has(x.type) || x.type === 'block')) return false;
        if (x.type === 'call') checkCall(x);
        return true;
      });
    };

    /** Marks a value validated (all kinds) or checked for `kinds`. */
    const clear = (n: Node | null, kinds: readonly SinkKind[] | 'all'): void => {
      const name = n ? baseName(n) : null;
      if (!name || name === 'self') return;
      const t = env.get(name);
      if (!t && !(n && n.type === 'identifier')) return;
      if (kinds === 'all') env.set(name, null);
      else env.set(name, sanitize(t ?? null, kinds));
      if (fieldStores) for (const k of [...env.keys()]) if (k.startsWith(`${name}.`)) env.set(k, kinds === 'all' ? null : sanitize(env.get(k) ?? null, kinds));
    };

    /**
     * Checks in a condition or a statement that validate a value from here on: a validator call, an
     * allow-list membership test, a pattern match, a normalized path's prefix test, a `..` test.
     */
    const applyGuard = (cond: Node | null): void => {
      if (!cond) return;
      walk(cond, (x) => {
        if (SCOPES.has(x.type)) return false;
        if (x.type === 'call') {
          const fn = field(x, 'function');
          const name = (calleeName(fn) ?? '').replace(/^_+/, '');
          const args = argsOf(x).pos;
          const qn = qualify(fn);
          if (fn?.type === 'attribute' && /^(startswith|is_relative_to)$/.test(name)) {
            const obj = field(fn, 'object');
            const t = obj ? ev(obj) : null;
            if (obj && t?.normalized) clear(obj, ['path']);
          } else if (/^re\.(match|fullmatch|search)$/.test(qn) || (fn?.type === 'attribute' && /^(match|fullmatch)$/.test(name))) {
            clear(args[args.length - 1] ?? null, 'all');
          } else if (/^os\.path\.(commonpath|commonprefix|isabs)$/.test(qn)) {
            walk(x, (y) => (y.type === 'identifier' && clear(y, ['path']), true));
          } else if (PY.validator.test(name) && name !== 'escape') {
            for (const a of args) clear(a, 'all');
          }
          return true;
        }
        if (x.type === 'comparison_operator' && /^(==|!=)$/.test(compOps(x))) {
          // `os.path.commonpath([root, p]) == root`: a containment test whichever way it is used.
          const l = kids(x)[0];
          if (l && /^os\.path\.(commonpath|commonprefix)/.test(qualify(field(l, 'function')))) walk(l, (y) => (y.type === 'identifier' && clear(y, ['path']), true));
        }
        return true;
      });
    };

    type Fact = [Node, readonly SinkKind[] | 'all'];
    /**
     * What a condition proves about values where it is `positive` (true) or not: `x in ALLOWED` and
     * `x == "lit"` pin x down where true; `".." in p` rules out traversal where false.
     */
    const facts = (c: Node | null, positive: boolean): Fact[] => {
      if (!c) return [];
      switch (c.type) {
        case 'parenthesized_expression':
          return facts(kids(c)[0] ?? null, positive);
        case 'not_operator':
          return facts(field(c, 'argument'), !positive);
        case 'boolean_operator': {
          const op = c.children.find((k) => !k.isNamed)?.type;
          const l = field(c, 'left');
          const r = field(c, 'right');
          if (op === 'and' && positive) return [...facts(l, true), ...facts(r, true)];
          if (op === 'or' && !positive) return [...facts(l, false), ...facts(r, false)];
          return [];
        }
        case 'comparison_operator': {
          const ks = kids(c);
          if (ks.length !== 2) return [];
          const [l, r] = ks;
          const ops = compOps(c);
          if (ops === 'in' || ops === 'not in') {
            const holdsIn = ops === 'in' ? positive : !positive;
            if (l.type === 'string') {
              // A substring test: where the dangerous substring is absent.
              if (holdsIn) return [];
              const v = stringValue(l) ?? '';
              const out: Fact[] = [];
              if (/\.\.|\//.test(v)) out.push([r, ['path']]);
              if (/[;&|`$]/.test(v)) out.push([r, ['cmd']]);
              return out;
            }
            // Pinning one entry (`d["k"] in ALLOWED`) says nothing about the rest of the container.
            return holdsIn && r.type !== 'string' && l.type !== 'subscript' ? [[l, 'all']] : [];
          }
          if (ops === '==' || ops === 'is' || ops === '!=' || ops === 'is not') {
            const eq = ops === '==' || ops === 'is' ? positive : !positive;
            const lit = literal(r, new Map());
            return eq && lit !== NO && lit !== null && l.type !== 'subscript' ? [[l, 'all']] : [];
          }
          return [];
        }
        default:
          return [];
      }
    };
    const applyFacts = (fs: Fact[]): void => {
      for (const [n, k] of fs) clear(n, k);
    };

    const exitsBlock = (b: Node | null): boolean => {
      if (!b) return false;
      const ks = kids(b).filter((k) => k.type !== 'comment');
      const last = ks[ks.length - 1];
      if (!last) return false;
      if (/^(return_statement|raise_statement|continue_statement|break_statement)$/.test(last.type)) return true;
      if (last.type === 'expression_statement') {
        const c = kids(last)[0];
        if (c?.type === 'call') {
          const q = qualify(field(c, 'function'));
          return PY.noReturn.has(q) || PY.noReturn.has(dotted(field(c, 'function')));
        }
      }
      if (last.type === 'if_statement') {
        const alts = kids(last).filter((k) => k.type === 'elif_clause' || k.type === 'else_clause');
        return exitsBlock(field(last, 'consequence')) && alts.some((a) => a.type === 'else_clause') && alts.every((a) => exitsBlock(field(a, 'consequence') ?? field(a, 'body') ?? kids(a).find((k) => k.type === 'block') ?? null));
      }
      return false;
    };

    const mergeEnvs = (envs: Env[]): Env => {
      if (envs.length === 0) return new Map(env);
      const out: Env = new Map();
      for (const e of envs) for (const [k, v] of e) out.set(k, out.has(k) ? join(out.get(k) ?? null, v) : v);
      // A name bound in only some branches keeps its value where it was bound.
      return out;
    };

    /** Runs `f` on a copy of the environment; returns the environment after it, or null when the block exits. */
    const branch = (f: () => void, block: Node | null): Env | null => {
      const saved = env;
      env = new Map(saved);
      f();
      const after = env;
      env = saved;
      return exitsBlock(block) ? null : after;
    };

    const ifChain = (s: Node): void => {
      // if / elif / else, folding constant conditions and joining the environments of the branches that flow on.
      const clauses: { cond: Node | null; body: Node | null }[] = [{ cond: field(s, 'condition'), body: field(s, 'consequence') }];
      for (const alt of kids(s)) {
        if (alt.type === 'elif_clause') clauses.push({ cond: field(alt, 'condition'), body: field(alt, 'consequence') });
        else if (alt.type === 'else_clause') clauses.push({ cond: null, body: field(alt, 'body') ?? kids(alt).find((k) => k.type === 'block') ?? null });
      }
      const outs: Env[] = [];
      let fallsThrough = true;
      /** What the conditions of the clauses before this one prove by being false. */
      const negated: Fact[] = [];
      for (const c of clauses) {
        if (c.cond) {
          const v = fold(c.cond, consts);
          checkCalls(c.cond);
          applyGuard(c.cond);
          if (v === false) continue;
          const cond = c.cond;
          const e = branch(() => {
            applyFacts(negated);
            applyFacts(facts(cond, true));
            block(c.body);
          }, c.body);
          if (e) outs.push(e);
          negated.push(...facts(cond, false));
          if (v === true) {
            fallsThrough = false;
            break;
          }
        } else {
          const e = branch(() => {
            applyFacts(negated);
            block(c.body);
          }, c.body);
          if (e) outs.push(e);
          fallsThrough = false;
          break;
        }
      }
      if (fallsThrough) {
        const saved = env;
        env = new Map(env);
        applyFacts(negated);
        outs.push(env);
        env = saved;
      }
      env = outs.length ? mergeEnvs(outs) : new Map(env);
    };

    const stmt = (s: Node): void => {
      switch (s.type) {
        case 'function_definition':
        case 'class_definition':
        case 'decorated_definition':
          return;
        case 'expression_statement': {
          checkCalls(s);
          for (const e of kids(s)) {
            if (e.type === 'assignment') assign(e);
            else if (e.type === 'augmented_assignment') {
              const left = field(e, 'left');
              const rv = ev(field(e, 'right'));
              if (left?.type === 'identifier') {
                const lv = env.get(left.text) ?? null;
                env.set(left.text, lists.has(left.text) ? join(lv, rv) : format(field(e, 'right'), rv, join(lv, rv)));
              }
            } else if (e.type === 'yield') {
              const y = ev(kids(e)[0] ?? null);
              returned = join(returned, y);
              if (unconfined(y)) hit('py/path-join-traversal', e, y!.strong ? 'warning' : 'note', 'the joined path is yielded to the caller');
            } else if (e.type === 'call') {
              const fn = field(e, 'function');
              const method = fn?.type === 'attribute' ? field(fn, 'attribute')?.text ?? '' : '';
              if (fn?.type === 'attribute' && PY.mutatingMethods.has(method)) {
                const target = baseName(field(fn, 'object') ?? fn);
                if (target && target !== 'self') env.set(target, join(env.get(target) ?? null, evalArgs(e)));
              } else {
                applyGuard(e);
              }
            }
          }
          return;
        }
        case 'assert_statement':
          checkCalls(s);
          applyGuard(s);
          applyFacts(facts(kids(s)[0] ?? null, true));
          return;
        case 'with_statement': {
          for (const clause of kids(s).filter((k) => k.type === 'with_clause')) {
            checkCalls(clause);
            for (const item of kids(clause)) {
              const v = field(item, 'value') ?? kids(item)[0];
              if (v?.type === 'as_pattern') {
                const expr = kids(v)[0] ?? null;
                const target = field(v, 'alias');
                if (target) bind(target, ev(expr), expr);
              }
            }
          }
          block(field(s, 'body'));
          return;
        }
        case 'for_statement': {
          checkCalls(field(s, 'right'));
          const left = field(s, 'left');
          const body = field(s, 'body');
          const before = new Map(env);
          if (left) bind(left, ev(field(s, 'right')), null);
          block(body);
          env = mergeEnvs([before, env]);
          block(field(s, 'alternative'));
          return;
        }
        case 'while_statement': {
          const v = fold(field(s, 'condition'), consts);
          checkCalls(field(s, 'condition'));
          if (v === false) return;
          const before = new Map(env);
          block(field(s, 'body'));
          env = mergeEnvs([before, env]);
          block(field(s, 'alternative'));
          return;
        }
        case 'if_statement':
          ifChain(s);
          return;
        case 'else_clause':
        case 'finally_clause':
          block(field(s, 'body') ?? kids(s).find((k) => k.type === 'block') ?? null);
          return;
        case 'try_statement': {
          const body = field(s, 'body');
          const before = new Map(env);
          block(body);
          const outs: Env[] = [env];
          for (const h of kids(s)) {
            if (h.type === 'except_clause' || h.type === 'except_group_clause') {
              for (const k of kids(h)) {
                const name = k.type === 'as_pattern' ? field(k, 'alias') : null;
                walk(name ?? k, (y) => (name && y.type === 'identifier' && caught.add(y.text), !!name));
              }
              const hb = kids(h).find((k) => k.type === 'block') ?? null;
              const e = branch(() => {
                env = mergeEnvs([before, env]);
                block(hb);
              }, hb);
              if (e) outs.push(e);
            }
          }
          env = mergeEnvs(outs);
          for (const h of kids(s)) if (h.type === 'else_clause' || h.type === 'finally_clause') stmt(h);
          return;
        }
        case 'return_statement': {
          checkCalls(s);
          let e = kids(s)[0] ?? null;
          const whole = ev(e);
          returned = join(returned, whole);
          if (unconfined(whole)) hit('py/path-join-traversal', s, whole!.strong ? 'warning' : 'note', 'the joined path is returned to the caller');
          if (e && (e.type === 'expression_list' || e.type === 'tuple')) e = kids(e)[0] ?? null;
          const t = e === kids(s)[0] ? whole : ev(e);
          if (u.isRoute && e && reaches(t, 'xss')) hit('py/reflected-xss', s);
          else if (t?.html && reaches(t, 'xss', 'dyn')) hit('py/unescaped-html', s, t.strong ? 'error' : 'note', 'HTML returned to the caller');
          return;
        }
        case 'block':
        case 'module':
          block(s);
          return;
        default:
          // match and simple statements: check their expressions, walk their blocks.
          for (const k of kids(s)) {
            if (k.type === 'block') block(k);
            else if (/_clause$|^case_/.test(k.type)) stmt(k);
            else {
              checkCalls(k);
              if (k.type === 'yield') returned = join(returned, ev(kids(k)[0] ?? null));
            }
          }
      }
    };

    const block = (b: Node | null): void => {
      if (!b) return;
      for (const s of kids(b)) stmt(s);
    };

    block(u.body);

    if (mode === 'strong') {
      // Record which same-file functions receive request data at a call site.
      walk(u.body, (x) => {
        if (x !== u.body && SCOPES.has(x.type)) return false;
        if (x.type !== 'call') return true;
        const name = calleeName(field(x, 'function'));
        const target = name ? byName.get(name) : undefined;
        if (!target) return true;
        const { pos, kw } = argsOf(x);
        pos.forEach((a, i) => {
          if (i < target.params.length && isRequestData(ev(a))) addStrong(target.name, target.params[i]);
        });
        for (const [k, v] of kw) if (target.params.includes(k) && isRequestData(ev(v))) addStrong(target.name, k);
        return true;
      });
    }
    return returned;
  };

  /** A caller's or client's name joined onto a base and not confined to it since. */
  const unconfined = (t: TV): boolean => !!t && t.joined && (t.strong || t.weak) && !t.clean.has('path');

  /** Client data not yet checked for anything: what makes a callee's parameter a source. */
  const isRequestData = (t: TV): boolean => !!t && t.strong && t.clean.size === 0;

  const addStrong = (fn: string, p: string): void => {
    let s = strongParams.get(fn);
    if (!s) strongParams.set(fn, (s = new Set()));
    s.add(p);
  };

  // Inter-procedural rounds are only worth their cost when the file calls its own functions.
  let callsOwn = false;
  if (byName.size) {
    walk(root, (x) => {
      if (callsOwn) return false;
      if (x.type === 'call') {
        const name = calleeName(field(x, 'function'));
        if (name && byName.has(name)) callsOwn = true;
      }
      return true;
    });
  }
  /** Return summaries (two rounds: helpers of helpers). Reentrant: a cycle of modules sees the rounds done so far. */
  let summaryState: 'none' | 'running' | 'done' = 'none';
  const ensureSummaries = (): void => {
    if (summaryState !== 'none') return;
    summaryState = 'running';
    try {
      for (let round = 0; round < 2; round++) {
        for (const u of units) if (u.node !== root) summaries.set(u.name, { ret: analyze(u, 'summary') });
      }
    } finally {
      summaryState = 'done';
    }
  };

  const methodSummaries = new Map<string, Summary>();
  const probes = new Map<string, ProbeHit[]>();
  const baselines = new Map<string, Set<string>>();
  const probing = new Set<string>();
  const foundKey = (h: Found, sev: string): string => `${h.rule}|${h.startLine}|${sev}|${h.at ?? ''}`;
  const severityOf = (h: Found): NonNullable<RuleHit['severity']> => h.severity ?? RULES.get(h.rule)?.severity ?? 'warning';

  const probe = (name: string, param: string, taint: Taint): ProbeHit[] => {
    const u = exported(name);
    if (!u || !u.params.includes(param)) return [];
    const key = `${name}|${param}|${taintKey(taint)}`;
    const memo = probes.get(key);
    if (memo) return memo;
    // A cycle of calls (recursion, modules importing each other) ends here.
    if (probing.has(key) || (xf && !xf.project.enter())) return [];
    probing.add(key);
    try {
      ensureSummaries();
      let base = baselines.get(name);
      if (!base) {
        const out: Found[] = [];
        analyze(u, 'probe', { param: null, taint: null, out });
        baselines.set(name, (base = new Set(out.map((h) => foundKey(h, severityOf(h))))));
      }
      const out: Found[] = [];
      analyze(u, 'probe', { param, taint, out });
      const res: ProbeHit[] = [];
      const seen = new Set<string>();
      for (const h of out) {
        const sev = severityOf(h);
        // Only what the caller's data adds, and only what would block: the function's own findings are its own.
        if (sev === 'note' || base.has(foundKey(h, sev))) continue;
        const at = h.at ?? `${modPath}:${h.startLine}`;
        const k = `${h.rule}|${at}`;
        if (seen.has(k)) continue;
        seen.add(k);
        res.push({ rule: h.rule, severity: sev, at, via: h.via ?? [] });
      }
      probes.set(key, res);
      return res;
    } finally {
      probing.delete(key);
      xf?.project.leave();
    }
  };

  let emitted: RuleHit[] | undefined;
  const emit = (): RuleHit[] => {
    if (emitted) return emitted;
    if (callsOwn) {
      ensureSummaries();
      // Which parameters receive request data.
      for (let round = 0; round < 2; round++) {
        const before = [...strongParams.values()].reduce((n, s) => n + s.size, 0);
        for (const u of units) analyze(u, 'strong');
        if ([...strongParams.values()].reduce((n, s) => n + s.size, 0) === before) break;
      }
    }
    for (const u of units) analyze(u, 'emit');
    credentials(root, hits);
    cryptoAndRandomness(root, qualify, hits);
    return (emitted = hits);
  };

  const self: PyModule = {
    path: modPath,
    params: (name) => exported(name)?.params,
    hasClass: (name) => classes.has(name),
    summary: (name) => {
      const u = exported(name);
      if (!u) return undefined;
      const method = !topLevel.has(name);
      if (summaryState === 'none' || (method && !methodSummaries.has(name))) {
        // Asked from another module: a nested analysis, bounded like a probe.
        if (xf && !xf.project.enter()) return undefined;
        try {
          ensureSummaries();
          // Same-file summaries are by bare name; a method's own is worked out for it alone.
          if (method && !methodSummaries.has(name)) {
            methodSummaries.set(name, { ret: null });
            methodSummaries.set(name, { ret: analyze(u, 'summary') });
          }
        } finally {
          xf?.project.leave();
        }
      }
      return method ? methodSummaries.get(name) : summaries.get(name);
    },
    probe,
    binding: (local) => xf?.bindings.get(local),
    emit,
  };
  return self;
}

/** A path template: a placeholder right after a slash, and nothing that makes it a URL, markup or a sentence. */
const PATH_TEMPLATE = /^[a-zA-Z]*["']{1,3}[^\s<>?=:;'"]*\/(%[-#0-9.]*[sr]|\{[^}]*\})[^\s<>?=:;'"]*["']{1,3}$/;

/** `base + "/"`: the left side of a concatenation ends in a directory separator. */
function endsWithSlash(n: Node): boolean {
  let cur: Node | null = n;
  while (cur?.type === 'binary_operator') cur = field(cur, 'right');
  if (!cur || cur.type !== 'string' || kids(cur).some((k) => k.type === 'interpolation')) return false;
  return /\/["']{1,3}$/.test(cur.text) && !/:\/\//.test(cur.text);
}

/** `obj.field[...] = v` / `obj.field = v` -> "obj.field": the field of a local object that a store writes. */
function fieldKey(n: Node): string | null {
  let cur: Node | null = n;
  while (cur) {
    if (cur.type === 'attribute') {
      const obj = field(cur, 'object');
      if (obj?.type === 'identifier') return `${obj.text}.${field(cur, 'attribute')?.text ?? ''}`;
      cur = obj;
    } else if (cur.type === 'subscript') cur = field(cur, 'value');
    else return null;
  }
  return null;
}

/** The variable an expression reads from: `x`, `x[...]`, `x.attr` -> x. */
function baseName(n: Node): string | null {
  let cur: Node | null = n;
  while (cur) {
    if (cur.type === 'identifier') return cur.text;
    if (cur.type === 'subscript') cur = field(cur, 'value');
    else if (cur.type === 'attribute') cur = field(cur, 'object');
    else if (cur.type === 'parenthesized_expression') cur = kids(cur)[0] ?? null;
    else return null;
  }
  return null;
}

function insideIf(n: Node, stop: Node): boolean {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) {
    if (p.type === 'if_statement' || p.type === 'elif_clause' || p.type === 'else_clause') return true;
  }
  return false;
}

function credentials(root: Node, hits: RuleHit[]): void {
  const check = (nameNode: Node | null, valueNode: Node | null, at: Node): void => {
    if (!nameNode || !valueNode) return;
    let name = nameNode.type === 'attribute' ? field(nameNode, 'attribute')?.text ?? '' : nameNode.text;
    const sv = stringValue(nameNode);
    if (sv !== null) name = sv;
    if (!/^[A-Za-z_][\w-]*$/.test(name)) return;
    const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_');
    if (!CREDENTIAL_NAME.test(snake)) return;
    const value = stringValue(valueNode);
    if (value === null || PLACEHOLDER.test(value.trim()) || value.toLowerCase() === name.toLowerCase()) return;
    hits.push({ rule: 'py/hardcoded-credentials', startLine: line(at), endLine: endLine(at) });
  };
  walk(root, (n) => {
    switch (n.type) {
      case 'assignment':
        check(field(n, 'left'), field(n, 'right'), n);
        break;
      case 'keyword_argument':
      case 'default_parameter':
      case 'typed_default_parameter':
        check(field(n, 'name'), field(n, 'value'), n);
        break;
      case 'pair':
        check(field(n, 'key'), field(n, 'value'), n);
        break;
    }
    return true;
  });
}

type Hit = (rule: string, n: Node, severity?: RuleHit['severity'], detail?: string) => void;

/** Top-level packages a file imports (`import ldap.filter`, `from pymongo import MongoClient`), by its root node. */
const importedModules = new WeakMap<Node, Set<string>>();
function modulesOf(at: Node, alias: ReadonlyMap<string, string>): Set<string> {
  let root = at;
  while (root.parent) root = root.parent;
  let m = importedModules.get(root);
  if (!m) {
    const found = new Set([...alias.values()].map((v) => v.split('.')[0]));
    walk(root, (n) => {
      if (n.type === 'import_statement' || n.type === 'import_from_statement') {
        for (const d of kids(n)) if (d.type === 'dotted_name' || d.type === 'aliased_import') found.add(d.text.split(/[.\s]/)[0]);
        return false;
      }
      return true;
    });
    m = found;
    importedModules.set(root, m);
  }
  return m;
}

function dictKeys(d: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const p of kids(d)) {
    if (p.type !== 'pair') continue;
    const k = field(p, 'key');
    const v = field(p, 'value');
    const ks = k ? stringValue(k) : null;
    if (ks !== null && v) out.set(ks, v);
  }
  return out;
}

/** The right-hand side last assigned to `name` before `at`, in the enclosing function or module. */
function lastAssigned(name: string, at: Node): Node | null {
  let scope: Node | null = at.parent;
  while (scope && scope.type !== 'function_definition' && scope.type !== 'module') scope = scope.parent;
  if (!scope) return null;
  let found: Node | null = null;
  walk(scope, (n) => {
    if (n !== scope && (n.type === 'function_definition' || n.type === 'class_definition')) return false;
    if (n.startIndex >= at.startIndex) return false;
    if (n.type === 'assignment' && field(n, 'left')?.text === name) found = field(n, 'right');
    return true;
  });
  return found;
}

/** CWE-90, 643, 117, 943: query languages and log lines that request data reaches. */
function moreSinks(
  call: Node, fn: Node, qn: string, pos: Node[], kw: ReadonlyMap<string, Node>, alias: ReadonlyMap<string, string>,
  ev: (n: Node | null) => TV, hit: Hit,
): void {
  const seg = lastSegment(qn);
  const mods = modulesOf(call, alias);
  const isMethod = fn.type === 'attribute';
  const recv = isMethod ? dotted(field(fn, 'object')) : '';
  // CWE-90: LDAP filters. python-ldap takes (base, scope, filterstr), ldap3 (search_base, search_filter).
  if (isMethod && PY_MORE.ldapSearch.has(seg) && [...mods].some((m) => PY_MORE.ldapModules.has(m))) {
    const ldap3 = mods.has('ldap3') && !mods.has('ldap');
    const filter = ldap3 ? kw.get('search_filter') ?? pos[1] : kw.get('filterstr') ?? pos[2];
    if (filter && reaches(ev(filter), 'ldap')) hit('py/ldap-injection', call);
  }
  // CWE-643: XPath expressions.
  const xpath = PY_MORE.xpathCalls.has(qn) || (isMethod && PY_MORE.xpathCalls.has(`*.${seg}`) && (seg === 'xpath' || /xpath|evaluator/i.test(recv)));
  const elementPath = isMethod && PY_MORE.elementPathCalls.has(seg) && [...mods].some((m) => PY_MORE.xmlModules.has(m));
  if ((xpath || elementPath) && pos[0]) {
    const t = ev(pos[0]);
    if (reaches(t, 'xpath') && (xpath || t!.built)) hit('py/xpath-injection', call);
  }
  // CWE-117: request data in a log line (a note: logs are read by people and tools, rarely a direct risk).
  if (isMethod && PY_MORE.logLevels.has(seg) && PY_MORE.logReceiver.test(recv)) {
    const fmt = pos[0] ? stringValue(pos[0]) ?? '' : '';
    const reprFormatted = /%r|!r\}/.test(fmt) || /%r|!r\}/.test(pos[0]?.text ?? '');
    const stripped = (a: Node): boolean => /replace\(\s*['"]\\[rn]/.test(a.text);
    const args = seg === 'log' ? pos.slice(1) : pos;
    // Data of the invoking user (environment, argv) is marked path-clean: theirs to log; so is a secure_filename.
    const fromClient = (a: Node): boolean => {
      const t = ev(a);
      return !!reaches(t, 'cmd') && !t!.clean.has('path');
    };
    if (!reprFormatted && args.some((a) => !stripped(a) && fromClient(a))) hit('py/log-injection', call);
  }
  // CWE-943: MongoDB queries from request data.
  if (isMethod && PY_MORE.mongoMethods.has(seg) && pos[0] && ([...mods].some((m) => PY_MORE.mongoModules.has(m)) || /mongo/i.test(recv))) {
    let q: Node | null = pos[0];
    if (q.type === 'identifier') q = lastAssigned(q.text, call) ?? q;
    if (q.type === 'dictionary') {
      const keys = dictKeys(q);
      const where = keys.get('$where') ?? keys.get('$function');
      if (where && reaches(ev(where), 'nosql')) hit('py/nosql-injection', call, undefined, 'request data in $where runs as JavaScript on the server');
      else {
        // A value converted (str(...), int(...)) is no object any more.
        const converted = (v: Node): boolean => v.type === 'call' && /^(str|int|float|bool|escape|\w*(sanitize|clean|valid)\w*)$/i.test(lastSegment(dotted(field(v, 'function'))));
        const bad = [...keys].find(([, v]) => !converted(v) && PY_MORE.jsonSource.test(v.text) && reaches(ev(v), 'nosql'));
        if (bad) hit('py/nosql-injection', call, undefined, `"${bad[0]}" takes a value from a JSON request, which may be an object such as {"$ne": null}`);
      }
    } else if (PY_MORE.jsonSource.test(q.text) && reaches(ev(pos[0]), 'nosql')) {
      hit('py/nosql-injection', call, undefined, 'the whole query object comes from the request');
    }
  }
}

/** CWE-501: request data stored in the session as if it were the server's own. */
function trustBoundary(target: Node, value: TV, hit: Hit): void {
  if (value && value.strong && !value.indirect) hit('py/trust-boundary', target, 'note');
}

/** CWE-327/328/330: weak hashes of credentials, weak ciphers and ECB, and `random` producing secrets. */
function cryptoAndRandomness(root: Node, qualify: (n: Node | null) => string, hits: RuleHit[]): void {
  const add = (rule: string, n: Node, detail?: string): void => {
    hits.push({ rule, startLine: line(n), endLine: endLine(n), ...(detail ? { detail } : {}) });
  };
  /** The name a value is given: assignment target, keyword, dict key, or the function it is returned from. */
  const purpose = (n: Node): string => {
    for (let p = n.parent; p; p = p.parent) {
      switch (p.type) {
        case 'assignment':
        case 'augmented_assignment': {
          const l = field(p, 'left');
          return l ? (l.type === 'attribute' ? field(l, 'attribute')?.text ?? '' : l.type === 'subscript' ? stringValue(field(l, 'subscript') ?? l) ?? l.text : l.text) : '';
        }
        case 'keyword_argument':
          return field(p, 'name')?.text ?? '';
        case 'pair': {
          const k = field(p, 'key');
          return k ? stringValue(k) ?? k.text : '';
        }
        case 'return_statement': {
          let f = p.parent;
          while (f && f.type !== 'function_definition') f = f.parent;
          return f ? field(f, 'name')?.text ?? '' : '';
        }
        case 'expression_statement':
        case 'block':
        case 'function_definition':
        case 'class_definition':
          return '';
      }
    }
    return '';
  };
  walk(root, (n) => {
    if (n.type !== 'call') return true;
    const fn = field(n, 'function');
    const qn = qualify(fn);
    const { pos, kw } = argsOf(n);
    // Weak hashes: only where what is hashed, or what the digest is kept as, is a credential.
    if (PY_MORE.weakHashes.has(qn) && kw.get('usedforsecurity')?.text !== 'False') {
      const algo = qn === 'hashlib.new' ? stringValue(pos[0] ?? n)?.toLowerCase() ?? '' : '';
      const weak = qn !== 'hashlib.new' || algo === 'md5' || algo === 'sha1' || algo === 'md4';
      const data = qn === 'hashlib.new' ? pos[1] : pos[0];
      const chain = n.parent?.type === 'attribute' ? n.parent.parent ?? n : n;
      if (weak && ((data && PY_MORE.passwordName.test(data.text)) || PY_MORE.passwordName.test(purpose(chain)))) add('py/weak-hash', n);
    }
    // Broken ciphers and ECB mode.
    if (PY_MORE.weakCiphers.test(qn) || [...pos, ...kw.values()].some((a) => /(^|\.)MODE_ECB$/.test(a.text))) add('py/weak-cipher', n);
    // `random` for a secret: key on what the value is named or returned as.
    if (PY_MORE.randomFns.has(qn) && !/SystemRandom/.test(dotted(fn))) {
      // Inside a comprehension or join the value belongs to the enclosing expression's name.
      if (PY_MORE.secretName.test(purpose(n))) add('py/insecure-randomness', n);
    }
    return true;
  });
}
