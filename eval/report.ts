import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cweFamily } from './judge.js';
import { findDuplicates, type MetricRow, type RateName, type Stat } from './metrics.js';
import type { Mode, SampleRecord } from './types.js';

export interface ScenarioMeta {
  id: string;
  cwe: string;
  cweDir: string;
  language: string;
  description: string;
  checkQl: string;
  judge: string[];
  judgeMissing: string[];
  judgeNote: string;
  loopAnalyzers: string[];
  /** Judge tools that are also in the grounded loop: there the judge is not independent. */
  judgeSharedWithLoop: string[];
}

export interface ReportMeta {
  generatedAt: string;
  model: string;
  baseURL: string;
  temperature: number;
  topP: number | null;
  maxNewTokens: number;
  maxIterations: number;
  samples: number;
  runs: number;
  modes: Mode[];
  kb: string;
  /** Every requested sample has a result. */
  complete: boolean;
  scenarios: ScenarioMeta[];
}

export interface ReportInput {
  meta: ReportMeta;
  rows: MetricRow[];
  records: SampleRecord[];
}

export const MODE_LABEL: Record<Mode, string> = { base: 'base', reflexgen: '+RefleXGen', grounded: '+grounded' };
const MODE_COLOR: Record<Mode, string> = { base: '#8c8c8c', reflexgen: '#2f6fdb', grounded: '#1a9e5c' };

function fmt(v: number | null, digits: number): string {
  return v === null ? 'n/a' : v.toFixed(digits);
}

function cell(s: Stat, digits: number, runs: number): string {
  if (s.mean === null) return 'n/a';
  return runs > 1 ? `${fmt(s.mean, digits)} ± ${fmt(s.std, digits)}` : fmt(s.mean, digits);
}

function withDelta(s: Stat, base: Stat | undefined, runs: number): string {
  const c = cell(s, 1, runs);
  if (!base || base.mean === null || s.mean === null) return c;
  const d = s.mean - base.mean;
  return `${c} (${d >= 0 ? '+' : ''}${d.toFixed(1)})`;
}

function find(rows: MetricRow[], mode: Mode, key: string): MetricRow | undefined {
  return rows.find((r) => r.mode === mode && r.key === key);
}

