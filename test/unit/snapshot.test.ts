import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.js';
import type { FileChange } from '../../shared/protocol.js';
import { banditAnalyzer } from '../../daemon/analyzers/bandit.js';
import { builtinAnalyzer } from '../../daemon/analyzers/builtin.js';
import type { Analyzer, AnalyzerRun } from '../../daemon/analyzers/types.js';
import { runAnalyzers } from '../../daemon/pipeline/analyze.js';
import { ResultCache } from '../../daemon/pipeline/cache.js';
import { cleanStaleSnapshots, describeWriteError, materialize, safeRelative, snapshotTarget, SNAPSHOT_PREFIX } from '../../daemon/pipeline/snapshot.js';
import { markParserRuntimeAborted, parserRuntimeGeneration } from '../../daemon/rules/parser.js';

const work = mkdtempSync(join(tmpdir(), 'rx-snap-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const inline = (path: string, content: string | Buffer): FileChange => ({
  path,
  status: 'A',
  content: Buffer.from(content).toString('base64'),
  binary: false,
  addedLines: 'all',
});

function freshTmp(): string {
  const d = mkdtempSync(join(work, 't-'));
  return d;
}

const MD5_PY = 'import hashlib\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n';

describe('safeRelative', () => {
  it('accepts names that merely start with dots and rejects real `..` segments', () => {
    expect(safeRelative('..app.py')).toBe('..app.py');
    expect(safeRelative('src/..x/...py')).toBe('src/..x/...py');
    expect(safeRelative('../app.py')).toBeUndefined();
    expect(safeRelative('a/../../b.py')).toBeUndefined();
    expect(safeRelative('/etc/passwd')).toBeUndefined();
    expect(safeRelative('a//b.py')).toBeUndefined();
    expect(safeRelative('./a.py')).toBeUndefined();
  });
});

describe('materialize', () => {
  it('writes every file once, completely, however many analyzers ask at the same time, and dispose leaves nothing', async () => {
    const tmp = freshTmp();
    const changes = Array.from({ length: 30 }, (_, i) => inline(`pkg/m${i}.py`, `x${i} = ${i}\n`));
    const snap = await materialize(work, changes, [], { tmpRoot: tmp });
    expect(readdirSync(tmp)).toEqual([]); // nothing on disk before an analyzer needs it
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        await snap.ensureWritten();
        seen.push(snap.files.filter((f) => existsSync(f.absPath) && readFileSync(f.absPath, 'utf8') === f.content).length);
      }),
    );
    expect(seen).toEqual(Array(8).fill(30));
    expect(readdirSync(tmp)).toHaveLength(1);
    expect(readdirSync(tmp)[0]).toMatch(new RegExp(`^${SNAPSHOT_PREFIX}${process.pid}-`));
    await snap.dispose();
    expect(readdirSync(tmp)).toEqual([]);
    await expect(snap.ensureWritten()).resolves.toBeUndefined(); // settled promise, no new directory
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a file named ..app.py is analyzed; a file above maxFileBytes is reported as not analyzed and never read', async () => {
    const snap = await materialize(work, [inline('..app.py', MD5_PY), inline('big.py', 'x = 1\n'.repeat(400))], [], { tmpRoot: freshTmp(), maxFileBytes: 1000 });
    expect(snap.files.map((f) => f.path)).toEqual(['..app.py']);
    expect(snap.notAnalyzed).toEqual([{ path: 'big.py', reason: expect.stringMatching(/above the .* limit \(maxFileBytes\)/) }]);
    expect(snap.contents.has('big.py')).toBe(false);
    await snap.dispose();
  });

  it('a snapshot that cannot be written makes every file-reading analyzer fail with the reason, not "ok"', async () => {
    const notADir = join(work, 'file-not-dir');
    writeFileSync(notADir, 'x');
    const snap = await materialize(work, [inline('a.py', MD5_PY)], [], { tmpRoot: notADir });
    const config = parseConfig({});
    const out = await runAnalyzers({ ...snapshotTarget(snap), config, analyzers: [banditAnalyzer, builtinAnalyzer] });
    const bandit = out.statuses.find((s) => s.id === 'bandit');
    expect(bandit?.state).toBe('error');
    expect(bandit?.detail).toMatch(/could not write the staged files for the analyzers/);
    // The in-process analyzer needs no disk and still reports.
    expect(out.statuses.find((s) => s.id === 'builtin')?.state).toBe('ok');
    await snap.dispose();
  });
});

describe('describeWriteError', () => {
  it('names a full disk as such (the analyzers then fail with it and failMode decides)', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(describeWriteError(full, '/tmp').message).toBe('could not write the staged files for the analyzers: no space left on the device holding /tmp');
  });
});

describe('cleanStaleSnapshots', () => {
  it('removes directories of dead daemons and keeps those of live ones', async () => {
    const tmp = freshTmp();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const stale = join(tmp, `${SNAPSHOT_PREFIX}${deadPid}-abc`);
    const live = join(tmp, `${SNAPSHOT_PREFIX}${process.ppid}-def`);
    const verify = join(tmp, `reflexgen-verify-${deadPid}-xyz`);
    for (const d of [stale, live, verify]) {
      mkdirSync(join(d, 'src'), { recursive: true });
      writeFileSync(join(d, 'src', 'a.py'), 'secret code\n');
    }
    writeFileSync(join(tmp, 'unrelated'), 'x');
    const removed = await cleanStaleSnapshots(tmp);
    expect(removed.sort()).toEqual([stale, verify].sort());
    expect(readdirSync(tmp).sort()).toEqual([`${SNAPSHOT_PREFIX}${process.ppid}-def`, 'unrelated']);
  });
});

