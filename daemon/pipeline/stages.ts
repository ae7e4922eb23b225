import type { Config } from '../../shared/config.js';
import type { Finding } from '../../shared/findings.js';
import type { CheckParams, CheckResult } from '../../shared/protocol.js';
import type { RequestContext } from '../handlers/types.js';
import type { Snapshot } from './snapshot.js';

/**
 * What later stages (knowledge guidance, reflect-and-repair) get after analysis: the snapshot is
 * still on disk, the findings are those in new code, and the result may be amended in place.
 */
export interface StageInput {
  params: CheckParams;
  config: Config;
  /** The model endpoint was chosen by the repository's (trusted) config file: what is learned stays with it. */
  llmFromRepo: boolean;
  snapshot: Snapshot;
  findings: Finding[];
  result: CheckResult;
  ctx: RequestContext;
}

export type PostAnalysisStage = (input: StageInput) => Promise<void>;

const stages: Array<{ name: string; run: PostAnalysisStage }> = [];

export function registerStage(name: string, run: PostAnalysisStage): void {
  if (!stages.some((s) => s.name === name)) stages.push({ name, run });
}

export function postAnalysisStages(): ReadonlyArray<{ name: string; run: PostAnalysisStage }> {
  return stages;
}
