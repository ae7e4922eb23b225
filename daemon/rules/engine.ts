import type { Finding, Language } from '../../shared/findings.js';
import { copyTree } from './ast.js';
import { RULES, type RuleHit } from './catalog.js';
import { checkC, untypedDefinitions } from './c.js';
import { checkJs } from './js.js';
import { initParsers, parse } from './parser.js';
import { checkPython } from './python.js';

export const BUILTIN_TOOL = 'builtin';

/** Loads tree-sitter and the grammars; must be awaited once before `runBuiltinRules`. */
export function initBuiltinRules(): Promise<void> {
  return initParsers();
}

/** Runs every built-in rule for `language` over one file. Synchronous once initialised. */
export function runBuiltinRules(path: string, language: Language, content: string): Finding[] {
  let root = syntaxTree(path, language, content);
  if (language === 'c' || language === 'cpp') {
    // Function definitions without a return type: give them C89's implicit `int` and parse again. The
    // insertions never add a line, so every finding keeps its line number.
    const at = untypedDefinitions(root);
    if (at.length > 0) {
      let patched = '';
      let from = 0;
      for (const i of at) {
        patched += content.slice(from, i) + 'int ';
        from = i;
      }
      root = syntaxTree(path, language, patched + content.slice(from));
    }
  }
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
        hits = checkJs(root);
        break;
      default:
        hits = [];
    }
  }
  return toFindings(path, hits);
}

function syntaxTree(path: string, language: Language, content: string) {
  const tree = parse(language, path, content);
  try {
    return copyTree(tree, content);
  } finally {
    tree.delete();
  }
}

const NON_PRODUCT_DIRS = new Set([
  'test', 'tests', 'testing', '__tests__', 'spec', 'specs', 'example', 'examples', 'sample', 'samples', 'demo', 'demos',
  'doc', 'docs', 'benchmark', 'benchmarks', 'fuzz', 'fuzzing',
]);
const TEST_FILE = /^(test_.*\.py|.*_test\.py|conftest\.py|.*\.(test|spec)\.[cm]?[jt]sx?|test_.*\.c|.*_test\.(c|cc|cpp))$/i;

/**
 * Where a file is test, example or documentation code, the directory (or file-name pattern) that says
 * so. Such code does not ship, so its findings are reported but do not block.
 */
export function nonProductLocation(path: string): string | null {
  const parts = path.split(/[\\/]/);
  const file = parts.pop() ?? '';
  for (let i = 0; i < parts.length; i++) {
    if (NON_PRODUCT_DIRS.has(parts[i].toLowerCase())) return `${parts.slice(0, i + 1).join('/')}/`;
  }
  return TEST_FILE.test(file) ? file : null;
}

function toFindings(path: string, hits: RuleHit[]): Finding[] {
  const seen = new Set<string>();
  const where = nonProductLocation(path);
  const out: Finding[] = [];
  for (const h of hits.sort((a, b) => a.startLine - b.startLine || a.rule.localeCompare(b.rule))) {
    const meta = RULES.get(h.rule);
    if (!meta) throw new Error(`built-in rules: hit for unknown rule ${h.rule}`);
    const key = `${h.rule}:${h.startLine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const severity = h.severity ?? meta.severity;
    const message = h.detail ? `${meta.message} (${h.detail})` : meta.message;
    out.push({
      tool: BUILTIN_TOOL,
      ruleId: meta.id,
      cwe: [...meta.cwe],
      severity: where ? 'note' : severity,
      file: path,
      startLine: h.startLine,
      endLine: Math.max(h.startLine, h.endLine),
      message: where ? `[in test/example code: ${where}; would be ${severity} elsewhere] ${message}` : message,
    });
  }
  return out;
}
