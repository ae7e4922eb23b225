import { XMLParser } from 'fast-xml-parser';
import { cweId, type Finding, type Severity } from '../../shared/findings.js';
import { runTool, probeVersion } from './process.js';
import type { Analyzer, AnalyzeContext } from './types.js';

/*
 * cppcheck with its XML v2 output, which carries a CWE per message. Only messages whose CWE is a
 * memory-safety or injection weakness are kept: cppcheck's style and portability notes (CWE-398,
 * 563, ...) would turn a security gate into a linter that people bypass.
 */

const SECURITY_CWES = new Set([
  119, 120, 121, 122, 124, 125, 126, 127, 129, 131, 170, 193, 786, 787, 788, 805, 806, 823, // bounds
  476, 690, // null
  416, 415, 825, 672, 562, 910, // lifetime
  190, 191, 680, 128, // overflow
  134, 78, 22, 401, 664, 908, 457,
]);

const SEVERITY: Record<string, Severity> = { error: 'error', warning: 'warning', portability: 'note', performance: 'note', style: 'note' };

interface XmlError {
  id: string;
  severity: string;
  msg: string;
  cwe?: string | number;
  location?: XmlLocation | XmlLocation[];
}
interface XmlLocation {
  file: string;
  line: string | number;
}

export function cppcheckFindings(xml: string, toRepoPath: (file: string) => string | undefined): Finding[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'error' || name === 'location' });
  const doc = parser.parse(xml) as { results?: { errors?: { error?: XmlError[] } | '' } };
  const errors = (doc.results?.errors && typeof doc.results.errors === 'object' ? doc.results.errors.error : undefined) ?? [];
  const out: Finding[] = [];
  for (const e of errors) {
    const cwe = Number(e.cwe);
    if (!cwe || !SECURITY_CWES.has(cwe)) continue;
    const locs = Array.isArray(e.location) ? e.location : e.location ? [e.location] : [];
    // The first location is where cppcheck reports the problem; later ones are the trail to it.
    const loc = locs[0];
    if (!loc) continue;
    const file = toRepoPath(loc.file);
    if (!file) continue;
    const line = Number(loc.line);
    out.push({
      tool: 'cppcheck',
      ruleId: e.id,
      cwe: [cweId(cwe)],
      severity: SEVERITY[e.severity] ?? 'note',
      file,
      startLine: line,
      endLine: line,
      message: e.msg,
    });
  }
  return out;
}

export const cppcheckAnalyzer: Analyzer = {
  id: 'cppcheck',
  title: 'cppcheck',
  languages: ['c', 'cpp'],
  granularity: 'file',
  defaultEnabled: true,
  async probe() {
    const version = await probeVersion('cppcheck', ['--version'], /Cppcheck\s+(\S+)/);
    if (!version) return { available: false, detail: 'cppcheck is not installed (Debian: apt-get install cppcheck)' };
    return { available: true, version };
  },
  async analyze(ctx: AnalyzeContext) {
    const out: Finding[] = [];
    for (const f of ctx.files) {
      const r = await runTool(
        'cppcheck',
        ['--enable=warning,portability', '--inconclusive', '--xml', '--xml-version=2', '-q', '--library=posix',
          `--language=${f.language === 'cpp' ? 'c++' : 'c'}`, f.path],
        { cwd: ctx.root, timeoutMs: ctx.timeoutMs, signal: ctx.signal },
      );
      if (!r.stderr.includes('<results')) throw new Error(`cppcheck failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
      out.push(...cppcheckFindings(r.stderr, (p) => (p === f.path || p === f.absPath ? f.path : undefined)));
    }
    return { findings: out, notAnalyzed: [] };
  },
};
