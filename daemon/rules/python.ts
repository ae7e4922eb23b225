import { type Node, kids, field, line, endLine, walk, dotted, lastSegment, qualifier } from './ast.js';
import type { RuleHit } from './catalog.js';
import { CREDENTIAL_NAME, PLACEHOLDER, PY } from './data.js';
import {
  type SinkKind, type TV, built, join, joinAll, normalized, reaches, sanitize, strongSource, weakSource,
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

const ROUTE_DECORATOR = /\.(route|get|post|put|patch|delete|api_route)\s*\(/;

function unitsOf(root: Node): Unit[] {
  const units: Unit[] = [{ node: root, body: root, params: [], isRoute: false, name: '<module>' }];
  walk(root, (n) => {
    if (n.type === 'function_definition') {
      const body = field(n, 'body');
      const dec = n.parent?.type === 'decorated_definition' ? n.parent : null;
      const isRoute = !!dec && kids(dec).some((d) => d.type === 'decorator' && ROUTE_DECORATOR.test(d.text));
      if (body) units.push({ node: n, body, params: paramNames(n), isRoute, name: field(n, 'name')?.text ?? '' });
    }
    return true;
  });
  return units;
}

interface Args {
  pos: Node[];
  kw: Map<string, Node>;
}

function argsOf(call: Node): Args {
  const pos: Node[] = [];
  const kw = new Map<string, Node>();
  const list = field(call, 'arguments');
  if (list) {
    for (const a of kids(list)) {
      if (a.type === 'keyword_argument') {
        const name = field(a, 'name')?.text;
        const value = field(a, 'value');
        if (name && value) kw.set(name, value);
      } else if (a.type !== 'comment') pos.push(a);
    }
  }
  return { pos, kw };
}

function stringValue(n: Node): string | null {
  if (n.type !== 'string') return null;
  if (kids(n).some((k) => k.type === 'interpolation')) return null;
  const m = /^[a-zA-Z]*("""|'''|"|')([\s\S]*)\1$/.exec(n.text);
  return m ? m[2] : null;
}

export function checkPython(root: Node): RuleHit[] {
  const alias = importAliases(root);
  const hits: RuleHit[] = [];

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

  const units = unitsOf(root);
  const byName = new Map<string, Unit>();
  for (const u of units) if (u.node.type === 'function_definition') byName.set(u.name, u);
  /** Parameters that some call site in this file passes request data to. */
  const strongParams = new Map<string, Set<string>>();

  const analyze = (u: Unit, emit: boolean): void => {
    const env = new Map<string, TV>();
    const lists = new Set<string>();
    const tarNames = new Set<string>();
    const strong = strongParams.get(u.name);
    for (const p of u.params) env.set(p, strong?.has(p) ? strongSource() : weakSource());

    const hit = (rule: string, n: Node, severity?: RuleHit['severity'], detail?: string): void => {
      if (emit) hits.push({ rule, startLine: line(n), endLine: endLine(n), severity, detail });
    };

    const evalArgs = (call: Node): TV => {
      const { pos, kw } = argsOf(call);
      return joinAll([...pos, ...kw.values()].map((a) => ev(a)));
    };

    const ev = (n: Node | null): TV => {
      if (!n) return null;
      switch (n.type) {
        case 'identifier':
          return env.get(n.text) ?? null;
        case 'attribute': {
          const obj = field(n, 'object');
          const attr = field(n, 'attribute')?.text ?? '';
          if (obj && isRequestObject(obj) && PY.requestAttrs.has(attr)) return strongSource();
          return ev(obj);
        }
        case 'subscript':
          return ev(field(n, 'value'));
        case 'call':
          return evCall(n);
        case 'binary_operator':
          return built(join(ev(field(n, 'left')), ev(field(n, 'right'))));
        case 'string': {
          const parts = kids(n).filter((k) => k.type === 'interpolation');
          return parts.length ? built(joinAll(parts.map((p) => ev(field(p, 'expression') ?? kids(p)[0] ?? null)))) : null;
        }
        case 'concatenated_string':
          return joinAll(kids(n).map(ev));
        case 'conditional_expression': {
          const ks = kids(n);
          return join(ev(ks[0] ?? null), ev(ks[2] ?? null));
        }
        case 'parenthesized_expression':
        case 'await':
        case 'list_splat':
        case 'dictionary_splat':
        case 'starred_expression':
          return ev(kids(n)[0] ?? null);
        case 'keyword_argument':
          return ev(field(n, 'value'));
        case 'pair':
          return ev(field(n, 'value'));
        case 'list':
        case 'tuple':
        case 'set':
        case 'dictionary':
        case 'expression_list':
        case 'boolean_operator':
          return joinAll(kids(n).map(ev));
        case 'list_comprehension':
        case 'generator_expression':
        case 'set_comprehension':
        case 'dictionary_comprehension': {
          const body = field(n, 'body');
          const clauses = kids(n).filter((k) => k.type === 'for_in_clause');
          return join(ev(body), joinAll(clauses.map((c) => ev(field(c, 'right')))));
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
      // request.get_json() / request.get_data()
      if (fn.type === 'attribute') {
        const obj = field(fn, 'object');
        if (obj && isRequestObject(obj) && PY.requestAttrs.has(field(fn, 'attribute')?.text ?? '')) return strongSource();
      }
      const san = sanitizerOf(qn, raw);
      if (san) return san === 'all' ? null : sanitize(evalArgs(n), san);
      if (lookup(PY.normalizers, qn)) {
        const recv = fn.type === 'attribute' ? ev(field(fn, 'object')) : null;
        return normalized(join(recv, evalArgs(n)));
      }
      if (PY.propagators.has(qn) || PY.propagators.has(raw)) return evalArgs(n);
      if (fn.type === 'attribute') {
        const method = field(fn, 'attribute')?.text ?? '';
        if (PY.propagatingMethods.has(method)) {
          const recv = ev(field(fn, 'object'));
          if (method === 'format' || method === 'format_map') return built(join(recv, evalArgs(n)));
          if (method === 'join' || method === 'replace') return join(recv, evalArgs(n));
          return recv;
        }
      }
      return null;
    };

    const bind = (target: Node, value: TV, valueNode: Node | null): void => {
      if (target.type === 'identifier') {
        env.set(target.text, value);
        if (valueNode && (valueNode.type === 'list' || valueNode.type === 'tuple')) lists.add(target.text);
        else lists.delete(target.text);
        if (valueNode?.type === 'call' && PY.tarOpeners.has(qualify(field(valueNode, 'function')))) tarNames.add(target.text);
      } else if (target.type === 'as_pattern_target') {
        for (const k of kids(target)) bind(k, value, valueNode);
      } else if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list'].includes(target.type)) {
        for (const k of kids(target)) bind(k, value, null);
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

    const checkCall = (call: Node): void => {
      const fn = field(call, 'function');
      if (!fn) return;
      const qn = qualify(fn);
      const seg = lastSegment(qn);
      const { pos, kw } = argsOf(call);

      // CWE-22: file-system sinks.
      const pathIdx = PY.pathSinks.get(qn) ?? PY.pathSinks.get(`*.${seg}`);
      if (pathIdx && (PY.pathSinks.has(qn) || fn.type === 'attribute')) {
        for (const i of pathIdx) {
          const arg = i < 0 ? (fn.type === 'attribute' ? field(fn, 'object') : null) : pos[i];
          if (arg && reaches(ev(arg), 'path')) {
            hit('py/path-injection', call);
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
        if (fromTar && !safeFilter && !insideIf(call, u.node)) hit('py/tarslip', call);
      }
      // CWE-78.
      if (PY.shellSinks.has(qn)) {
        const arg = pos[0] ?? kw.get('command') ?? kw.get('cmd');
        if (arg && reaches(ev(arg), 'cmd')) hit('py/command-injection', call);
      } else if (PY.processSinks.has(qn)) {
        const arg = pos[0] ?? kw.get('args');
        const shell = kw.get('shell');
        const shellOn = !!shell && shell.text !== 'False' && shell.text !== '0' && shell.text !== 'None';
        const listForm = !!arg && (arg.type === 'list' || arg.type === 'tuple' || (arg.type === 'identifier' && lists.has(arg.text)));
        if (arg && (shellOn || !listForm) && reaches(ev(arg), 'cmd')) hit('py/command-injection', call);
      }
      // CWE-89.
      if (fn.type === 'attribute' && PY.sqlMethods.has(seg)) {
        const arg = pos[0] ?? kw.get('sql') ?? kw.get('query') ?? kw.get('operation');
        const r = arg ? reaches(ev(arg), 'sql', true) : null;
        if (r) hit('py/sql-injection', call, r === 'strong' ? 'error' : 'warning');
      }
      // CWE-502.
      if (PY.pickleSinks.has(qn)) {
        const arg = pos[0] ?? kw.get('data');
        const r = arg ? reaches(ev(arg), 'deser', true) ?? (ev(arg)?.weak ? 'weak' : null) : null;
        if (r) hit('py/unsafe-deserialization', call, r === 'strong' ? 'error' : 'warning');
      }
      if (PY.yamlLoads.has(qn)) {
        const loader = kw.get('Loader') ?? pos[1];
        if (!loader || !/Safe|Base/.test(loader.text)) {
          hit('py/unsafe-yaml-load', call, pos[0] && reaches(ev(pos[0]), 'deser') ? 'error' : undefined);
        }
      } else if (PY.yamlUnsafe.has(qn)) {
        hit('py/unsafe-yaml-load', call);
      }
      // CWE-79: jinja2 without autoescape.
      if (PY.jinjaCtors.has(qn)) {
        const ae = kw.get('autoescape');
        if (!ae || ae.text === 'False' || ae.text === 'None' || ae.text === '0') hit('py/jinja2-autoescape-false', call);
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

    /** `if p.startswith(base)` after normalizing p is the prefix check CodeQL accepts. */
    const applyGuard = (cond: Node | null): void => {
      if (!cond) return;
      walk(cond, (x) => {
        if (x.type !== 'call') return true;
        const fn = field(x, 'function');
        if (fn?.type === 'attribute' && /^(startswith|is_relative_to)$/.test(field(fn, 'attribute')?.text ?? '')) {
          const obj = field(fn, 'object');
          if (obj?.type === 'identifier') {
            const t = env.get(obj.text) ?? null;
            if (t?.normalized) env.set(obj.text, sanitize(t, ['path']));
          }
        }
        return true;
      });
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
              if (left?.type === 'identifier') env.set(left.text, built(join(env.get(left.text) ?? null, ev(field(e, 'right')))));
            }
          }
          return;
        }
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
          if (left) bind(left, ev(field(s, 'right')), null);
          block(field(s, 'body'));
          block(field(s, 'alternative'));
          return;
        }
        case 'while_statement':
          checkCalls(field(s, 'condition'));
          block(field(s, 'body'));
          block(field(s, 'alternative'));
          return;
        case 'if_statement':
        case 'elif_clause':
          checkCalls(field(s, 'condition'));
          applyGuard(field(s, 'condition'));
          block(field(s, 'consequence'));
          for (const alt of kids(s)) if (alt.type === 'elif_clause' || alt.type === 'else_clause') stmt(alt);
          return;
        case 'else_clause':
        case 'finally_clause':
          block(field(s, 'body') ?? kids(s).find((k) => k.type === 'block') ?? null);
          return;
        case 'return_statement': {
          checkCalls(s);
          let e = kids(s)[0] ?? null;
          if (e && (e.type === 'expression_list' || e.type === 'tuple')) e = kids(e)[0] ?? null;
          if (u.isRoute && e && reaches(ev(e), 'xss')) hit('py/reflected-xss', s);
          return;
        }
        case 'block':
        case 'module':
          block(s);
          return;
        default:
          // try/except/match and simple statements: check their expressions, walk their blocks.
          for (const k of kids(s)) {
            if (k.type === 'block') block(k);
            else if (/_clause$|^case_/.test(k.type)) stmt(k);
            else checkCalls(k);
          }
      }
    };

    const block = (b: Node | null): void => {
      if (!b) return;
      for (const s of kids(b)) stmt(s);
    };

    if (u.body.type === 'module') block(u.body);
    else block(u.body);

    if (!emit) {
      // Record which same-file functions receive request data at a call site.
      walk(u.body, (x) => {
        if (x !== u.body && SCOPES.has(x.type)) return false;
        if (x.type !== 'call') return true;
        const fn = field(x, 'function');
        const name = fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? field(fn, 'attribute')?.text : undefined;
        const target = name ? byName.get(name) : undefined;
        if (!target) return true;
        const { pos, kw } = argsOf(x);
        pos.forEach((a, i) => {
          if (i < target.params.length && ev(a)?.strong) addStrong(target.name, target.params[i]);
        });
        for (const [k, v] of kw) if (target.params.includes(k) && ev(v)?.strong) addStrong(target.name, k);
        return true;
      });
    }
  };

  const addStrong = (fn: string, p: string): void => {
    let s = strongParams.get(fn);
    if (!s) strongParams.set(fn, (s = new Set()));
    s.add(p);
  };

  // Summary rounds (callers two levels up) are only worth their cost when the file calls its own functions.
  let callsOwn = false;
  if (byName.size) {
    walk(root, (x) => {
      if (callsOwn) return false;
      if (x.type === 'call') {
        const fn = field(x, 'function');
        const name = fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? field(fn, 'attribute')?.text : undefined;
        if (name && byName.has(name)) callsOwn = true;
      }
      return true;
    });
  }
  for (let round = 0; callsOwn && round < 2; round++) {
    const before = [...strongParams.values()].reduce((n, s) => n + s.size, 0);
    for (const u of units) analyze(u, false);
    if ([...strongParams.values()].reduce((n, s) => n + s.size, 0) === before) break;
  }
  for (const u of units) analyze(u, true);

  credentials(root, hits);
  return hits;
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
