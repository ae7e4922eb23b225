import { accessSync, constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_FORMATS, parseCheckArgs } from '../../cli/check-args.js';
import { BIN, CLI, makeHome, runAsync, SQLI_PY, stopDaemon, TestRepo, type Run } from '../helpers/repo.js';

/*
 * The `reflexgen` bin is the bundled start-up fast path (dist/cli/reflexgen.mjs): `--version` and
 * `check` without commander, everything else through the full CLI. It must answer exactly as the
 * full CLI (dist/cli/main.js) does, on a real repository with the real daemon.
 */

let home: string;
let repo: TestRepo;
beforeAll(() => {
  home = makeHome();
  repo = new TestRepo(home, { init: false });
  repo.write('README.md', 'x\n');
  repo.add('README.md');
  repo.commitNoVerify('initial');
  repo.write('app.py', SQLI_PY);
  repo.add('app.py');
});
afterAll(() => stopDaemon(home));

const both = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<[Run, Run]> => [
  await runAsync(process.execPath, [BIN, ...args], repo.dir, repo.env(extra)),
  await runAsync(process.execPath, [CLI, ...args], repo.dir, repo.env(extra)),
];

/** The report without its timing, which differs from run to run. */
const steady = (s: string) => s.replace(/ in \d+ ms/g, ' in N ms');

describe('the reflexgen bin', () => {
  it('is the bundled fast path and is executable', () => {
    expect(BIN).toMatch(/dist\/cli\/reflexgen\.mjs$/);
    accessSync(BIN, constants.X_OK);
  });

  it('answers --version like the full CLI', async () => {
    const [fast, full] = await both(['--version']);
    expect(fast.code).toBe(0);
    expect(fast.stdout).toBe(full.stdout);
    expect(fast.stdout).toMatch(/^\d+\.\d+\.\d+\+\w+\n$/);
  });

  it('blocks a staged SQL injection with the same report, exit code and JSON as the full CLI', async () => {
    const [fast, full] = await both(['check', '--staged']);
    expect(fast.code).toBe(1);
    expect(full.code).toBe(1);
    expect(fast.stdout).toContain('CWE-89');
    expect(steady(fast.stdout)).toBe(steady(full.stdout));
    expect(fast.stderr).toBe(full.stderr);
    const [fj, gj] = await both(['check', '--format=json', 'app.py', '--staged']);
    expect(fj.code).toBe(1);
    const a = JSON.parse(fj.stdout);
    const b = JSON.parse(gj.stdout);
    expect(a.verdict).toBe('block');
    expect(a.findings).toEqual(b.findings);
  });

  it('hands usage errors, help and other commands to the full CLI, and keeps the skip switch', async () => {
    for (const args of [['check', '--format', 'xml'], ['check', '--all', '--staged'], ['check', '--help'], ['check', '--nope'], ['trust', '--status'], ['kb', '--help']]) {
      const [fast, full] = await both(args);
      expect(fast.code, args.join(' ')).toBe(full.code);
      expect(fast.stdout, args.join(' ')).toBe(full.stdout);
      expect(fast.stderr, args.join(' ')).toBe(full.stderr);
    }
    const [bad] = await both(['check', '--format', 'xml']);
    expect(bad.code).toBe(2);
    const [skip] = await both(['check', '--staged'], { REFLEXGEN_SKIP: '1' });
    expect(skip.code).toBe(0);
    expect(skip.stderr).toContain('REFLEXGEN_SKIP=1');
  });
});

describe('parseCheckArgs', () => {
  it('reads what commander reads, and gives up on anything else', () => {
    expect(parseCheckArgs(['--staged', 'a.py', '--format=json', '--verbose'], CHECK_FORMATS)).toEqual({ paths: ['a.py'], opts: { staged: true, format: 'json', verbose: true } });
    expect(parseCheckArgs(['--diff-base', 'origin/main', '--no-daemon'], CHECK_FORMATS)).toEqual({ paths: [], opts: { diffBase: 'origin/main', format: 'text', daemon: false } });
    expect(parseCheckArgs(['--no-daemon', '--daemon'], CHECK_FORMATS)?.opts.daemon).toBe(true);
    expect(parseCheckArgs(['--', '--staged'], CHECK_FORMATS)).toEqual({ paths: ['--staged'], opts: { format: 'text' } });
    expect(parseCheckArgs(['--format', 'xml'], CHECK_FORMATS)).toBeUndefined();
    expect(parseCheckArgs(['-h'], CHECK_FORMATS)).toBeUndefined();
    expect(parseCheckArgs(['--help'], CHECK_FORMATS)).toBeUndefined();
    expect(parseCheckArgs(['--diff-base'], CHECK_FORMATS)).toBeUndefined();
  });
});
