import type { Finding, Language } from '../../shared/findings.js';
import { initParsers, parse } from '../rules/parser.js';

/*
 * The unit of repair: the enclosing function of a group of findings, found with tree-sitter, so the
 * model sees (and may change) the whole function but nothing else. Findings outside any function,
 * or in a function too long to send, fall back to the lines around them.
 */

export const FUNCTION_TYPES = new Set<string>([
  'function_definition', // python, c, cpp
  'function_declaration',
  'method_definition',
  'function_expression',
  'arrow_function',
  'function',
  'generator_function_declaration',
]);

const MAX_REGION_LINES = 120;
const CONTEXT = 6;

export interface Region {
  startLine: number;
  endLine: number;
  findings: Finding[];
}

async function enclosingFunction(language: Language, path: string, content: string, line: number): Promise<[number, number] | undefined> {
  try {
    await initParsers();
    const tree = parse(language, path, content);
    try {
      const lineText = content.split('\n')[line - 1] ?? '';
      const col = Math.max(0, lineText.length - lineText.trimStart().length);
      let node = tree.rootNode.descendantForPosition({ row: line - 1, column: col });
      while (node) {
        if (FUNCTION_TYPES.has(node.type)) {
          // Decorators belong to the function in Python.
          const outer = node.parent?.type === 'decorated_definition' ? node.parent : node;
          return [outer.startPosition.row + 1, outer.endPosition.row + 1];
        }
        node = node.parent;
      }
      return undefined;
    } finally {
      tree.delete();
    }
  } catch {
    return undefined;
  }
}

export async function regionsFor(language: Language, path: string, content: string, findings: Finding[]): Promise<Region[]> {
  const lineCount = content.split('\n').length;
  const spans: Region[] = [];
  for (const f of findings) {
    const fn = await enclosingFunction(language, path, content, f.startLine);
    let [s, e] = fn && fn[1] - fn[0] + 1 <= MAX_REGION_LINES ? fn : [f.startLine - CONTEXT, f.endLine + CONTEXT];
    s = Math.max(1, s);
    e = Math.min(lineCount, Math.max(e, f.endLine));
    spans.push({ startLine: s, endLine: e, findings: [f] });
  }
  spans.sort((a, b) => a.startLine - b.startLine);
  const merged: Region[] = [];
  for (const r of spans) {
    const last = merged[merged.length - 1];
    if (last && r.startLine <= last.endLine + 1) {
      last.endLine = Math.max(last.endLine, r.endLine);
      last.findings.push(...r.findings);
    } else merged.push({ ...r, findings: [...r.findings] });
  }
  return merged;
}
