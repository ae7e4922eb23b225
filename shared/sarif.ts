import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { AnalyzerStatus, Finding, Severity } from './findings.js';

/*
 * `reflexgen check --format sarif`: SARIF 2.1.0 for CI systems and code-scanning UIs.
 *
 * One run whose driver is reflexgen: the gate is the tool of record, and the analyzer that found
 * each problem is kept in the rule id (`bandit/B608`) and in the result's properties. Upload
 * targets key alerts on rule id + fingerprint, so both must be stable across runs. Each analyzer
 * with its version appears as a tool extension, and analyzers that did not run are reported as
 * tool execution notifications, so "no results" is never mistaken for "checked and clean" when a
 * tool was missing.
 */

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
const SRCROOT = '%SRCROOT%';

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

// Only the parts we write; a loose shape keeps this file readable.
export interface SarifRun {
  tool: { driver: Record<string, unknown>; extensions?: Record<string, unknown>[] };
  originalUriBaseIds?: Record<string, { uri: string }>;
  invocations: Record<string, unknown>[];
  results: Record<string, unknown>[];
  columnKind: 'utf16CodeUnits';
}

export interface ToSarifOptions {
  toolVersion: string;
  /** Absolute repo root; when given, `%SRCROOT%` is declared so viewers can open the files. */
  repoRoot?: string;
  informationUri?: string;
}

function cweNumber(c: string): number {
  return Number.parseInt(c.replace(/^CWE-/i, ''), 10);
}

/** The tag CodeQL and GitHub use: three-digit zero padding (`external/cwe/cwe-089`). */
export function cweTag(c: string): string {
  return `external/cwe/cwe-${String(cweNumber(c)).padStart(3, '0')}`;
}

export function cweHelpUri(c: string): string {
  return `https://cwe.mitre.org/data/definitions/${cweNumber(c)}.html`;
}

function ruleKey(f: Finding): string {
  return `${f.tool}/${f.ruleId}`;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function fingerprint(f: Finding): string {
  // No line number: a result keeps its identity when code above it moves.
  return createHash('sha256')
    .update([f.file, f.tool, f.ruleId, [...f.cwe].sort().join(','), f.message.replace(/\s+/g, ' ').trim()].join('\0'))
    .digest('hex')
    .slice(0, 32);
}

const RANK: Record<Severity, number> = { error: 3, warning: 2, note: 1 };
const SECURITY_SEVERITY: Record<Severity, string> = { error: '8.0', warning: '5.0', note: '2.0' };

function notificationLevel(state: AnalyzerStatus['state']): 'error' | 'warning' | 'note' {
  if (state === 'error' || state === 'timeout') return 'error';
  if (state === 'missing') return 'warning';
  return 'note';
}

export function toSarif(result: { findings: readonly Finding[]; analyzers: readonly AnalyzerStatus[] }, opts: ToSarifOptions): SarifLog {
  const rules: Record<string, unknown>[] = [];
  const ruleIndex = new Map<string, number>();
  const ruleLevel = new Map<string, Severity>();
  for (const f of result.findings) {
    const key = ruleKey(f);
    const prev = ruleLevel.get(key);
    if (!prev || RANK[f.severity] > RANK[prev]) ruleLevel.set(key, f.severity);
    const known = ruleIndex.get(key);
    if (known !== undefined) {
      // A rule's CWE tags are the union over its results (hand maps can refine per message).
      const r = rules[known] as { properties: { tags: string[] } };
      for (const c of f.cwe) if (!r.properties.tags.includes(cweTag(c))) r.properties.tags.push(cweTag(c));
      continue;
    }
    ruleIndex.set(key, rules.length);
    const cwes = f.cwe.length ? f.cwe.join(', ') : 'no CWE';
    const help = `${f.message.trim() || f.ruleId} (${cwes}; reported by ${f.tool}).${f.cwe.length ? ` About the weakness: ${cweHelpUri(f.cwe[0])}` : ''}`;
    const rule: Record<string, unknown> = {
      id: key,
      name: f.ruleId,
      shortDescription: { text: `${f.ruleId} (${f.tool})` },
      // Code-scanning UIs show these on the alert page and warn when a rule lacks them.
      fullDescription: { text: `${f.ruleId}, reported by ${f.tool}: ${cwes}` },
      help: { text: help, markdown: help.replace(/(https:\/\/\S+)/, '[$1]($1)') },
      properties: { tags: ['security', ...f.cwe.map(cweTag)], tool: f.tool },
    };
    if (f.cwe.length) rule.helpUri = cweHelpUri(f.cwe[0]);
    rules.push(rule);
  }
  for (const [key, level] of ruleLevel) {
    const rule = rules[ruleIndex.get(key)!] as { defaultConfiguration?: unknown; properties: Record<string, unknown> };
    rule.defaultConfiguration = { level };
    // GitHub ranks security alerts by this score (high >= 7.0, medium >= 4.0, low > 0).
    rule.properties['security-severity'] = SECURITY_SEVERITY[level];
  }

  const results = result.findings.map((f) => ({
    ruleId: ruleKey(f),
    ruleIndex: ruleIndex.get(ruleKey(f)),
    level: f.severity,
    message: { text: f.message.trim() || `${f.ruleId} (${f.tool})` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: encodePath(f.file), uriBaseId: SRCROOT },
          region: { startLine: f.startLine, endLine: Math.max(f.startLine, f.endLine) },
        },
      },
    ],
    partialFingerprints: { 'reflexgen/v1': fingerprint(f) },
    properties: {
      tool: f.tool,
      cwe: f.cwe,
      ...(f.alsoReportedBy?.length ? { alsoReportedBy: f.alsoReportedBy } : {}),
    },
  }));

  const notifications = result.analyzers
    .filter((a) => a.state !== 'ok')
    .map((a) => ({
      level: notificationLevel(a.state),
      message: { text: `${a.id}: ${a.state}${a.detail ? ` (${a.detail})` : ''}` },
      descriptor: { id: `analyzer/${a.state}` },
    }));

  const run: SarifRun = {
    tool: {
      driver: {
        name: 'reflexgen',
        version: opts.toolVersion,
        ...(opts.informationUri ? { informationUri: opts.informationUri } : {}),
        rules,
      },
      extensions: result.analyzers.map((a) => ({ name: a.id, ...(a.version ? { version: a.version } : {}) })),
    },
    invocations: [
      {
        executionSuccessful: !result.analyzers.some((a) => a.state === 'error'),
        ...(notifications.length ? { toolExecutionNotifications: notifications } : {}),
      },
    ],
    results,
    columnKind: 'utf16CodeUnits',
  };
  if (opts.repoRoot) {
    const base = pathToFileURL(opts.repoRoot).href;
    run.originalUriBaseIds = { [SRCROOT]: { uri: base.endsWith('/') ? base : `${base}/` } };
  }
  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs: [run] };
}
