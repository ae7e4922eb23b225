import type { Finding } from '../shared/findings.js';

const NON_PRODUCT_DIRS = new Set([
  'test', 'tests', 'testing', '__tests__', 'spec', 'specs', 'example', 'examples', 'sample', 'samples', 'demo', 'demos',
  'doc', 'docs', 'benchmark', 'benchmarks', 'fuzz', 'fuzzing',
]);
const TEST_FILE = /^(test_.*\.py|.*_test\.py|conftest\.py|.*\.(test|spec)\.[cm]?[jt]sx?|test_.*\.c|.*_test\.(c|cc|cpp))$/i;
const MARK = '[in test/example code: ';

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

/**
 * Every analyzer's findings in test, example and documentation code become notes that say where they
 * are and what they would have been: still reported, never blocking. Applied once, in the pipeline,
 * whichever tool found them.
 */
export function demoteNonProduct(findings: Finding[]): Finding[] {
  return findings.map((f) => {
    const where = nonProductLocation(f.file);
    if (!where || f.message.startsWith(MARK)) return f;
    return { ...f, severity: 'note', message: `${MARK}${where}; would be ${f.severity} elsewhere] ${f.message}` };
  });
}
