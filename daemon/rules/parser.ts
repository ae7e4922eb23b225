import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Parser, Tree } from 'web-tree-sitter';
import type { Language } from '../../shared/findings.js';

/**
 * Grammars come from the installed `tree-sitter-wasms` package (never the network). The runtime is
 * pinned to web-tree-sitter 0.25: the prebuilt 0.1.x grammars use an ABI newer runtimes refuse.
 */
const require = createRequire(import.meta.url);

type Grammar = 'python' | 'c' | 'cpp' | 'javascript' | 'typescript' | 'tsx';

const parsers = new Map<Grammar, Parser>();
let ready: Promise<void> | null = null;
let runtimeVersion = 'unknown';
/*
 * A WASM abort ("Aborted()", e.g. memory exhausted by a huge input) kills the emscripten module for
 * good: every later parse in this process would fail the same way. The runtime is therefore loaded
 * through a numbered import URL, so after an abort the next check loads a fresh, independent module
 * instance instead of reusing the dead one.
 */
let generation = 0;
let broken = false;

function wasmPath(g: Grammar): string {
  return require.resolve(`tree-sitter-wasms/out/tree-sitter-${g}.wasm`);
}

/** The package's exports map hides package.json, so find it next to the resolved entry point. */
function packageVersion(entry: string): string {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'web-tree-sitter') return pkg.version ?? 'unknown';
  }
  return 'unknown';
}

async function load(): Promise<void> {
  const entry = require.resolve('web-tree-sitter');
  const url = pathToFileURL(entry);
  if (generation > 0) url.search = `?runtime=${generation}`;
  const ts = (await import(url.href)) as typeof import('web-tree-sitter');
  await ts.Parser.init({ onAbort: () => void (broken = true) });
  runtimeVersion = packageVersion(entry);
  const grammars: Grammar[] = ['python', 'c', 'cpp', 'javascript', 'typescript', 'tsx'];
  // Sequentially: concurrent loads race in the wasm dynamic linker and fail to resolve
  // scanner symbols now and then.
  const fresh = new Map<Grammar, Parser>();
  for (const g of grammars) {
    const lang = await ts.Language.load(wasmPath(g));
    const p = new ts.Parser();
    p.setLanguage(lang);
    fresh.set(g, p);
  }
  parsers.clear();
  for (const [g, p] of fresh) parsers.set(g, p);
  broken = false;
}

/** Drops a runtime that aborted so the next `initParsers()` loads a new instance. */
function discardRuntime(): void {
  broken = true;
  parsers.clear();
  ready = null;
  generation++;
}

/** How many times the runtime was replaced after an abort (for status and tests). */
export function parserRuntimeGeneration(): number {
  return generation;
}

/**
 * Treats the current runtime as aborted. Tests use it to exercise the recovery path without the
 * gigabytes of input a real abort needs; production code never calls it.
 */
export function markParserRuntimeAborted(): void {
  broken = true;
}

/** Loads the runtime and every grammar once per process; later calls share the same promise. */
export function initParsers(): Promise<void> {
  if (broken) discardRuntime();
  if (!ready) {
    ready = load().catch((err: unknown) => {
      // A failed load must not poison the cache forever: the next call retries.
      ready = null;
      throw err;
    });
  }
  return ready;
}

export function treeSitterVersion(): string {
  return runtimeVersion;
}

export function grammarFor(language: Language, path: string): Grammar {
  if (language === 'typescript' && /\.tsx$/i.test(path)) return 'tsx';
  return language;
}

/** Parses synchronously; callers must `delete()` the tree (it lives in wasm memory). */
export function parse(language: Language, path: string, content: string): Tree {
  if (broken) throw new Error('tree-sitter runtime aborted earlier; it is reloaded at the next check');
  const parser = parsers.get(grammarFor(language, path));
  if (!parser) throw new Error('built-in rules: parsers not initialised (await initBuiltinRules() first)');
  let tree: Tree | null;
  try {
    tree = parser.parse(content);
  } catch (err) {
    // Any trap inside the WASM module leaves its memory in an unknown state: never reuse it.
    if (err instanceof WebAssembly.RuntimeError || /Aborted\(/.test(String(err))) broken = true;
    throw err;
  }
  if (!tree) throw new Error(`built-in rules: tree-sitter returned no tree for ${path}`);
  return tree;
}
