import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../../shared/config.js';
import type { Language } from '../../shared/findings.js';
import { runTool } from '../analyzers/process.js';
import type { SourceFile } from '../analyzers/types.js';
import { runAnalyzers } from '../pipeline/analyze.js';
import type { ResultCache } from '../pipeline/cache.js';
import { gitBlobId } from '../pipeline/cache.js';
import { initParsers, parse } from '../rules/parser.js';
import type { Verification } from '../reflexion/types.js';
import { capabilityFindings } from './capabilities.js';

/*
 * Verification of a repair candidate: the whole candidate file must still parse (C/C++ must pass
 * the compiler's syntax check) and the analyzers are re-run on it. Deep analyzers that run in the
 * background (CodeQL) are left out: a verdict is needed in seconds.
 */

const PYTHON = process.env.REFLEXGEN_PYTHON ?? 'python3';

export async function parseCheck(language: Language, absPath: string, content: string, repoRoot?: string): Promise<{ parses: boolean; error?: string }> {
  if (language === 'python') {
    const r = await runTool(PYTHON, ['-c', 'import ast,sys\nsrc=open(sys.argv[1],"rb").read()\nast.parse(src, sys.argv[1])', absPath], { timeoutMs: 20_000 });
    return r.code === 0 ? { parses: true } : { parses: false, error: r.stderr.trim().split('\n').slice(-1)[0] };
  }
  if (language === 'c' || language === 'cpp') {
    const cc = language === 'cpp' ? 'g++' : 'gcc';
    const inc = [dirname(absPath), ...(repoRoot ? [repoRoot, join(repoRoot, 'include')] : [])].flatMap((d) => ['-I', d]);
    const r = await runTool(cc, ['-fsyntax-only', ...inc, absPath], { timeoutMs: 30_000 });
    if (r.code === 0) return { parses: true };
    const err = r.stderr.split('\n').find((l) => / error: /.test(l));
    return { parses: false, error: err?.replace(absPath, 'file') ?? r.stderr.trim().split('\n')[0] };
  }
  // JavaScript / TypeScript: tree-sitter marks syntax errors in the tree.
  await initParsers();
  const tree = parse(language, absPath, content);
  try {
    if (!tree.rootNode.hasError) return { parses: true };
    let line = 0;
    const stack = [tree.rootNode];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.type === 'ERROR' || n.isMissing) {
        line = n.startPosition.row + 1;
        break;
      }
      for (const c of n.children) if (c && c.hasError) stack.push(c);
    }
    return { parses: false, error: `syntax error${line ? ` near line ${line}` : ''}` };
  } finally {
    tree.delete();
  }
}

export interface VerifierOptions {
  file: SourceFile;
  config: Config;
  repoRoot?: string;
  cache?: ResultCache;
  /** The other files of the check: a candidate is judged with the staged modules it imports (cross-file taint). */
  peers?: SourceFile[];
  /** Reject candidates that add network, process or code-evaluation use (off for `generate`, which writes new programs). */
  sameCapabilities?: boolean;
}

/** Returns a verify(candidate) for one file, as the reflexion engine expects. */
export function makeVerifier(opts: VerifierOptions): (content: string, signal?: AbortSignal) => Promise<Verification> {
  return async (content, signal) => {
    // Named with the daemon's pid so a daemon starting after a crash can remove it (cleanStaleSnapshots).
    const root = await mkdtemp(join(tmpdir(), `reflexgen-verify-${process.pid}-`));
    try {
      const absPath = join(root, opts.file.path);
      await mkdir(dirname(absPath), { recursive: true });
      await writeFile(absPath, content);
      const parsed = await parseCheck(opts.file.language, absPath, content, opts.repoRoot);
      const candidate: SourceFile = { path: opts.file.path, absPath, language: opts.file.language, content, blob: gitBlobId(content) };
      const outcome = await runAnalyzers({
        root,
        repoRoot: opts.repoRoot,
        files: [candidate],
        config: opts.config,
        signal,
        cache: opts.cache,
        perFileOnly: true,
        peers: opts.peers?.filter((p) => p.path !== candidate.path),
      });
      const added = opts.sameCapabilities === false ? [] : capabilityFindings(opts.file.language, opts.file.path, opts.file.content, content);
      return { parses: parsed.parses, ...(parsed.error ? { parseError: parsed.error } : {}), findings: [...outcome.findings, ...added] };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
}
