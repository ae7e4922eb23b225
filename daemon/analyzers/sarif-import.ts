import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Finding, Severity } from '../../shared/findings.js';
import { cweId } from '../../shared/findings.js';

/*
 * SARIF 2.1.0 -> normalized findings, shared by every SARIF-producing tool (CodeQL, clang's
 * analyzer, anything a user points us at). Pure: no I/O, so it is tested on hand-written files.
 *
 * Tools disagree on how much of SARIF they use. CodeQL puts its query metadata on rules that can
 * live in the driver or in a query pack's extension, and points at them with `rule.toolComponent`
 * + `rule.index`; clang writes absolute file:// URIs and no tags at all. So every lookup here has a
 * fallback chain, and the caller can add CWEs the tool itself does not print (`cweForRule`).
 */

export interface SarifImportOptions {
  /** Finding.tool for every result. */
  tool: string;
  /** Source root the findings' paths are made relative to (CodeQL's %SRCROOT%, clang's absolute paths). */
  root?: string;
  /** CWEs for tools whose rules carry no `external/cwe/...` tags (hand maps). */
  cweForRule?: (ruleId: string, message: string) => string[];
  /** Overrides the severity derived from the SARIF (e.g. a tool whose levels mean nothing). */
  severityForRule?: (ruleId: string, message: string, derived: Severity) => Severity;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

const CWE_TAG = /^external\/cwe\/cwe-0*(\d+)$/i;

/** `external/cwe/cwe-089` -> `CWE-89`; other tags are ignored. */
export function cwesFromTags(tags: unknown): string[] {
  const out: string[] = [];
  for (const t of arr(tags)) {
    const m = typeof t === 'string' ? CWE_TAG.exec(t.trim()) : null;
    if (m) {
      const id = cweId(m[1]);
      if (!out.includes(id)) out.push(id);
    }
  }
  return out;
}

/**
 * GitHub code scanning's bands for `security-severity` (critical/high -> error, medium -> warning,
 * low -> note); a gate should block on the same things a code-scanning UI shows as high.
 */
function severityFromScore(score: unknown): Severity | undefined {
  const n = typeof score === 'number' ? score : typeof score === 'string' ? Number.parseFloat(score) : Number.NaN;
  if (!Number.isFinite(n)) return undefined;
  if (n >= 7) return 'error';
  if (n >= 4) return 'warning';
  return 'note';
}

function severityFromLevel(level: unknown): Severity | undefined {
  switch (level) {
    case 'error':
      return 'error';
    case 'warning':
      return 'warning';
    case 'note':
    case 'none':
      return 'note';
    default:
      return undefined;
  }
}

function severityFromProblem(sev: unknown): Severity | undefined {
  if (sev === 'error') return 'error';
  if (sev === 'warning') return 'warning';
  if (sev === 'recommendation') return 'note';
  return undefined;
}

interface RuleTable {
  /** driver rules by index */
  driver: Json[];
  /** extension rules by extension index, then rule index */
  extensions: Json[][];
  byId: Map<string, Json>;
}

function ruleTable(run: Json): RuleTable {
  const tool = obj(run.tool) ?? {};
  const driver = arr(obj(tool.driver)?.rules).map((r) => obj(r) ?? {});
  const extensions = arr(tool.extensions).map((e) => arr(obj(e)?.rules).map((r) => obj(r) ?? {}));
  const byId = new Map<string, Json>();
  // Driver rules win over an extension's rule of the same id: the driver is what actually ran.
  for (const rules of [...extensions].reverse()) for (const r of rules) if (str(r.id)) byId.set(r.id as string, r);
  for (const r of driver) if (str(r.id)) byId.set(r.id as string, r);
  return { driver, extensions, byId };
}

function findRule(result: Json, rules: RuleTable): Json | undefined {
  const ref = obj(result.rule);
  if (ref) {
    const idx = int(ref.index);
    const comp = obj(ref.toolComponent);
    const compIdx = comp ? int(comp.index) : undefined;
    if (idx !== undefined) {
      // A reference with a toolComponent index points into tool.extensions; without one, into the driver.
      const table = compIdx !== undefined ? rules.extensions[compIdx] : rules.driver;
      const hit = table?.[idx];
      if (hit && (!str(ref.id) || hit.id === ref.id)) return hit;
    }
  }
  const ri = int(result.ruleIndex);
  if (ri !== undefined) {
    const hit = rules.driver[ri];
    if (hit && (!str(result.ruleId) || hit.id === result.ruleId)) return hit;
  }
  const id = str(result.ruleId) ?? str(ref?.id);
  return id ? rules.byId.get(id) : undefined;
}

/** CodeQL messages link to related locations as `[text](1)`; the gate shows plain text. */
function plainMessage(text: string): string {
  return text.replace(/\[([^\]]*)\]\(\d+\)/g, '$1').trim();
}