describe('analyzers that ran without their input', () => {
  it('bandit reports a missing input file as not analyzed, and errors when none of its files exist', async () => {
    const root = freshTmp();
    writeFileSync(join(root, 'a.py'), MD5_PY);
    const config = parseConfig({});
    const file = (p: string) => ({ path: p, absPath: join(root, p), language: 'python' as const, content: MD5_PY });
    const run = await banditAnalyzer.analyze({ root, files: [file('a.py'), file('gone.py')], config, timeoutMs: 60_000 });
    expect(run.findings.map((f) => [f.file, f.ruleId])).toEqual([['a.py', 'B303:blacklist']]);
    expect(run.notAnalyzed.map((n) => n.path)).toEqual(['gone.py']);
    await expect(banditAnalyzer.analyze({ root, files: [file('gone.py')], config, timeoutMs: 60_000 })).rejects.toThrow(/input is missing/);
  });

  it('caches per-file results only for files the analyzer really analyzed', async () => {
    let calls = 0;
    const flaky: Analyzer = {
      id: 'bandit',
      title: 'flaky',
      languages: ['python'],
      granularity: 'file',
      defaultEnabled: true,
      inProcess: true,
      probe: async () => ({ available: true, version: 'test' }),
      async analyze(ctx): Promise<AnalyzerRun> {
        calls++;
        return {
          findings: ctx.files.filter((f) => f.path === 'a.py').map((f) => ({ tool: 'flaky', ruleId: 'r', cwe: [], severity: 'error' as const, file: f.path, startLine: 1, endLine: 1, message: 'm' })),
          notAnalyzed: ctx.files.filter((f) => f.path === 'b.py').map((f) => ({ path: f.path, reason: 'could not read' })),
        };
      },
    };
    const cache = new ResultCache(undefined);
    const files = ['a.py', 'b.py'].map((p) => ({ path: p, absPath: p, language: 'python' as const, content: `# ${p}\n` }));
    const config = parseConfig({});
    const first = await runAnalyzers({ root: work, files, config, cache, analyzers: [flaky] });
    expect(first.notAnalyzed).toEqual([{ tool: 'bandit', path: 'b.py', reason: 'could not read' }]);
    expect(first.statuses[0]).toMatchObject({ state: 'ok', detail: 'b.py: not analyzed: could not read' });
    const second = await runAnalyzers({ root: work, files, config, cache, analyzers: [flaky] });
    expect(calls).toBe(2); // b.py ran again
    expect(second.statuses[0].cached).toBe(1); // a.py came from the cache
    expect(second.findings).toHaveLength(1);
    expect(second.notAnalyzed.map((n) => n.path)).toEqual(['b.py']);
  });
});

describe('tree-sitter runtime abort', () => {
  it('a runtime that aborted is replaced by a fresh instance before the next file, so later checks still work', async () => {
    const config = parseConfig({});
    const py = (path: string) => ({ path, absPath: path, language: 'python' as const, content: 'import os\nos.system("ls " + input())\n' });
    const before = await builtinAnalyzer.analyze({ root: work, files: [py('a.py')], config, timeoutMs: 60_000 });
    expect(before.findings.length).toBeGreaterThan(0);
    const generation = parserRuntimeGeneration();
    markParserRuntimeAborted();
    const after = await builtinAnalyzer.analyze({ root: work, files: [py('b.py'), py('c.py')], config, timeoutMs: 60_000 });
    expect(parserRuntimeGeneration()).toBe(generation + 1);
    expect(after.notAnalyzed).toEqual([]);
    expect(after.findings.map((f) => f.file)).toEqual(expect.arrayContaining(['b.py', 'c.py']));
    expect(after.findings.filter((f) => f.file === 'b.py').map((f) => f.ruleId)).toEqual(before.findings.map((f) => f.ruleId));
  });
});

describe('maxFileBytes', () => {
  it('the repository setting wins, then REFLEXGEN_MAX_FILE_BYTES, then 2 MiB', async () => {
    const { maxFileBytes } = await import('../../daemon/pipeline/check.js');
    expect(maxFileBytes(parseConfig({ maxFileBytes: 5000 }), { REFLEXGEN_MAX_FILE_BYTES: '1000' })).toBe(5000);
    expect(maxFileBytes(parseConfig({}), { REFLEXGEN_MAX_FILE_BYTES: '1000' })).toBe(1000);
    expect(maxFileBytes(parseConfig({}), { REFLEXGEN_MAX_FILE_BYTES: 'lots' })).toBe(2 * 1024 * 1024);
    expect(() => parseConfig({ maxFileBytes: 1024 * 1024 * 1024 })).toThrow(/maxFileBytes/);
  });
});

describe('generate path confinement', () => {
  it('keeps the verifier inside its temp dir whatever path the client sends', async () => {
    const { confinedPath } = await import('../../daemon/handlers/generate.js');
    expect(confinedPath('src/app.py', 'generated.py')).toBe('src/app.py');
    expect(confinedPath('../../../etc/cron.d/x.py', 'generated.py')).toBe('x.py');
    expect(confinedPath('/abs/path/y.py', 'generated.py')).toBe('y.py');
    expect(confinedPath('..', 'generated.py')).toBe('generated.py');
    expect(confinedPath(undefined, 'generated.c')).toBe('generated.c');
  });
});
