import type { Finding, Language } from '../../shared/findings.js';
import { createHash } from 'node:crypto';
import { copyTree, type Node } from './ast.js';
import { demoteNonProduct } from '../non-product.js';
import { RULES, type RuleHit } from './catalog.js';
import { checkC, untypedDefinitions } from './c.js';
import { checkJs, jsModule, probeWithRequestData, type JsCallResult, type JsModule, type JsProject } from './js.js';
import { jsBindings, jsExports, jsSpecifiers, resolveJs } from './js-imports.js';
import { signature, type TV } from './taint.js';
import { initParsers, parse } from './parser.js';
import { importBindings, importSpecs, resolveSpec, type ImportSpec } from './py-imports.js';
import { checkPython, pythonModule, type PyModule, type PyProject } from './python.js';

export const BUILTIN_TOOL = 'builtin';

/** Loads tree-sitter and the grammars; must be awaited once before `runBuiltinRules`. */
export function initBuiltinRules(): Promise<void> {
  return initParsers();
}

function parseTree(path: string, language: Language, content: string): Node {
  const root = syntaxTree(path, language, content);
  if (language !== 'c' && language !== 'cpp') return root;
  // Function definitions without a return type: give them C89's implicit `int` and parse again. The
  // insertions never add a line, so every finding keeps its line number.
  const at = untypedDefinitions(root);
  if (at.length === 0) return root;
  let patched = '';
  let from = 0;
  for (const i of at) {
    patched += content.slice(from, i) + 'int ';
    from = i;
  }
  return syntaxTree(path, language, patched + content.slice(from));
}

function syntaxTree(path: string, language: Language, content: string): Node {
  const tree = parse(language, path, content);
  try {
    return copyTree(tree, content);
  } finally {
    tree.delete();
  }
}

/** Runs every built-in rule for `language` over one file, alone. Synchronous once initialised. */
export function runBuiltinRules(path: string, language: Language, content: string): Finding[] {
  const root = parseTree(path, language, content);
  let hits: RuleHit[];
  {
    switch (language) {
      case 'python':
        hits = checkPython(root);
        break;
      case 'c':
      case 'cpp':
        hits = checkC(root);
        break;
      case 'javascript':
      case 'typescript':
        hits = checkJs(root, path);
        break;
      default:
        hits = [];
    }
  }
  return toFindings(path, hits);
}

