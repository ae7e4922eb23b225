import { XMLParser } from 'fast-xml-parser';
import { cweId, type Finding, type Severity } from '../../shared/findings.js';
import { asOperand, buildContext, cppcheckFlags, snapshotOf } from './build-context.js';
import { runTool, probeVersion } from './process.js';
import { ToolTimeoutError, type Analyzer, type AnalyzeContext, type AnalyzerRun } from './types.js';

/*
 * cppcheck with its XML v2 output, which carries the CWE cppcheck assigns to each message; that
 * CWE is the classification (no hand list of "security" CWEs, which dropped real hits such as
 * mktemp, sizeof on a pointer, printf argument counts and resource leaks). Severity is where the
 * gate stays a gate and not a linter: code-quality CWEs (398 and friends), style, portability,
 * performance and inconclusive messages are notes and never block; so are checks of the "either the
 * condition is redundant or there is a null dereference" kind, since cppcheck cannot say which of
 * the two it saw (on cJSON all 15 were redundant conditions); leaks are warnings at most; cppcheck's
 * errors are errors. Messages with no CWE are not security findings and are dropped.
 */

/** Code-quality weaknesses: shown, never blocking. */
const QUALITY_CWES = new Set([398, 561, 563, 570, 571, 683, 704, 710, 758, 768, 783, 1041, 1164]);
const LEAK_CWES = new Set([401, 404, 772, 775]);
/** Messages that mean cppcheck did not analyze the file (or this configuration of it). */
const NOT_ANALYZED_IDS = new Set(['syntaxError', 'unknownMacro', 'internalAstError', 'cppcheckError', 'internalError', 'preprocessorErrorDirective', 'noValidConfiguration']);

interface XmlError {
  id: string;
  severity: string;
  msg: string;
  cwe?: string | number;
  inconclusive?: string;
  location?: XmlLocation | XmlLocation[];
}
interface XmlLocation {
  file: string;
  line: string | number;
}

export function cppcheckSeverity(e: { id: string; severity: string; cwe?: string | number; inconclusive?: string }): Severity {
  const cwe = Number(e.cwe);
  if (QUALITY_CWES.has(cwe) || e.inconclusive === 'true' || /redundant/i.test(e.id)) return 'note';
  if (e.severity !== 'error' && e.severity !== 'warning') return 'note'; // style, performance, portability, information
  if (LEAK_CWES.has(cwe)) return 'warning';
  return e.severity === 'error' ? 'error' : 'warning';
}

export interface CppcheckReport {
  findings: Finding[];
  /** Why the file was not analyzed, when cppcheck said it could not (syntax error, unknown macro, #error). */
  notAnalyzed?: string;
}

function parseErrors(xml: string): XmlError[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'error' || name === 'location' });
  const doc = parser.parse(xml) as { results?: { errors?: { error?: XmlError[] } | '' } };
  return (doc.results?.errors && typeof doc.results.errors === 'object' ? doc.results.errors.error : undefined) ?? [];
}

/** Findings located in a file `toRepoPath` accepts (it maps cppcheck's path to the repo path). */
export function cppcheckFindings(xml: string, toRepoPath: (file: string) => string | undefined): Finding[] {
  return cppcheckReport(xml, toRepoPath).findings;
}

export function cppcheckReport(xml: string, toRepoPath: (file: string) => string | undefined): CppcheckReport {
  const out: CppcheckReport = { findings: [] };
  for (const e of parseErrors(xml)) {
    const locs = Array.isArray(e.location) ? e.location : e.location ? [e.location] : [];
    // The first location is where cppcheck reports the problem; later ones are the trail to it.
    const loc = locs[0];
    const file = loc ? toRepoPath(String(loc.file).replace(/^\.\//, '')) : undefined;
    if (NOT_ANALYZED_IDS.has(e.id)) {
      out.notAnalyzed ??= `${file ? `${file}:${loc!.line}: ` : ''}${e.id}: ${e.msg}`;
      continue;
    }
    const cwe = Number(e.cwe);
    if (!cwe || !file) continue;
    const line = Number(loc!.line);
    out.findings.push({
      tool: 'cppcheck',
      ruleId: e.id,
      cwe: [cweId(cwe)],
      severity: cppcheckSeverity(e),
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
  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    const run: AnalyzerRun = { findings: [], notAnalyzed: [] };
    const bc = await buildContext(ctx, 'cppcheck');
    const deadline = Date.now() + ctx.timeoutMs;
    // One process per file: a file cppcheck cannot read or parse costs only itself.
    for (const f of ctx.files) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        run.notAnalyzed.push({ path: f.path, reason: `time bound exceeded (cppcheck's ${ctx.timeoutMs} ms for this check were spent)` });
        continue;
      }
      const b = await bc.forFile(f);
      const snap = snapshotOf(bc, f);
      let r;
      try {
        // cppcheck has no "--": the file goes as ./path, which can never read as an option.
        r = await runTool(
          'cppcheck',
          ['--enable=warning,portability', '--inconclusive', '--xml', '--xml-version=2', '-q', '--library=posix', ...cppcheckFlags(bc, f, b, snap), asOperand(f.path)],
          { cwd: snap, timeoutMs: remaining, signal: ctx.signal },
        );
      } catch (err) {
        if (!(err instanceof ToolTimeoutError)) throw err;
        run.notAnalyzed.push({ path: f.path, reason: `time bound exceeded (cppcheck, ${remaining} ms)` });
        continue;
      }
      if (!r.stderr.includes('<results')) {
        // cppcheck prints its own failures ("could not find or open any of the paths given") on stdout.
        const why = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim())?.trim();
        run.notAnalyzed.push({ path: f.path, reason: `not analyzed: ${why ?? `cppcheck exited ${r.code} without a report`}` });
        continue;
      }
      const rep = cppcheckReport(r.stderr, (p) => (p === f.path || p === f.absPath ? f.path : undefined));
      run.findings.push(...rep.findings);
      if (rep.notAnalyzed) run.notAnalyzed.push({ path: f.path, reason: `not analyzed: ${rep.notAnalyzed}` });
    }
    return run;
  },
};
