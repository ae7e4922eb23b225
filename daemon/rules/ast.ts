import type { Tree } from 'web-tree-sitter';

/**
 * A plain-JS copy of the syntax tree. Every property access on a web-tree-sitter node crosses into
 * wasm and allocates; the rules touch each node many times, so one cursor pass that copies the tree
 * is several times faster than walking the wasm nodes directly.
 */
export class Node {
  readonly children: Node[] = [];
  readonly namedChildren: Node[] = [];
  parent: Node | null = null;
  fieldName: string | null = null;

  constructor(
    readonly id: number,
    readonly type: string,
    readonly isNamed: boolean,
    readonly startIndex: number,
    readonly endIndex: number,
    readonly startPosition: { row: number; column: number },
    readonly endPosition: { row: number; column: number },
    private readonly source: string,
  ) {}

  get text(): string {
    return this.source.slice(this.startIndex, this.endIndex);
  }

  childForFieldName(name: string): Node | null {
    for (const c of this.children) if (c.fieldName === name) return c;
    return null;
  }

  toString(): string {
    return `(${this.type}${this.namedChildren.map((c) => ' ' + (c.fieldName ? c.fieldName + ': ' : '') + c.toString()).join('')})`;
  }
}

/** Copies a tree-sitter tree into plain `Node`s in one cursor pass. */
export function copyTree(tree: Tree, source: string): Node {
  const cursor = tree.walk();
  let nextId = 0;
  const make = (): Node =>
    new Node(
      nextId++,
      cursor.nodeType,
      cursor.nodeIsNamed,
      cursor.startIndex,
      cursor.endIndex,
      cursor.startPosition,
      cursor.endPosition,
      source,
    );
  const root = make();
  let current = root;
  try {
    if (!cursor.gotoFirstChild()) return root;
    for (;;) {
      const n = make();
      n.fieldName = cursor.currentFieldName;
      n.parent = current;
      current.children.push(n);
      if (n.isNamed) current.namedChildren.push(n);
      if (cursor.gotoFirstChild()) {
        current = n;
        continue;
      }
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent() || !current.parent) return root;
        current = current.parent;
      }
    }
  } finally {
    cursor.delete();
  }
}

export function kids(n: Node): Node[] {
  return n.namedChildren;
}

export function field(n: Node, name: string): Node | null {
  return n.childForFieldName(name);
}

export function line(n: Node): number {
  return n.startPosition.row + 1;
}

export function endLine(n: Node): number {
  return n.endPosition.row + 1;
}

/** The operator token of a binary/assignment node, whichever grammar produced it. */
export function operator(n: Node): string {
  const op = n.childForFieldName('operator');
  if (op) return op.type;
  for (const c of n.children) if (!c.isNamed) return c.type;
  return '';
}

/** Pre-order walk; `enter` returning false skips the node's subtree. */
export function walk(n: Node, enter: (n: Node) => boolean | void): void {
  if (enter(n) === false) return;
  for (const c of n.namedChildren) walk(c, enter);
}

export function descendants(n: Node, types: ReadonlySet<string>, stopAt?: ReadonlySet<string>): Node[] {
  const out: Node[] = [];
  walk(n, (x) => {
    if (x !== n && stopAt?.has(x.type)) return false;
    if (types.has(x.type)) out.push(x);
    return true;
  });
  return out;
}

export function ancestors(n: Node, stop?: (a: Node) => boolean): Node[] {
  const out: Node[] = [];
  for (let p = n.parent; p; p = p.parent) {
    out.push(p);
    if (stop?.(p)) break;
  }
  return out;
}

/** Dotted text of a callee without whitespace, e.g. `os.path.join`. */
export function dotted(n: Node | null): string {
  return n ? n.text.replace(/\s+/g, '') : '';
}

export function lastSegment(name: string): string {
  const i = Math.max(name.lastIndexOf('.'), name.lastIndexOf('>'));
  return i >= 0 ? name.slice(i + 1) : name;
}

export function same(a: Node | null | undefined, b: Node | null | undefined): boolean {
  return !!a && !!b && a.id === b.id;
}

/** Resolves a callee's dotted name through the file's import aliases (`np.load` -> `numpy.load`). */
export function qualifier(alias: ReadonlyMap<string, string>): (callee: Node | null) => string {
  return (callee) => {
    const raw = dotted(callee);
    const dot = raw.indexOf('.');
    const head = dot < 0 ? raw : raw.slice(0, dot);
    const mapped = alias.get(head);
    return mapped ? mapped + (dot < 0 ? '' : raw.slice(dot)) : raw;
  };
}
