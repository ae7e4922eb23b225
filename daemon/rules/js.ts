import { type Node, kids, field, line, endLine, walk, dotted, lastSegment, qualifier } from './ast.js';
import type { RuleHit } from './catalog.js';
import { JS } from './data.js';
import {
  type SinkKind, type TV, built, join, joinAll, normalized, reaches, sanitize, strongSource,
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

export function checkJs(root: Node): RuleHit[] {
  const alias = moduleAliases(root);
  const hits: RuleHit[] = [];
  const usesChildProcess = [...alias.values()].some((m) => m.startsWith('child_process'));

  const qualify = qualifier(alias);
  const sanitizerOf = (qn: string, raw: string): readonly SinkKind[] | 'all' | undefined =>
    JS.sanitizers.get(qn) ?? JS.sanitizers.get(raw) ?? JS.sanitizers.get(lastSegment(raw));
  const hit = (rule: string, n: Node): void => {
    hits.push({ rule, startLine: line(n), endLine: endLine(n) });
  };

  const isRequestObject = (n: Node | null): boolean =>
    !!n && (JS.requestNames.has(n.text) || (n.type === 'member_expression' && n.text === 'ctx.request'));

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
        if (isRequestObject(obj) && JS.requestProps.has(prop)) return strongSource();
        if (JS.domSources.has(dotted(n))) return strongSource();
        return ev(obj, env);
      }
      case 'subscript_expression':
        return ev(field(n, 'object'), env);
      case 'call_expression':
        return evCall(n, env);
      case 'binary_expression': {
        const op = n.childForFieldName('operator')?.type ?? '';
        if (op === '+' ) return built(join(ev(field(n, 'left'), env), ev(field(n, 'right'), env)));
        if (op === '||' || op === '??' || op === '&&') return join(ev(field(n, 'left'), env), ev(field(n, 'right'), env));
        return null;
      }
      case 'template_string':
        return built(joinAll(kids(n).filter((k) => k.type === 'template_substitution').map((s) => ev(kids(s)[0] ?? null, env))));
      case 'ternary_expression':
        return join(ev(field(n, 'consequence'), env), ev(field(n, 'alternative'), env));
      case 'array':
        return joinAll(kids(n).map((k) => ev(k, env)));
      case 'object':
        return joinAll(kids(n).map((k) => (k.type === 'pair' ? ev(field(k, 'value'), env) : ev(k, env))));
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
    const san = sanitizerOf(qn, raw);
    if (san) return san === 'all' ? null : sanitize(args(), san);
    if (JS.normalizers.has(qn) || JS.normalizers.has(raw)) return normalized(args());
    if (JS.propagators.has(qn) || JS.propagators.has(raw)) return args();
    if (fn.type === 'member_expression') {
      const method = field(fn, 'property')?.text ?? '';
      if (JS.propagatingMethods.has(method)) {
        const recv = ev(field(fn, 'object'), env);
        return method === 'concat' || method === 'join' || method === 'replace' || method === 'replaceAll' ? join(recv, args()) : recv;
      }
    }
    return null;
  };

  const checkCall = (call: Node, env: Map<string, TV>, isNew: boolean): void => {
    const fn = field(call, isNew ? 'constructor' : 'function');
    if (!fn) return;
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
      if (params) for (const p of params.type === 'identifier' ? [params] : kids(params)) bindPattern(field(p, 'pattern') ?? p, null, inner);
      const body = field(n, 'body');
      if (body) visit(body, inner);
      return;
    }
    switch (n.type) {
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
          visit(left, env);
        } else bindPattern(left, value, env);
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
        for (const f of ['consequence', 'alternative']) {
          const b = field(n, f);
          if (b) visit(b, env);
        }
        return;
      }
      default:
        for (const k of kids(n)) visit(k, env);
    }
  };

  visit(root, new Map());
  return hits;
}
