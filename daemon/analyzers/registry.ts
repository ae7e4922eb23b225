import type { Analyzer, ProbeResult } from './types.js';
import { banditAnalyzer } from './bandit.js';
import { builtinAnalyzer } from './builtin.js';
import { clangAnalyzer } from './clang.js';
import { codeqlAnalyzer } from './codeql.js';
import { cppcheckAnalyzer } from './cppcheck.js';
import { eslintAnalyzer } from './eslint.js';
import { gccAnalyzer } from './gcc.js';

/**
 * Every analyzer adapter, in one literal list: what runs is visible here, not assembled by
 * side-effect imports. Probes run once per daemon life.
 */
const ANALYZERS: readonly Analyzer[] = [builtinAnalyzer, banditAnalyzer, gccAnalyzer, cppcheckAnalyzer, clangAnalyzer, eslintAnalyzer, codeqlAnalyzer];

const probes = new Map<string, Promise<ProbeResult>>();

export function allAnalyzers(): readonly Analyzer[] {
  return ANALYZERS;
}

export function probe(a: Analyzer): Promise<ProbeResult> {
  let p = probes.get(a.id);
  if (!p) {
    p = a.probe().catch((err: Error) => ({ available: false, detail: err.message }));
    probes.set(a.id, p);
  }
  return p;
}
