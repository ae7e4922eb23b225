import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { readRepoFile, REPO_FILE_CAPS } from '../shared/repo-files.js';
import { join } from 'node:path';
import { z } from 'zod';
import type { Finding } from '../shared/findings.js';
import { UserError } from '../shared/errors.js';
import { contentOf, type ContentByPath } from './suppressions.js';

/*
 * The baseline: findings that existed when a team adopted the gate, recorded so they stop being
 * reported. A line number would go stale with the first edit above it, so a fingerprint is built
 * from what does not move: the file, the CWE (or the rule when there is none), and the flagged
 * line's text with its nearest non-blank neighbours, whitespace-normalized. An occurrence index
 * tells apart identical snippets in one file.
 *
 * Tool-independent on purpose: one fingerprint per CWE, so the same bug found later by another
 * analyzer (CodeQL installed after the baseline was written) is still recognized.
 */

export const BASELINE_FILE = join('.reflexgen', 'baseline.json');

const EntrySchema = z.object({
  fingerprint: z.string(),
  file: z.string(),
  /** Informational, for humans reviewing the file; matching uses only the fingerprint. */
  line: z.number().int().optional(),
  cwe: z.string().optional(),
  ruleId: z.string().optional(),
  tool: z.string().optional(),
  message: z.string().optional(),
});

export const BaselineSchema = z.object({
  version: z.literal(1),
  entries: z.array(EntrySchema),
});
export type Baseline = z.infer<typeof BaselineSchema>;

function normalizeLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The flagged line with the nearest non-blank line above and below, normalized. */
function context(lines: readonly string[], line: number): string {
  const at = line - 1;
  const parts: string[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const n = normalizeLine(lines[i]);
    if (n) {
      parts.push(n);
      break;
    }
  }
  parts.push(normalizeLine(lines[at] ?? ''));
  for (let i = at + 1; i < lines.length; i++) {
    const n = normalizeLine(lines[i]);
    if (n) {
      parts.push(n);
      break;
    }
  }
  return parts.join('\n');
}

function keysOf(f: Finding): string[] {
  return f.cwe.length ? [...new Set(f.cwe)] : [`rule:${f.ruleId}`];
}

interface Fingerprinted {
  finding: Finding;
  fingerprints: { key: string; fingerprint: string }[];
}

/**
 * Fingerprints of each finding (one per CWE). Occurrence indexes count, per file and key, the
 * findings with the same context in line order, so the result depends on the set passed in: give
 * it all findings of the files (before any changed-lines filtering), as the baseline was written.
 */
export function fingerprintFindings(findings: readonly Finding[], contentByPath: ContentByPath): Fingerprinted[] {
  const linesOf = new Map<string, string[]>();
  const lines = (file: string) => {
    let l = linesOf.get(file);
    if (!l) {
      l = (contentOf(contentByPath, file) ?? '').split(/\r?\n/);
      linesOf.set(file, l);
    }
    return l;
  };
  const order = findings.map((f, i) => i).sort((a, b) => findings[a].startLine - findings[b].startLine || a - b);
  const seen = new Map<string, Set<number>>();
  const counters = new Map<string, number>();
  const out: Fingerprinted[] = findings.map((finding) => ({ finding, fingerprints: [] }));
  for (const i of order) {
    const f = findings[i];
    const ctx = context(lines(f.file), f.startLine);
    for (const key of keysOf(f)) {
      const base = `${f.file}\0${key}\0${ctx}`;
      // Several rules of one tool on the same line and CWE are one occurrence, not two.
      const lineSet = seen.get(base) ?? new Set<number>();
      seen.set(base, lineSet);
      let n = counters.get(base) ?? 0;
      if (!lineSet.has(f.startLine)) {
        lineSet.add(f.startLine);
        n += 1;
        counters.set(base, n);
      }
      const fingerprint = createHash('sha256').update(`v1\0${base}\0${n}`).digest('hex').slice(0, 32);
      out[i].fingerprints.push({ key, fingerprint });
    }
  }
  return out;
}

export function buildBaseline(findings: readonly Finding[], contentByPath: ContentByPath): Baseline {
  const entries: Baseline['entries'] = [];
  const have = new Set<string>();
  for (const { finding: f, fingerprints } of fingerprintFindings(findings, contentByPath)) {
    for (const { key, fingerprint } of fingerprints) {
      if (have.has(fingerprint)) continue;
      have.add(fingerprint);
      entries.push({
        fingerprint,
        file: f.file,
        line: f.startLine,
        ...(key.startsWith('CWE-') ? { cwe: key } : {}),
        ruleId: f.ruleId,
        tool: f.tool,
        message: f.message,
      });
    }
  }
  // Stable order keeps the committed file's diffs reviewable.
  entries.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.fingerprint.localeCompare(b.fingerprint));
  return { version: 1, entries };
}

export async function writeBaseline(repoRoot: string, findings: readonly Finding[], contentByPath: ContentByPath): Promise<{ path: string; baseline: Baseline }> {
  const baseline = buildBaseline(findings, contentByPath);
  const path = join(repoRoot, BASELINE_FILE);
  await mkdir(join(repoRoot, '.reflexgen'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(baseline, null, 2) + '\n');
  await rename(tmp, path);
  return { path, baseline };
}

/** The repo's baseline, or undefined when it has none. A broken file is an error, not "no baseline". */
export async function loadBaseline(repoRoot: string): Promise<Baseline | undefined> {
  // A repository's file: regular file only, size-capped, never a link to somewhere else.
  const read = await readRepoFile(repoRoot, BASELINE_FILE, REPO_FILE_CAPS.baseline);
  if (read.kind === 'absent') return undefined;
  if (read.kind === 'refused') throw new UserError(`${read.reason}; rerun \`reflexgen baseline\``);
  const text = read.text;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${BASELINE_FILE}: not valid JSON (${(err as Error).message}); rerun \`reflexgen baseline\``);
  }
  const parsed = BaselineSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`${BASELINE_FILE}: not a reflexgen baseline (${parsed.error.issues[0]?.message ?? 'invalid'}); rerun \`reflexgen baseline\``);
  return parsed.data;
}

/** Splits findings into those still to report and those recorded in the baseline. */
export function filterBaseline(
  findings: readonly Finding[],
  baseline: Baseline | undefined,
  contentByPath: ContentByPath,
): { kept: Finding[]; baselined: Finding[] } {
  if (!baseline || baseline.entries.length === 0) return { kept: [...findings], baselined: [] };
  const known = new Set(baseline.entries.map((e) => e.fingerprint));
  const kept: Finding[] = [];
  const baselined: Finding[] = [];
  for (const { finding, fingerprints } of fingerprintFindings(findings, contentByPath)) {
    if (fingerprints.some((p) => known.has(p.fingerprint))) baselined.push(finding);
    else kept.push(finding);
  }
  return { kept, baselined };
}
