import type { Finding, Language } from '../../shared/findings.js';
import { copyTree } from './ast.js';
import { RULES, type RuleHit } from './catalog.js';
import { checkC } from './c.js';
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
  const tree = parse(language, path, content);
  let root;
  try {
    root = copyTree(tree, content);
  } finally {
    tree.delete();
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
  return out;
}
