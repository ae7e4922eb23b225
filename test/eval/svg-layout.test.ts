import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { MODE_LABEL, svgChart, type ReportInput, type ScenarioMeta } from '../../eval/report.js';
import { RATE_NAMES, type MetricRow, type RateName, type Stat } from '../../eval/metrics.js';
import { MODES, type Mode } from '../../eval/types.js';

/*
 * The eval chart for any number of CWEs: every text inside the viewBox (by a width estimate of
 * this test's own, about what sans-serif fonts set) and one legend entry per series.
 */

const CWE_DIRS = ['cwe-089', 'cwe-078', 'cwe-022', 'cwe-079', 'cwe-125', 'cwe-190', 'cwe-416', 'cwe-476', 'cwe-787', 'cwe-020', 'cwe-502', 'cwe-798'];

function input(cweCount: number, modes: readonly Mode[], model: string, runs = 3): ReportInput {
  const cwes = CWE_DIRS.slice(0, cweCount);
  const scenarios = cwes.map((c) => ({ id: `${c}/0-py`, cwe: c.replace('cwe-0', 'CWE-').replace('cwe-', 'CWE-'), cweDir: c }) as ScenarioMeta);
  const rows: MetricRow[] = [];
  modes.forEach((mode, mi) =>
    cwes.forEach((key, ci) => {
      // Some CWEs without a value (n/a), the rest spread over 0-100 with a whisker.
      const secRate: Stat = ci % 5 === 4 ? { mean: null, std: null, n: 0 } : { mean: (ci * 37 + mi * 23) % 101, std: 4.5, n: runs };
      const summary = Object.fromEntries(RATE_NAMES.map((n) => [n, secRate])) as Record<RateName, Stat>;
      rows.push({ mode, scope: 'cwe', key, perRun: [], summary });
    }),
  );
  return {
    meta: {
      generatedAt: '2026-01-01T00:00:00Z', model, baseURL: 'http://127.0.0.1:1/v1', temperature: 0.4, topP: null, maxNewTokens: 512,
      maxIterations: 3, samples: 25, runs, modes: [...modes], kb: 'starter', complete: true, scenarios,
    },
    rows,
    records: [],
  };
}

type Node = Record<string, unknown>;

function list(v: unknown): Node[] {
  return v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node];
}

function layout(svg: string) {
  expect(XMLValidator.validate(svg)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false }).parse(svg) as { svg: Node };
  const root = doc.svg;
  const [vx, vy, vw, vh] = String(root.viewBox).split(/\s+/).map(Number);
  const defaultSize = Number(root['font-size'] ?? 16);
  const texts = list(root.text).map((t) => {
    const size = Number(t['font-size'] ?? defaultSize);
    const content = String(t['#text'] ?? '');
    const w = content.length * size * (t['font-weight'] === 'bold' ? 0.66 : 0.58);
    const x = Number(t.x);
    const anchor = String(t['text-anchor'] ?? 'start');
    const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    return { content, cls: t.class, mode: t['data-mode'], x0, x1: x0 + w, y0: Number(t.y) - size, y1: Number(t.y) + size * 0.25 };
  });
  const rects = list(root.rect).map((r) => ({ cls: r.class, x0: Number(r.x), y0: Number(r.y), x1: Number(r.x) + Number(r.width), y1: Number(r.y) + Number(r.height) }));
  return { box: { x0: vx, y0: vy, x1: vx + vw, y1: vy + vh }, texts, rects };
}

const CASES: Array<[string, number, readonly Mode[], string]> = [
  ['1 CWE, three series, a long model name', 1, MODES, 'Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4-with-a-very-long-deployment-suffix'],
  ['3 CWEs, three series', 3, MODES, 'gpt-4o'],
  ['12 CWEs, three series', 12, MODES, 'local'],
  ['1 CWE, one series', 1, ['base'], 'm'],
  ['12 CWEs, two series', 12, ['base', 'grounded'], 'qwen2.5-coder:7b'],
];

describe('eval SVG layout', () => {
  it.each(CASES)('%s: every label inside the viewBox, every series in the legend', (_name, cwes, modes, model) => {
    const { box, texts, rects } = layout(svgChart(input(cwes, modes, model)));
    for (const t of [...texts, ...rects]) {
      const what = 'content' in t ? `text "${t.content}"` : `rect ${t.cls ?? ''}`;
      expect(t.x0, what).toBeGreaterThanOrEqual(box.x0);
      expect(t.x1, what).toBeLessThanOrEqual(box.x1);
      expect(t.y0, what).toBeGreaterThanOrEqual(box.y0);
      expect(t.y1, what).toBeLessThanOrEqual(box.y1);
    }
    // One legend label and swatch per series, named as the report names the modes.
    const legend = texts.filter((t) => t.cls === 'legend');
    expect(legend.map((t) => t.mode)).toEqual([...modes]);
    expect(legend.map((t) => t.content)).toEqual(modes.map((m) => MODE_LABEL[m]));
    expect(rects.filter((r) => r.cls === 'legend')).toHaveLength(modes.length);
    // Every CWE is labelled, labels do not run into each other, and legend entries do not either.
    const labels = texts.filter((t) => t.cls === 'cwe').sort((a, b) => a.x0 - b.x0);
    expect(labels).toHaveLength(cwes);
    for (const group of [labels, legend]) for (let i = 1; i < group.length; i++) expect(group[i].x0).toBeGreaterThan(group[i - 1].x1);
    // The bars: one per CWE and series.
    expect(rects.filter((r) => r.cls === 'bar')).toHaveLength(cwes * modes.length);
  });
});
