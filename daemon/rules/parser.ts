import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language as TsLanguage, Parser, type Tree } from 'web-tree-sitter';
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
  await Parser.init();
  runtimeVersion = packageVersion(require.resolve('web-tree-sitter'));
  const grammars: Grammar[] = ['python', 'c', 'cpp', 'javascript', 'typescript', 'tsx'];
  // Sequentially: concurrent loads race in the wasm dynamic linker and fail to resolve
  // scanner symbols now and then.
  for (const g of grammars) {
    const lang = await TsLanguage.load(wasmPath(g));
    const p = new Parser();
    p.setLanguage(lang);
    parsers.set(g, p);
  }
}

/** Loads the runtime and every grammar once per process; later calls share the same promise. */
export function initParsers(): Promise<void> {
  if (!ready) {
    ready = load().catch((err: unknown) => {
      // A failed load must not poison the cache forever: the next call retries.
      ready = null;
      throw err;
    });
  }
  return ready;
}

export function parsersReady(): boolean {
  return parsers.size > 0;
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
  const parser = parsers.get(grammarFor(language, path));
  if (!parser) throw new Error('built-in rules: parsers not initialised (await initBuiltinRules() first)');
  const tree = parser.parse(content);
  if (!tree) throw new Error(`built-in rules: tree-sitter returned no tree for ${path}`);
  return tree;
}