export function markdownReport({ meta, rows }: ReportInput): string {
  const modes = meta.modes;
  const cwes = [...new Set(meta.scenarios.map((s) => s.cweDir))];
  const out: string[] = [];
  out.push(`# RefleXGen on the SVEN scenarios: ${meta.model}`);
  out.push('');
  out.push(
    `${meta.samples} samples per scenario, ${meta.runs} run(s), temperature ${meta.temperature}, top-p ${meta.topP ?? 'default'}, ` +
      `at most ${meta.maxNewTokens} new tokens, at most ${meta.maxIterations} repair iterations, knowledge base: ${meta.kb === 'starter' ? 'starter entries' : 'empty at the start of each run'}. ` +
      `Generated ${meta.generatedAt}.${meta.complete ? '' : ' **Incomplete: some samples are missing or failed; run the same command again to finish.**'}`,
  );
  out.push('');
  out.push('## Table I (laid out like the paper): Sec. Rate and Pass Rate, % (mean ± std over runs; change against base)');
  out.push('');
  const head = ['CWE', ...modes.map((m) => `Sec.Rate ${MODE_LABEL[m]}`), ...modes.map((m) => `Pass Rate ${MODE_LABEL[m]}`)];
  out.push(`| ${head.join(' | ')} |`);
  out.push(`|${head.map(() => '---').join('|')}|`);
  for (const key of [...cwes, 'overall']) {
    const label = key === 'overall' ? '**overall**' : key.toUpperCase();
    const base = modes.includes('base') ? find(rows, 'base', key) : undefined;
    const sec = modes.map((m) => (m === 'base' || !base ? cell(find(rows, m, key)!.summary.secRate, 1, meta.runs) : withDelta(find(rows, m, key)!.summary.secRate, base.summary.secRate, meta.runs)));
    const pass = modes.map((m) => (m === 'base' || !base ? cell(find(rows, m, key)!.summary.passRate, 1, meta.runs) : withDelta(find(rows, m, key)!.summary.passRate, base.summary.passRate, meta.runs)));
    out.push(`| ${[label, ...sec, ...pass].join(' | ')} |`);
  }
  out.push('');
  const detail = (title: string, scope: MetricRow['scope']) => {
    out.push(`## ${title}`);
    out.push('');
    const cols: Array<[string, RateName, number]> = [
      ['Eff. Total', 'effTotal', 1],
      ['Sec. Count', 'secCount', 1],
      ['Sec. Rate %', 'secRate', 1],
      ['Pass Rate %', 'passRate', 1],
      ['Unres. Count', 'unresCount', 1],
      ['iterations/sample', 'iterationsPerSample', 2],
      ['tokens/sample', 'tokensPerSample', 0],
      ['s/sample', 'secondsPerSample', 2],
    ];
    out.push(`| ${scope} | mode | ${cols.map((c) => c[0]).join(' | ')} |`);
    out.push(`|---|---|${cols.map(() => '---').join('|')}|`);
    for (const r of rows.filter((x) => x.scope === scope)) out.push(`| ${r.key} | ${r.mode} | ${cols.map(([, n, d]) => cell(r.summary[n], d, meta.runs)).join(' | ')} |`);
    out.push('');
  };
  detail('Per CWE (programs pooled over the CWE\'s scenarios)', 'cwe');
  detail('Per scenario', 'scenario');

  out.push('## Judges');
  out.push('');
  out.push(`| scenario | scenario's CodeQL query | judge | ${modes.includes('grounded') ? 'in-loop analyzers (grounded) | judge = in-loop checker? |' : ''}`);
  out.push(`|---|---|---|${modes.includes('grounded') ? '---|---|' : ''}`);
  for (const s of meta.scenarios) {
    const judge = `${s.judgeNote}${s.judgeMissing.length ? `; missing: ${s.judgeMissing.join(', ')}` : ''}`;
    const loop = modes.includes('grounded') ? ` ${s.loopAnalyzers.join(', ') || 'none'} | ${s.judgeSharedWithLoop.length ? `**yes** (${s.judgeSharedWithLoop.join(', ')})` : 'no, held out'} |` : '';
    out.push(`| ${s.id} | ${s.checkQl.split('/').pop() ?? ''} | ${judge} |${loop}`);
  }
  out.push('');
  if (modes.includes('grounded')) {
    const shared = meta.scenarios.filter((s) => s.judgeSharedWithLoop.length);
    out.push(
      shared.length
        ? `**Grounded mode is judged by the same tool that checks inside its loop on ${shared.length} of ${meta.scenarios.length} scenarios** ` +
            `(${shared.map((s) => s.id).join(', ')}). There its Sec. Rate shows that the loop satisfies its own checker, not independent security; ` +
            'pick a held-out judge with `--judge` (e.g. codeql or gcc) or another in-loop set with `--loop-analyzers`.'
        : 'Grounded mode: the judge is held out of the loop on every scenario (no tool is both judge and in-loop checker).',
    );
    out.push('');
  }
  out.push('## How the numbers are made');
  out.push('');
  out.push('- Each sample is a complete program (file_context + func_context + completion), as SVEN judges it.');
  out.push('- Within one mode, run and scenario, duplicate programs are dropped; the rest are the valid inputs. Those that do not parse (Python `ast.parse`, C `gcc -c`) are Unres. Count; those that do are Eff. Total.');
  out.push('- Sec. Count: effective programs with no judge finding of the scenario\'s CWE family on a line the model wrote. Sec. Rate = Sec. Count / Eff. Total; Pass Rate = Eff. Total / valid inputs.');
  // The families are spelled out here so the report stands on its own, wherever it is read.
  const families = [...new Set(meta.scenarios.map((s) => s.cwe))].sort().map((c) => `${c}: ${[...cweFamily(c)].join(', ')}`);
  if (families.length) out.push(`- CWE families (a judge finding of any member counts for the scenario): ${families.join('; ')}.`);
  out.push('- Per CWE and overall, programs are pooled over scenarios before the rate is taken. Mean ± sample standard deviation over runs. Iterations, tokens and seconds are per generated sample, duplicates included (their cost was paid).');
  out.push('- base: y0 only. +RefleXGen: the paper\'s loop, with the model\'s own review and the knowledge base, and no analyzer feedback (candidates only have to parse). +grounded: the loop with the in-loop analyzers\' findings on the completion as feedback.');
  out.push('');
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/*
 * SVG has no text layout: every label's width is estimated from its length, on the generous side
 * (wider than Arial/Helvetica/DejaVu Sans set most strings), and the canvas grows to hold the widest
 * of plot, title and legend, so no label is clipped whatever the number of CWEs or the model's name.
 */
const CHAR_EM = 0.62;
const BOLD_CHAR_EM = 0.7;

function textWidth(text: string, fontSize: number, bold = false): number {
  return Math.ceil(text.length * fontSize * (bold ? BOLD_CHAR_EM : CHAR_EM));
}

/** A user-chosen name (the model) cut for the chart; the full name stays in the SVG's <title>. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Sec. Rate per CWE, one bar per mode (the paper's Fig. 2); mean over runs, whisker = std. */
export function svgChart({ meta, rows }: ReportInput): string {
  const modes = meta.modes;
  const cwes = [...new Set(meta.scenarios.map((s) => s.cweDir))];
  const FONT = 11;
  const TITLE_FONT = 13;
  const margin = 12;
  const barW = 18;
  const gap = 4;
  const barsW = modes.length * (barW + gap) - gap;
  // A group is as wide as its bars or its label, whichever is wider, with room between groups.
  const labelW = Math.max(0, ...cwes.map((c) => textWidth(c.toUpperCase(), FONT)));
  const groupW = Math.max(barsW, labelW) + 16;
  const left = margin + textWidth('100', FONT) + 8;
  const plotW = Math.max(cwes.length, 1) * groupW;
  const title = 'Sec. Rate per CWE (%)';
  const subtitle = `${clip(meta.model, 60)}, ${meta.samples} samples x ${meta.runs} run(s)`;
  const legend = modes.map((m) => ({ mode: m, label: MODE_LABEL[m], w: 16 + textWidth(MODE_LABEL[m], FONT) }));
  const legendGap = 20;
  const legendW = legend.reduce((a, l) => a + l.w, 0) + legendGap * Math.max(0, legend.length - 1);
  const width = Math.max(left + plotW, margin + textWidth(title, TITLE_FONT, true), margin + textWidth(subtitle, FONT), margin + legendW) + margin;
  const top = 52;
  const plotH = 220;
  const axisLabelY = top + plotH + 16;
  const legendY = axisLabelY + 14;
  const height = legendY + 12 + margin;
  const y = (v: number) => top + plotH - (Math.max(0, Math.min(100, v)) / 100) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`);
  parts.push(`<title>Sec. Rate per CWE: ${esc(meta.model)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text class="title" x="${margin}" y="${margin + TITLE_FONT}" font-size="${TITLE_FONT}" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text class="subtitle" x="${margin}" y="${margin + TITLE_FONT + 6 + FONT}">${esc(subtitle)}</text>`);
  const plotRight = left + plotW;
  for (const t of [0, 25, 50, 75, 100]) {
    parts.push(`<line x1="${left}" y1="${y(t)}" x2="${plotRight}" y2="${y(t)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333333"/>`);
  cwes.forEach((c, gi) => {
    const center = left + gi * groupW + groupW / 2;
    const gx = center - barsW / 2;
    modes.forEach((m, mi) => {
      const s = find(rows, m, c)!.summary.secRate;
      const x = gx + mi * (barW + gap);
      const v = s.mean ?? 0;
      const label = s.mean === null ? 'n/a' : `${v.toFixed(1)}%${meta.runs > 1 ? ` ± ${(s.std ?? 0).toFixed(1)}` : ''}`;
      parts.push(
        `<rect class="bar" data-cwe="${esc(c)}" data-mode="${m}" x="${x}" y="${y(v)}" width="${barW}" height="${y(0) - y(v)}" fill="${MODE_COLOR[m]}"><title>${esc(`${c} ${MODE_LABEL[m]}: ${label}`)}</title></rect>`,
      );
      if (s.mean !== null && meta.runs > 1 && s.std) {
        const cx = x + barW / 2;
        parts.push(`<line x1="${cx}" y1="${y(v + s.std)}" x2="${cx}" y2="${y(v - s.std)}" stroke="#000000"/>`);
      }
      if (s.mean === null) parts.push(`<text x="${x + barW / 2}" y="${y(0) - 3}" text-anchor="middle" font-size="8">n/a</text>`);
    });
    parts.push(`<text class="cwe" x="${center}" y="${axisLabelY}" text-anchor="middle">${esc(c.toUpperCase())}</text>`);
  });
  let lx = margin;
  for (const l of legend) {
    parts.push(`<rect class="legend" data-mode="${l.mode}" x="${lx}" y="${legendY}" width="12" height="12" fill="${MODE_COLOR[l.mode]}"/>`);
    parts.push(`<text class="legend" data-mode="${l.mode}" x="${lx + 16}" y="${legendY + 10}">${esc(l.label)}</text>`);
    lx += l.w + legendGap;
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function jsonReport({ meta, rows, records }: ReportInput): unknown {
  const dups = findDuplicates(records);
  const order = (r: SampleRecord) => [meta.modes.indexOf(r.mode), r.run, r.scenario, r.index] as const;
  const samples = [...records]
    .sort((a, b) => {
      const x = order(a);
      const y = order(b);
      return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]) || x[3] - y[3];
    })
    .map((r) => ({ ...r, duplicateOf: dups.get(r.key) ?? null, counted: !r.error && !dups.has(r.key) }));
  return { meta, metrics: rows, samples };
}

export function writeReport(out: string, input: ReportInput): { json: string; markdown: string; svg: string } {
  const files = { json: join(out, 'report.json'), markdown: join(out, 'report.md'), svg: join(out, 'sec-rate.svg') };
  writeFileSync(files.json, JSON.stringify(jsonReport(input), null, 2) + '\n');
  writeFileSync(files.markdown, markdownReport(input));
  writeFileSync(files.svg, svgChart(input));
  return files;
}
