import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerBaselineCommand, runBaseline, trackedFiles } from '../../cli/baseline.js';
import { filterBaseline, loadBaseline } from '../../daemon/baseline.js';
import { runAnalyzers } from '../../daemon/pipeline/analyze.js';
import { parseConfig } from '../../shared/config.js';


const dir = mkdtempSync(join(tmpdir(), 'rg-baseline-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const g = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });

describe('reflexgen baseline', () => {
  it('records findings of tracked files at their staged content, and they survive a line shift', async () => {
    g('init', '-q');
    g('config', 'user.email', 't@example.com');
    g('config', 'user.name', 't');
    mkdirSync(join(dir, 'src'));
    const js = 'export function run(code) {\n  return eval(code);\n}\n';
    writeFileSync(join(dir, 'src/a.js'), js);
    writeFileSync(join(dir, 'notes.txt'), 'eval(x)\n');
    writeFileSync(join(dir, 'untracked.js'), 'eval(y);\n');
    writeFileSync(join(dir, '.reflexgenrc.json'), JSON.stringify({ analyzers: { bandit: false, gcc: false, cppcheck: false, clang: false, codeql: false, builtin: false } }));
    g('add', 'src/a.js', 'notes.txt', '.reflexgenrc.json');
    // An unstaged edit must not reach the baseline: the gate judges the index.
    writeFileSync(join(dir, 'src/a.js'), js + 'eval(unstaged);\n');

    expect((await trackedFiles(dir)).map((f) => f.path)).toEqual(['src/a.js']);
    const r = await runBaseline(dir);
    expect(r.files).toBe(1);
    expect(r.findings.map((f) => [f.file, f.startLine, f.ruleId])).toEqual([['src/a.js', 2, 'security/detect-eval-with-expression']]);
    expect(r.statuses.find((s) => s.id === 'eslint')?.state).toBe('ok');
    const b = await loadBaseline(dir);
    expect(b?.entries).toHaveLength(1);
    expect(b?.entries[0]).toMatchObject({ file: 'src/a.js', cwe: 'CWE-95', line: 2 });

    // Later: code moved down by two lines, plus a brand-new eval.
    const later = '// header\n\n' + js + 'export const z = (s) => eval(s);\n';
    const root = mkdtempSync(join(dir, 'snap-'));
    writeFileSync(join(root, 'a.js'), later);
    const config = parseConfig({ analyzers: { bandit: false, gcc: false, cppcheck: false, clang: false, codeql: false, builtin: false } });
    const out = await runAnalyzers({ root, files: [{ path: 'src/a.js', absPath: join(root, 'a.js'), language: 'javascript', content: later }], config });
    const f = filterBaseline(out.findings, b, new Map([['src/a.js', later]]));
    expect(f.baselined.map((x) => x.startLine)).toEqual([4]);
    expect(f.kept.map((x) => x.startLine)).toEqual([6]);
  });

  it('registers a `baseline` command', () => {
    const program = new Command();
    registerBaselineCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'baseline');
    expect(cmd?.description()).toMatch(/baseline\.json/);
    expect(readFileSync(join(dir, '.reflexgen/baseline.json'), 'utf8')).toMatch(/security\/detect-eval-with-expression/);
  });
});
