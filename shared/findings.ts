import { z } from 'zod';

/** Languages the gate knows how to route to analyzers. */
export const LANGUAGES = ['python', 'c', 'cpp', 'javascript', 'typescript'] as const;
export type Language = (typeof LANGUAGES)[number];

export const SeveritySchema = z.enum(['error', 'warning', 'note']);
export type Severity = z.infer<typeof SeveritySchema>;

/** The one normalized finding type every analyzer adapter produces. */
export const FindingSchema = z.object({
  tool: z.string(),
  ruleId: z.string(),
  /** Always spelled "CWE-<n>". */
  cwe: z.array(z.string().regex(/^CWE-\d+$/)),
  severity: SeveritySchema,
  /** Repo-relative path with forward slashes. */
  file: z.string(),
  startLine: z.number().int().min(1),
  endLine: z.number().int().min(1),
  message: z.string(),
  /** Which tools reported the same line and CWE when findings were merged. */
  alsoReportedBy: z.array(z.string()).optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const VerdictSchema = z.enum(['pass', 'block', 'warn']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const AnalyzerStatusSchema = z.object({
  id: z.string(),
  /**
   * ok: ran; missing: tool not installed; timeout; error: it crashed or printed garbage; skipped:
   * disabled; pending: a deep analysis (CodeQL) still running in the background past its budget.
   */
  state: z.enum(['ok', 'missing', 'timeout', 'error', 'skipped', 'pending']),
  version: z.string().optional(),
  detail: z.string().optional(),
  files: z.number().int().min(0).optional(),
  ms: z.number().min(0).optional(),
  cached: z.number().int().min(0).optional(),
});
export type AnalyzerStatus = z.infer<typeof AnalyzerStatusSchema>;

export function cweId(n: number | string): string {
  const s = String(n).trim().replace(/^cwe[-_: ]?/i, '');
  return `CWE-${Number.parseInt(s, 10)}`;
}

export function locationOf(f: Finding): string {
  return f.startLine === f.endLine ? `${f.file}:${f.startLine}` : `${f.file}:${f.startLine}-${f.endLine}`;
}