function messageOf(result: Json, rule: Json | undefined): string {
  const m = obj(result.message) ?? {};
  let text = str(m.text) ?? str(m.markdown);
  if (!text && str(m.id) && rule) {
    const ms = obj(obj(rule.messageStrings)?.[m.id as string]);
    text = str(ms?.text);
  }
  if (!text) text = str(obj(rule?.shortDescription)?.text) ?? str(rule?.name) ?? '';
  const args = arr(m.arguments).map((a) => String(a));
  if (args.length) text = text.replace(/\{(\d+)\}/g, (all, i: string) => args[Number(i)] ?? all);
  return plainMessage(text);
}

function resolveUri(
  loc: Json,
  run: Json,
  root: string | undefined,
): string | undefined {
  let uri = str(loc.uri);
  let baseId = str(loc.uriBaseId);
  const index = int(loc.index);
  if (uri === undefined && index !== undefined) {
    const art = obj(obj(arr(run.artifacts)[index])?.location);
    uri = str(art?.uri);
    baseId = baseId ?? str(art?.uriBaseId);
  }
  if (uri === undefined) return undefined;

  // A base id declared in the run (originalUriBaseIds) may itself be a file:// URI; %SRCROOT% is
  // CodeQL's name for the source root and is usually left undeclared, meaning "relative to root".
  if (baseId) {
    const base = str(obj(obj(run.originalUriBaseIds)?.[baseId])?.uri);
    if (base && !/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
      uri = base.endsWith('/') ? base + uri : `${base}/${uri}`;
    }
  }

  let path: string;
  if (/^file:/i.test(uri)) {
    try {
      path = fileURLToPath(uri);
    } catch {
      return undefined;
    }
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    return undefined; // http: and friends do not name a file in the snapshot
  } else {
    try {
      path = decodeURIComponent(uri);
    } catch {
      path = uri;
    }
  }

  if (isAbsolute(path)) {
    if (!root) return path.split(sep).join('/');
    const rel = relative(resolve(root), path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined; // outside the snapshot: a system header
    return rel.split(sep).join('/');
  }
  const norm = posix.normalize(path.split(sep).join('/')).replace(/^\.\//, '');
  if (norm.startsWith('../')) return undefined;
  return norm;
}

/** Every result of every run that has a location in a file under `root`. */
export function findingsFromSarif(sarif: unknown, opts: SarifImportOptions): Finding[] {
  const out: Finding[] = [];
  const doc = obj(sarif);
  if (!doc) throw new Error(`${opts.tool}: SARIF output is not a JSON object`);
  for (const runV of arr(doc.runs)) {
    const run = obj(runV);
    if (!run) continue;
    const rules = ruleTable(run);
    for (const resV of arr(run.results)) {
      const result = obj(resV);
      if (!result) continue;
      // Suppressed in the source (e.g. CodeQL's alert suppression comments): the author already decided.
      if (arr(result.suppressions).some((s) => obj(s)?.status === undefined || obj(s)?.status === 'accepted')) continue;
      const kind = str(result.kind);
      if (kind && kind !== 'fail') continue; // pass / notApplicable / informational are not findings
      const rule = findRule(result, rules);
      const ruleId = str(result.ruleId) ?? str(obj(result.rule)?.id) ?? str(rule?.id) ?? 'unknown';
      const props = obj(rule?.properties) ?? {};
      const message = messageOf(result, rule);

      const cwe = cwesFromTags(props.tags);
      for (const c of cwesFromTags(obj(result.properties)?.tags)) if (!cwe.includes(c)) cwe.push(c);
      if (opts.cweForRule) for (const c of opts.cweForRule(ruleId, message)) if (!cwe.includes(c)) cwe.push(c);

      // A result's own level wins (SARIF: it overrides the rule's); then the rule's score, as
      // code scanning ranks it; then the rule's defaults.
      let severity: Severity =
        severityFromLevel(result.level) ??
        severityFromScore(props['security-severity']) ??
        severityFromProblem(props['problem.severity']) ??
        severityFromLevel(obj(rule?.defaultConfiguration)?.level) ??
        'warning';
      if (opts.severityForRule) severity = opts.severityForRule(ruleId, message, severity);

      const phys = obj(obj(arr(result.locations)[0])?.physicalLocation);
      if (!phys) continue;
      const file = resolveUri(obj(phys.artifactLocation) ?? {}, run, opts.root);
      if (!file) continue;
      const region = obj(phys.region) ?? {};
      const startLine = Math.max(1, int(region.startLine) ?? 1);
      const endLine = Math.max(startLine, int(region.endLine) ?? startLine);
      out.push({ tool: opts.tool, ruleId, cwe, severity, file, startLine, endLine, message });
    }
  }
  return out;
}
