import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../shared/findings.js';
import { initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';

/**
 * The hand-written SVEN scenario programs: a prompt (the first `prelude_lines` lines) plus an
 * insecure (`-vul`) or secure (`-sec`) completion. Judged, like the benchmark, on completion lines only.
 */
const here = dirname(fileURLToPath(import.meta.url));
const SVEN = join(here, '../../../shared/benchmarks/sven/analyzer_results');
const PROGRAMS = join(SVEN, 'scenario_completions');
const present = existsSync(PROGRAMS);

interface Program {
  cwe: string;
  scenario: string;
  kind: 'vul' | 'sec';
  file: string;
  prelude: number;
  findings: Finding[];
}

function preludes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of readFileSync(join(SVEN, 'scenario_results.jsonl'), 'utf8').split('\n')) {
    if (!l.trim()) continue;
    const r = JSON.parse(l) as { cwe: string; scenario: string; prelude_lines: number };
    out.set(`${r.cwe}/${r.scenario}`, r.prelude_lines);
  }
  return out;
}

const cweOf = (dir: string): string => `CWE-${Number.parseInt(dir.replace('cwe-', ''), 10)}`;

let programs: Program[] = [];

beforeAll(async () => {
  if (!present) return;
  await initBuiltinRules();
  const pre = preludes();
  programs = [];
  for (const dir of readdirSync(PROGRAMS).sort()) {
    for (const file of readdirSync(join(PROGRAMS, dir)).sort()) {
      const m = /^(\d+-(?:py|c))-(vul|sec)\d*\.(py|c)$/.exec(file);
      if (!m) continue;
      const prelude = pre.get(`${dir}/${m[1]}`);
      if (prelude === undefined) throw new Error(`no prelude_lines for ${dir}/${file}`);
      const content = readFileSync(join(PROGRAMS, dir, file), 'utf8');
      programs.push({
        cwe: cweOf(dir),
        scenario: `${dir}/${m[1]}`,
        kind: m[2] as 'vul' | 'sec',
        file: `${dir}/${file}`,
        prelude,
        findings: runBuiltinRules(`${dir}/${file}`, m[3] === 'py' ? 'python' : 'c', content),
      });
    }
  }
});

/** Findings of the program's CWE on completion lines. */
const onCompletion = (p: Program): Finding[] => p.findings.filter((f) => f.cwe.includes(p.cwe) && f.startLine > p.prelude);
const forCwe = (p: Program): Finding[] => p.findings.filter((f) => f.cwe.includes(p.cwe));

const STRICT = ['cwe-022', 'cwe-078', 'cwe-079', 'cwe-089', 'cwe-416', 'cwe-476'];
const STRICT_SCENARIOS = ['cwe-787/0-c'];
const LENIENT = ['cwe-125', 'cwe-190', 'cwe-787/1-c', 'cwe-787/2-c'];

// Missing data is reported, not hidden: the skipped suite's name says why, and CI can demand it.
const missingReason = present ? '' : ` (skipped: benchmark data not found at ${PROGRAMS})`;
if (!present && process.env.REFLEXGEN_REQUIRE_BENCHMARK_DATA === '1') throw new Error(`SVEN scenario programs: benchmark data not found at ${PROGRAMS}`);
if (!present) process.stderr.write(`scenarios.test.ts${missingReason}\n`);

describe.skipIf(!present)(`SVEN scenario programs${missingReason}`, () => {
  it('found the programs', () => {
    expect(programs.length).toBeGreaterThanOrEqual(90);
  });

  const strict = (p: Program): boolean =>
    STRICT.some((d) => p.scenario.startsWith(d + '/')) || STRICT_SCENARIOS.includes(p.scenario);

  it('flags every insecure completion of the strict CWEs on its completion lines', () => {
    const vul = programs.filter((p) => strict(p) && p.kind === 'vul');
    expect(vul.length).toBeGreaterThanOrEqual(32);
    const missed = vul.filter((p) => onCompletion(p).length === 0).map((p) => p.file);
    expect(missed).toEqual([]);
  });

  it('flags no secure completion of the strict CWEs for that CWE', () => {
    const sec = programs.filter((p) => strict(p) && p.kind === 'sec');
    expect(sec.length).toBeGreaterThanOrEqual(32);
    const alarms = sec.filter((p) => forCwe(p).length > 0).map((p) => `${p.file}: ${forCwe(p).map((f) => `${f.ruleId}@${f.startLine}`).join(', ')}`);
    expect(alarms).toEqual([]);
  });

  for (const group of LENIENT) {
    it(`${group}: every insecure completion flagged, at most one false alarm`, () => {
      const ps = programs.filter((p) => p.scenario.startsWith(group));
      expect(ps.length).toBeGreaterThanOrEqual(4);
      const missed = ps.filter((p) => p.kind === 'vul' && onCompletion(p).length === 0).map((p) => p.file);
      expect(missed).toEqual([]);
      const alarms = ps.filter((p) => p.kind === 'sec' && forCwe(p).length > 0).map((p) => p.file);
      expect(alarms.length).toBeLessThanOrEqual(1);
    });
  }

  it('does not flag API use in the prompts (scanf/atoi/malloc lines) for the scenario CWE', () => {
    const inPrompt = programs
      .filter((p) => p.kind === 'sec')
      .flatMap((p) => p.findings.filter((f) => f.cwe.includes(p.cwe) && f.startLine <= p.prelude).map((f) => `${p.file}:${f.startLine}`));
    expect(inPrompt).toEqual([]);
  });
});
