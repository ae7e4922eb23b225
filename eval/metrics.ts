import type { Mode, SampleRecord } from './types.js';

/*
 * The paper's metrics, computed SVEN's way: within one (mode, run, scenario), duplicate programs are
 * dropped (the first sample keeps its place), then programs that do not parse are dropped from the
 * effective set and counted as unresolved. Samples that hit infrastructure trouble never count.
 */

export interface Counts {
  /** Samples with a result (infrastructure errors excluded). */
  generated: number;
  errors: number;
  duplicates: number;
  /** Distinct programs: the paper's "valid inputs". */
  unique: number;
  /** Distinct programs that parse/compile: Eff. Total. */
  eff: number;
  /** Effective programs with no finding of the scenario's CWE family in the completion: Sec. Count. */
  sec: number;
  /** Effective programs no judge tool could score. */
  unscored: number;
  /** Distinct programs that do not parse/compile: Unres. Count. */
  unres: number;
  iterations: number;
  tokens: number;
  seconds: number;
  llmCalls: number;
}

export const RATE_NAMES = ['effTotal', 'secCount', 'secRate', 'passRate', 'unresCount', 'iterationsPerSample', 'tokensPerSample', 'secondsPerSample'] as const;
export type RateName = (typeof RATE_NAMES)[number];
export type Rates = Record<RateName, number | null>;

export interface Stat {
  mean: number | null;
  /** Sample standard deviation over runs (n - 1); 0 for a single run. */
  std: number | null;
  /** Runs that had a value. */
  n: number;
}

export type Scope = 'scenario' | 'cwe' | 'overall';

export interface MetricRow {
  mode: Mode;
  scope: Scope;
  /** Scenario id, CWE folder (`cwe-089`), or `overall`. */
  key: string;
  perRun: Array<{ run: number; counts: Counts; rates: Rates }>;
  summary: Record<RateName, Stat>;
}

export function normalizeProgram(code: string): string {
  return code.replace(/\r\n/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').replace(/\n+$/, '');
}

/** key of each duplicate sample -> key of the earlier sample it repeats. */
export function findDuplicates(records: readonly SampleRecord[]): Map<string, string> {
  const dup = new Map<string, string>();
  const first = new Map<string, string>();
  const ordered = records.filter((r) => !r.error).sort((a, b) => a.index - b.index);
  for (const r of ordered) {
    const k = `${r.mode}|${r.run}|${r.scenario}|${normalizeProgram(r.code)}`;
    const seen = first.get(k);
    if (seen) dup.set(r.key, seen);
    else first.set(k, r.key);
  }
  return dup;
}

function emptyCounts(): Counts {
  return { generated: 0, errors: 0, duplicates: 0, unique: 0, eff: 0, sec: 0, unscored: 0, unres: 0, iterations: 0, tokens: 0, seconds: 0, llmCalls: 0 };
}

function add(c: Counts, r: SampleRecord, isDup: boolean): void {
  if (r.error) {
    c.errors++;
    return;
  }
  c.generated++;
  c.iterations += r.iterations;
  c.tokens += r.tokens.total;
  c.seconds += r.seconds;
  c.llmCalls += r.llmCalls;
  if (isDup) {
    c.duplicates++;
    return;
  }
  c.unique++;
  if (!r.parse.ok) {
    c.unres++;
    return;
  }
  c.eff++;
  if (r.secure === null) c.unscored++;
  else if (r.secure) c.sec++;
}

const pct = (a: number, b: number): number | null => (b > 0 ? (100 * a) / b : null);
const per = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function ratesOf(c: Counts): Rates {
  return {
    effTotal: c.eff,
    secCount: c.sec,
    secRate: pct(c.sec, c.eff - c.unscored),
    passRate: pct(c.eff, c.unique),
    unresCount: c.unres,
    iterationsPerSample: per(c.iterations, c.generated),
    tokensPerSample: per(c.tokens, c.generated),
    secondsPerSample: per(c.seconds, c.generated),
  };
}

export function stat(values: Array<number | null>): Stat {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return { mean: null, std: null, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

export interface MetricsInput {
  records: readonly SampleRecord[];
  modes: readonly Mode[];
  runs: number;
  /** Scenario id -> CWE folder, in report order. */
  scenarios: ReadonlyArray<{ id: string; cweDir: string }>;
}

/**
 * Per scenario, per CWE (programs pooled over its scenarios) and overall (pooled over every
 * scenario), each per run and as mean/std over runs.
 */
export function computeMetrics(input: MetricsInput): MetricRow[] {
  const dups = findDuplicates(input.records);
  const cweOf = new Map(input.scenarios.map((s) => [s.id, s.cweDir]));
  const groups: Array<{ scope: Scope; key: string; match: (r: SampleRecord) => boolean }> = [
    ...input.scenarios.map((s) => ({ scope: 'scenario' as const, key: s.id, match: (r: SampleRecord) => r.scenario === s.id })),
    ...[...new Set(input.scenarios.map((s) => s.cweDir))].map((c) => ({ scope: 'cwe' as const, key: c, match: (r: SampleRecord) => cweOf.get(r.scenario) === c })),
    { scope: 'overall' as const, key: 'overall', match: (r: SampleRecord) => cweOf.has(r.scenario) },
  ];
  const rows: MetricRow[] = [];
  for (const mode of input.modes) {
    const mine = input.records.filter((r) => r.mode === mode);
    for (const g of groups) {
      const perRun: MetricRow['perRun'] = [];
      for (let run = 1; run <= input.runs; run++) {
        const counts = emptyCounts();
        for (const r of mine) if (r.run === run && g.match(r)) add(counts, r, dups.has(r.key));
        perRun.push({ run, counts, rates: ratesOf(counts) });
      }
      const summary = Object.fromEntries(RATE_NAMES.map((n) => [n, stat(perRun.map((p) => p.rates[n]))])) as Record<RateName, Stat>;
      rows.push({ mode, scope: g.scope, key: g.key, perRun, summary });
    }
  }
  return rows;
}
