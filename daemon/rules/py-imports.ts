import { type Node, kids, field, walk, dotted } from './ast.js';

/*
 * Which staged Python file an import names. Only the files of the check count: nothing is read from
 * disk, and a name that does not resolve to a staged file stays an unknown library call. Absolute
 * names are looked up from the importing file's directory upwards to the repository root (a script's
 * own directory and a `src/` layout are both on sys.path in practice); relative names from the
 * importing file's package. Paths are repo-relative with forward slashes.
 */

/** What a local name is bound to by an import that resolved to a staged file. */
export type PyBinding = { kind: 'module'; path: string } | { kind: 'symbol'; path: string; name: string };

/** One import as written: `from <level dots><module> import <name> as <local>` or `import <module> as <local>`. */
export interface ImportSpec {
  level: number;
  module: string;
  /** null for `import a.b`: the bound name is the dotted module name itself (or `local`). */
  name: string | null;
  local: string;
}

const MAX_DEPTH = 32;

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function joinPath(dir: string, rel: string): string {
  return dir ? (rel ? `${dir}/${rel}` : dir) : rel;
}

/** The import statements of a module, wherever they are (a function-local import binds as well). */
export function importSpecs(root: Node): ImportSpec[] {
  const out: ImportSpec[] = [];
  walk(root, (n) => {
    if (n.type === 'import_statement') {
      for (const c of kids(n)) {
        if (c.type === 'dotted_name') out.push({ level: 0, module: dotted(c), name: null, local: dotted(c) });
        else if (c.type === 'aliased_import') {
          const name = dotted(field(c, 'name'));
          const as = field(c, 'alias')?.text;
          if (name && as) out.push({ level: 0, module: name, name: null, local: as });
        }
      }
      return false;
    }
    if (n.type === 'import_from_statement') {
      const modNode = field(n, 'module_name');
      let level = 0;
      let module = '';
      if (modNode?.type === 'relative_import') {
        for (const k of modNode.children) {
          if (k.type === 'import_prefix') level = k.text.replace(/[^.]/g, '').length;
          else if (k.type === 'dotted_name') module = dotted(k);
        }
      } else module = dotted(modNode);
      for (const c of kids(n)) {
        if (c.id === modNode?.id) continue;
        if (c.type === 'dotted_name') out.push({ level, module, name: dotted(c), local: dotted(c) });
        else if (c.type === 'aliased_import') {
          const name = dotted(field(c, 'name'));
          const as = field(c, 'alias')?.text;
          if (name && as) out.push({ level, module, name, local: as });
        }
      }
      return false;
    }
    return true;
  });
  return out;
}

/**
 * The staged file of a module named from `importer`, or null. `level` counts the leading dots of a
 * relative import (0 for an absolute one).
 */
export function resolveModule(staged: ReadonlySet<string>, importer: string, module: string, level: number): string | null {
  const parts = module ? module.split('.') : [];
  if (parts.some((p) => !/^[A-Za-z_]\w*$/.test(p))) return null;
  const rel = parts.join('/');
  const file = (base: string): string | null => {
    if (rel) {
      const p = joinPath(base, rel);
      if (staged.has(`${p}.py`)) return `${p}.py`;
      if (staged.has(`${p}/__init__.py`)) return `${p}/__init__.py`;
      return null;
    }
    const init = joinPath(base, '__init__.py');
    return staged.has(init) ? init : null;
  };
  let dir = dirOf(importer);
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      if (!dir) return null; // climbs above the repository: not ours
      dir = dirOf(dir);
    }
    return file(dir);
  }
  if (!rel) return null;
  // The importing file's directory, then each directory above it up to the repository root.
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const hit = file(dir);
    if (hit) return hit;
    if (!dir) break;
    dir = dirOf(dir);
  }
  return null;
}

/**
 * Local name -> staged module or symbol, for the imports of one file. `import a.b` binds the dotted
 * name `a.b`; `from p import m` binds a submodule where p/m.py is staged, else the name m of p.
 */
export function importBindings(staged: ReadonlySet<string>, importer: string, root: Node): Map<string, PyBinding> {
  const out = new Map<string, PyBinding>();
  for (const s of importSpecs(root)) {
    const b = bindingOf(staged, importer, s);
    if (b) out.set(s.local, b);
  }
  return out;
}

function bindingOf(staged: ReadonlySet<string>, importer: string, s: ImportSpec): PyBinding | null {
  if (s.name === null) {
    const path = resolveModule(staged, importer, s.module, 0);
    return path ? { kind: 'module', path } : null;
  }
  if (s.name === '*') return null;
  const sub = resolveModule(staged, importer, s.module ? `${s.module}.${s.name}` : s.name, s.level);
  if (sub) return { kind: 'module', path: sub };
  const path = resolveModule(staged, importer, s.module, s.level);
  return path ? { kind: 'symbol', path, name: s.name } : null;
}

/**
 * Every staged file one import can make a file's findings depend on: the module it binds, and for
 * `import a.b` or `from a.b import c` the packages on the way (their __init__ runs and may re-export).
 */
export function resolveSpec(staged: ReadonlySet<string>, importer: string, s: ImportSpec): string[] {
  const out = new Set<string>();
  const b = bindingOf(staged, importer, s);
  if (b) out.add(b.path);
  const parts = s.module ? s.module.split('.') : [];
  for (let i = 1; i <= parts.length; i++) {
    const p = resolveModule(staged, importer, parts.slice(0, i).join('.'), s.level);
    if (p) out.add(p);
  }
  if (s.level > 0) {
    const p = resolveModule(staged, importer, '', s.level);
    if (p) out.add(p);
  }
  return [...out];
}
