import { type Node, kids, field, walk } from './ast.js';

/*
 * Which staged JavaScript/TypeScript file a `require`/`import` names, and what a module exports.
 * Only relative specifiers (`./x`, `../x`) are followed, and only to files of the check: a bare
 * package name is a library (its code is not in the snapshot), and nothing is read from disk.
 * Paths are repo-relative with forward slashes.
 */

/** What a local name is bound to: the module's exports object (`*`), its default export, or one named export. */
export interface JsBinding {
  path: string;
  /** '*' for `require(...)` / `import * as`, 'default' for a default import, else the export's name. */
  name: string;
}

const EXTS = ['.js', '.ts', '.mjs', '.cjs', '.jsx', '.tsx', '.mts', '.cts'];
const FUNCTIONS = new Set(['function_declaration', 'function_expression', 'arrow_function', 'generator_function_declaration', 'generator_function', 'function']);
const MAX_SPEC = 512;

function specText(n: Node | null): string | null {
  if (!n || n.type !== 'string') return null;
  const t = n.text.slice(1, -1);
  return t.length <= MAX_SPEC ? t : null;
}

/** The staged file a relative specifier names from `importer`, or null (bare names, climbs above the root, misses). */
export function resolveJs(staged: ReadonlySet<string>, importer: string, spec: string): string | null {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const parts = importer.split('/').slice(0, -1);
  for (const seg of spec.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return null; // above the repository: not ours
      parts.pop();
    } else parts.push(seg);
  }
  const p = parts.join('/');
  if (!p) return null;
  const tries = [p, ...EXTS.map((e) => p + e)];
  // TypeScript sources import each other by the name of their compiled output (`./db.js` for db.ts).
  const m = /\.(m|c)?js$/.exec(p);
  if (m) tries.push(p.slice(0, -m[0].length) + `.${m[1] ?? ''}ts`, p.slice(0, -m[0].length) + '.tsx');
  tries.push(...EXTS.map((e) => `${p}/index${e}`));
  for (const t of tries) if (staged.has(t)) return t;
  return null;
}

function requireSpec(v: Node | null): string | null {
  while (v && (v.type === 'parenthesized_expression' || v.type === 'await_expression')) v = kids(v)[0] ?? null;
  if (v?.type !== 'call_expression' || field(v, 'function')?.text !== 'require') return null;
  return specText(kids(field(v, 'arguments')!)[0] ?? null);
}

/** Every module specifier a file names: requires, imports, re-exports and dynamic imports. */
export function jsSpecifiers(root: Node): string[] {
  const out = new Set<string>();
  walk(root, (n) => {
    if (n.type === 'import_statement' || n.type === 'export_statement') {
      const s = specText(field(n, 'source'));
      if (s) out.add(s);
    } else if (n.type === 'call_expression') {
      const f = field(n, 'function');
      if (f?.text === 'require' || f?.type === 'import') {
        const s = specText(kids(field(n, 'arguments')!)[0] ?? null);
        if (s) out.add(s);
      }
    }
    return true;
  });
  return [...out];
}

/** Local name -> staged module export, for the requires and imports of one file that resolve to a staged file. */
export function jsBindings(staged: ReadonlySet<string>, importer: string, root: Node): Map<string, JsBinding> {
  const out = new Map<string, JsBinding>();
  walk(root, (n) => {
    if (n.type === 'variable_declarator') {
      const spec = requireSpec(field(n, 'value'));
      const path = spec ? resolveJs(staged, importer, spec) : null;
      const name = field(n, 'name');
      if (path && name) {
        if (name.type === 'identifier') out.set(name.text, { path, name: '*' });
        else if (name.type === 'object_pattern') {
          for (const p of kids(name)) {
            if (p.type === 'shorthand_property_identifier_pattern') out.set(p.text, { path, name: p.text });
            else if (p.type === 'pair_pattern') {
              const key = field(p, 'key')?.text;
              const val = field(p, 'value');
              if (key && val?.type === 'identifier') out.set(val.text, { path, name: key });
            }
          }
        }
      }
      return true;
    }
    if (n.type === 'import_statement') {
      const spec = specText(field(n, 'source'));
      const path = spec ? resolveJs(staged, importer, spec) : null;
      if (!path) return false;
      walk(n, (x) => {
        if (x.type === 'import_clause') {
          for (const c of kids(x)) if (c.type === 'identifier') out.set(c.text, { path, name: 'default' });
        } else if (x.type === 'namespace_import') {
          const id = kids(x).find((k) => k.type === 'identifier');
          if (id) out.set(id.text, { path, name: '*' });
        } else if (x.type === 'import_specifier') {
          const name = field(x, 'name')?.text;
          const as = field(x, 'alias')?.text ?? name;
          if (name && as) out.set(as, { path, name });
        }
        return true;
      });
      return false;
    }
    return true;
  });
  return out;
}

