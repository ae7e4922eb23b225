import type { Language } from '../../shared/findings.js';
import type { Analyzer, ProbeResult } from './types.js';

/**
 * All analyzer adapters. Each adapter module adds itself in `analyzers/all.ts`; the pipeline asks
 * the registry which analyzers apply to a language. Probes run once per daemon life.
 */
const analyzers: Analyzer[] = [];
const probes = new Map<string, Promise<ProbeResult>>();

export function registerAnalyzer(a: Analyzer): void {
  if (analyzers.some((x) => x.id === a.id)) return;
  analyzers.push(a);
}

export function allAnalyzers(): readonly Analyzer[] {
  return analyzers;
}

export function analyzersFor(language: Language): Analyzer[] {
  return analyzers.filter((a) => a.languages.includes(language));
}

export function probe(a: Analyzer): Promise<ProbeResult> {
  let p = probes.get(a.id);
  if (!p) {
    p = a.probe().catch((err: Error) => ({ available: false, detail: err.message }));
    probes.set(a.id, p);
  }
  return p;
}

/** Forgets cached probes (after `reflexgen doctor --refresh` or a config change of tool paths). */
export function resetProbes(): void {
  probes.clear();
}