function toFindings(path: string, hits: RuleHit[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const h of hits.sort((a, b) => a.startLine - b.startLine || a.rule.localeCompare(b.rule))) {
    const meta = RULES.get(h.rule);
    if (!meta) throw new Error(`built-in rules: hit for unknown rule ${h.rule}`);
    const key = `${h.rule}:${h.startLine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      tool: BUILTIN_TOOL,
      ruleId: meta.id,
      cwe: [...meta.cwe],
      severity: h.severity ?? meta.severity,
      file: path,
      startLine: h.startLine,
      endLine: Math.max(h.startLine, h.endLine),
      message: h.detail ? `${meta.message} (${h.detail})` : meta.message,
    });
  }
  // The pipeline demotes every tool's findings in test and example code; the rules' own callers (the
  // benches, the fixtures) see the same through the same function.
  return demoteNonProduct(out);
}

/** One file of a check, as the rules see it. */
export interface RuleSource {
  path: string;
  language: Language;
  content: string;
}

/**
 * Bounds on the work one check may spend following calls into other staged modules (each probe is
 * one function analysed again with one parameter as request data). Past it, calls into other
 * modules are treated as unknown library calls, as they are for a file checked alone.
 */
const MAX_PROBES = 5000;
/** How deep analyses may nest (a chain of helpers through as many modules); keeps the stack small. */
const MAX_NESTING = 24;

/**
 * The rules over the files of one check, with taint followed across the staged Python files that
 * import each other: a call into another staged module uses that function's return summary, and
 * request data passed to it is reported at the call where it reaches a sink there. Modules are
 * parsed on first use; nothing outside `files` is read.
 */
export class BuiltinRuleSet {
  private readonly python = new Map<string, RuleSource>();
  private readonly modules = new Map<string, PyModule | null>();
  private probes = 0;
  private depth = 0;
  private readonly project: PyProject;
  private readonly js = new Map<string, RuleSource>();
  private readonly jsModules = new Map<string, { mod: JsModule; exports: Map<string, Node> } | null>();
  private readonly jsMemo = new Map<string, JsCallResult>();
  private readonly jsActive = new Set<string>();
  private readonly jsProject: JsProject;

  constructor(files: readonly RuleSource[]) {
    for (const f of files) if (f.language === 'python') this.python.set(f.path, f);
    for (const f of files) if (isJs(f.language)) this.js.set(f.path, f);
    const jsStaged = new Set(this.js.keys());
    this.jsProject = { call: (path, name, args) => this.jsCall(jsStaged, path, name, args) };
    const staged = new Set(this.python.keys());
    this.project = {
      module: (path) => {
        if (this.modules.has(path)) return this.modules.get(path) ?? undefined;
        const f = this.python.get(path);
        if (!f) return undefined;
        let m: PyModule | null = null;
        try {
          const root = parseTree(f.path, f.language, f.content);
          m = pythonModule(root, { path, bindings: importBindings(staged, path, root), project: this.project });
        } catch {
          // A module that does not parse is only not followed; the check of that file itself reports the failure.
          m = null;
        }
        this.modules.set(path, m);
        return m ?? undefined;
      },
      enter: () => {
        if (this.depth >= MAX_NESTING || this.probes >= MAX_PROBES) return false;
        this.probes++;
        this.depth++;
        return true;
      },
      leave: () => {
        this.depth--;
      },
    };
  }

  private jsModule(staged: ReadonlySet<string>, path: string): { mod: JsModule; exports: Map<string, Node> } | undefined {
    if (this.jsModules.has(path)) return this.jsModules.get(path) ?? undefined;
    const f = this.js.get(path);
    if (!f) return undefined;
    let m: { mod: JsModule; exports: Map<string, Node> } | null = null;
    try {
      const root = parseTree(f.path, f.language, f.content);
      m = { mod: jsModule(root, { path, bindings: jsBindings(staged, path, root), project: this.jsProject }), exports: jsExports(root) };
    } catch {
      // Not followed; the check of that file itself reports why it could not be parsed.
      m = null;
    }
    this.jsModules.set(path, m);
    return m ?? undefined;
  }

  /**
   * A staged JS/TS function analysed with the caller's argument values. Its hits are those the
   * request data in the arguments causes: the same function with that data demoted to a caller's
   * parameter must not produce them (those it reports in its own file already). A call back into a
   * function still being analysed (a cycle), or past the bounds, is not followed.
   */
  private jsCall(staged: ReadonlySet<string>, path: string, name: string, args: TV[]): JsCallResult | undefined {
    const m = this.jsModule(staged, path);
    const fn = m?.exports.get(name);
    if (!m || !fn) return undefined;
    const key = `${path}\0${name}\0${args.map(signature).join('|')}`;
    const memo = this.jsMemo.get(key);
    if (memo) return memo;
    const active = `${path}\0${name}`;
    if (this.jsActive.has(active) || !this.project.enter()) return undefined;
    this.jsActive.add(active);
    try {
      const out = probeWithRequestData(m.mod, fn, args);
      this.jsMemo.set(key, out);
      return out;
    } finally {
      this.jsActive.delete(active);
      this.project.leave();
    }
  }

  /** The findings of one file of the set. Throws where the file cannot be parsed. */
  run(path: string, language: Language, content: string): Finding[] {
    const js = this.js.get(path);
    if (isJs(language) && js && js.content === content) {
      const m = this.jsModule(new Set(this.js.keys()), path);
      if (!m) parseTree(path, language, content);
      if (!m) throw new Error(`built-in rules: ${path} could not be analysed`);
      return toFindings(path, m.mod.emit());
    }
    const mine = this.python.get(path);
    if (language !== 'python' || !mine || mine.content !== content) return runBuiltinRules(path, language, content);
    const m = this.project.module(path);
    // The project keeps a module that does not parse out of the analysis; parsing again here reports why.
    if (!m) parseTree(path, language, content);
    if (!m) throw new Error(`built-in rules: ${path} could not be analysed`);
    return toFindings(path, m.emit());
  }
}

function isJs(language: Language): boolean {
  return language === 'javascript' || language === 'typescript';
}


const MAX_SPEC_MEMO = 4000;

/**
 * What `extract` reads from a file's syntax tree, remembered by content (a check asks again for every
 * cached file); a file that does not parse gives `fallback`.
 */
function memoByContent<T>(memo: Map<string, T>, f: RuleSource, extract: (root: Node) => T, fallback: T): T {
  // JSX files parse with another grammar than the same text in a .js file.
  const key = createHash('sha1').update(f.path.endsWith('x') ? 'x' : '').update(f.content).digest('hex');
  let v = memo.get(key);
  if (v !== undefined) return v;
  try {
    v = extract(parseTree(f.path, f.language, f.content));
  } catch {
    v = fallback;
  }
  if (memo.size >= MAX_SPEC_MEMO) memo.delete(memo.keys().next().value!);
  memo.set(key, v);
  return v;
}

const specMemo = new Map<string, ImportSpec[]>();
const jsSpecMemo = new Map<string, string[]>();

/** The import statements of a Python file. */
const specsOf = (f: RuleSource): ImportSpec[] => memoByContent(specMemo, f, importSpecs, []);

/** The module specifiers of a JS/TS file. */
const jsSpecsOf = (f: RuleSource): string[] => memoByContent(jsSpecMemo, f, jsSpecifiers, []);

/**
 * For each Python or JS/TS file of a check, the other staged files its findings can depend on: the
 * staged modules its imports name, and theirs in turn (a cycle ends where it started). A per-file
 * result is only as fresh as these files, so a cache must key on them too.
 */
export function builtinDependencies(files: readonly RuleSource[]): Map<string, string[]> {
  const py = files.filter((f) => f.language === 'python');
  const staged = new Set(py.map((f) => f.path));
  const direct = new Map<string, Set<string>>();
  for (const f of py) {
    const out = new Set<string>();
    for (const s of specsOf(f)) for (const p of resolveSpec(staged, f.path, s)) if (p !== f.path) out.add(p);
    direct.set(f.path, out);
  }
  const js = files.filter((f) => isJs(f.language));
  const jsStaged = new Set(js.map((f) => f.path));
  for (const f of js) {
    const out = new Set<string>();
    for (const s of jsSpecsOf(f)) {
      const p = resolveJs(jsStaged, f.path, s);
      if (p && p !== f.path) out.add(p);
    }
    direct.set(f.path, out);
  }
  const res = new Map<string, string[]>();
  for (const f of [...py, ...js]) {
    const seen = new Set<string>();
    const todo = [...(direct.get(f.path) ?? [])];
    while (todo.length) {
      const p = todo.pop()!;
      if (seen.has(p) || p === f.path) continue;
      seen.add(p);
      todo.push(...(direct.get(p) ?? []));
    }
    if (seen.size) res.set(f.path, [...seen].sort());
  }
  return res;
}