function unwrap(v: Node | null): Node | null {
  while (v && (v.type === 'parenthesized_expression' || v.type === 'as_expression' || v.type === 'satisfies_expression')) v = kids(v)[0] ?? null;
  return v;
}

/**
 * The functions a module exports, by export name ('default' for `module.exports = fn` and
 * `export default`). CommonJS (`module.exports = {f}`, `module.exports.f =`, `exports.f =`) and ES
 * exports (`export function f`, `export const f = () =>`, `export { f as g }`, `export default f`).
 * Only functions written in the module count; a re-export from elsewhere is not followed.
 */
export function jsExports(root: Node): Map<string, Node> {
  // Top-level functions by their local name, for exports that name them.
  const local = new Map<string, Node>();
  const declare = (n: Node): void => {
    if (n.type === 'function_declaration' || n.type === 'generator_function_declaration') {
      const id = field(n, 'name');
      if (id) local.set(id.text, n);
    } else if (n.type === 'lexical_declaration' || n.type === 'variable_declaration') {
      for (const d of kids(n)) {
        if (d.type !== 'variable_declarator') continue;
        const id = field(d, 'name');
        const v = unwrap(field(d, 'value'));
        if (id?.type === 'identifier' && v && FUNCTIONS.has(v.type)) local.set(id.text, v);
      }
    }
  };
  for (const top of kids(root)) {
    if (top.type === 'export_statement') {
      const d = field(top, 'declaration');
      if (d) declare(d);
    } else declare(top);
  }
  const out = new Map<string, Node>();
  const fnOf = (v: Node | null): Node | null => {
    const u = unwrap(v);
    if (!u) return null;
    if (FUNCTIONS.has(u.type)) return u;
    return u.type === 'identifier' ? local.get(u.text) ?? null : null;
  };
  const exportObject = (obj: Node): void => {
    for (const p of kids(obj)) {
      if (p.type === 'shorthand_property_identifier') {
        const f = local.get(p.text);
        if (f) out.set(p.text, f);
      } else if (p.type === 'pair') {
        const k = field(p, 'key')?.text.replace(/^['"`]|['"`]$/g, '');
        const f = fnOf(field(p, 'value'));
        if (k && f) out.set(k, f);
      } else if (p.type === 'method_definition') {
        const k = field(p, 'name')?.text;
        if (k) out.set(k, p);
      }
    }
  };
  walk(root, (n) => {
    if (FUNCTIONS.has(n.type) || n.type === 'class_declaration') return false;
    if (n.type === 'assignment_expression') {
      const left = field(n, 'left')?.text.replace(/\s+/g, '') ?? '';
      const right = unwrap(field(n, 'right'));
      if (left === 'module.exports' && right) {
        if (right.type === 'object') exportObject(right);
        else {
          const f = fnOf(right);
          if (f) out.set('default', f);
        }
      } else {
        const m = /^(?:module\.exports|exports)\.([A-Za-z_$][\w$]*)$/.exec(left);
        const f = m ? fnOf(right) : null;
        if (m && f) out.set(m[1], f);
      }
      return false;
    }
    if (n.type === 'export_statement') {
      if (field(n, 'source')) return false; // a re-export from another module
      const d = field(n, 'declaration');
      const isDefault = kids(n).some((k) => k.type === 'default') || n.children.some((k) => k.text === 'default');
      if (d) {
        if (isDefault && FUNCTIONS.has(d.type)) out.set('default', d);
        else if (d.type === 'function_declaration' || d.type === 'generator_function_declaration') {
          const id = field(d, 'name');
          if (id) out.set(id.text, d);
        } else if (d.type === 'lexical_declaration' || d.type === 'variable_declaration') {
          for (const x of kids(d)) {
            const id = field(x, 'name');
            const f = x.type === 'variable_declarator' ? fnOf(field(x, 'value')) : null;
            if (id && f) out.set(id.text, f);
          }
        }
        return false;
      }
      const v = field(n, 'value');
      if (isDefault && v) {
        const f = fnOf(v);
        if (f) out.set('default', f);
        else if (unwrap(v)?.type === 'object') exportObject(unwrap(v)!);
        return false;
      }
      for (const c of kids(n)) {
        if (c.type !== 'export_clause') continue;
        for (const s of kids(c)) {
          if (s.type !== 'export_specifier') continue;
          const name = field(s, 'name')?.text;
          const as = field(s, 'alias')?.text ?? name;
          const f = name ? local.get(name) : undefined;
          if (as && f) out.set(as, f);
        }
      }
      return false;
    }
    return true;
  });
  return out;
}
