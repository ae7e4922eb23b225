import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from "node:path";
import { describe, expect, it } from 'vitest';
import { banditCommand, findBandit, probePython, runBandit, type BanditCommand } from '../../daemon/analyzers/bandit.js';
import type { AnalyzeContext } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';
import { CLI } from '../helpers/repo.js';

/*
 * bandit as users install it, found the way the daemon finds it: the real Debian bandit 1.6.2
 * (scripts/install.sh installs it) on PATH, through `python3 -m bandit`, behind a pip-style console
 * script, and with the compatibility launcher only because 1.6.2 on Python >= 3.8 needs it.
 */

const SYSTEM_PY = '/usr/bin/python3';

function dirWith(links: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'rxbandit-'));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(d, name));
  return d;
}

/** A snapshot root with `files`, plus a `bandit` package and a `pbr.py` that would leave a mark if imported. */
function hostileRoot(files: Record<string, string>): { root: string; marker: string } {
  const root = mkdtempSync(join(tmpdir(), 'rxbandit-root-'));
  const marker = join(root, 'IMPORTED');
  for (const [p, c] of Object.entries(files)) writeFileSync(join(root, p), c);
  mkdirSync(join(root, 'bandit'));
  const evil = `open(${JSON.stringify(marker)}, "w").write("repository code ran")\n`;
  writeFileSync(join(root, 'bandit', '__init__.py'), evil);
  writeFileSync(join(root, 'pbr.py'), evil);
  return { root, marker };
}

const SQLI = 'import sqlite3\n\n\ndef find(db, name):\n    return db.execute("SELECT * FROM users WHERE name = \'%s\'" % name)\n';
const SHELL = 'import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n';

function ctx(root: string, files: Record<string, string>, config: Record<string, unknown> = {}): AnalyzeContext {
  return {
    root,
    files: Object.entries(files).map(([path, content]) => ({ path, absPath: join(root, path), language: 'python' as const, content })),
    config: parseConfig(config, 'test'),
    timeoutMs: 60_000,
  };
}

describe('finding bandit', () => {
  it('uses the bandit on PATH with the interpreter of its #! line, through the launcher only because 1.6.2 needs it', async () => {
    const b = (await findBandit({ PATH: '/usr/bin' })) as BanditCommand;
    expect(b.cmd).toBe(SYSTEM_PY);
    expect(b.version).toMatch(/^1\.6\./);
    expect(b.prefix[0]).toMatch(/bandit_compat\.py$/);
    expect(b.detail).toContain('/usr/bin/bandit on PATH');
    expect(b.detail).toContain('bandit_compat.py');
  });

  it('falls back to python3 -m bandit when no bandit is on PATH, and says so', async () => {
    const b = (await findBandit({ PATH: dirWith({ python3: SYSTEM_PY }) })) as BanditCommand;
    expect(b.cmd).toMatch(/python3$/);
    expect(b.detail).toContain('-m bandit (no bandit on PATH)');
  });

  it('follows a pip-style console script with an env #! line to its interpreter', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'rxbandit-bin-'));
    writeFileSync(join(bin, 'bandit'), '#!/usr/bin/env python3\nimport sys\nfrom bandit.cli.main import main\nsys.exit(main())\n');
    chmodSync(join(bin, 'bandit'), 0o755);
    const py = dirWith({ python3: SYSTEM_PY });
    const b = (await findBandit({ PATH: `${bin}:${py}` })) as BanditCommand;
    expect(b.cmd).toBe(join(py, 'python3'));
    expect(b.detail).toContain(`${join(bin, 'bandit')} on PATH`);
  });

  it('ignores relative PATH entries and says what is missing', async () => {
    const r = await findBandit({ PATH: `.:bin:${mkdtempSync(join(tmpdir(), 'rxbandit-empty-'))}` });
    expect(r).toEqual({ missing: expect.stringContaining('no bandit on PATH and no python3') });
    const forced = await findBandit({ PATH: '/usr/bin', REFLEXGEN_BANDIT_PYTHON: join(tmpdir(), 'no-such-python') });
    expect(forced).toEqual({ missing: expect.stringContaining('REFLEXGEN_BANDIT_PYTHON') });
  });
});

describe('running bandit on a snapshot', () => {
  it('the launcher finds the SQL injection (B608) and never imports the repository\'s modules', async () => {
    const b = (await findBandit({ PATH: '/usr/bin' })) as BanditCommand;
    const files = { 'app.py': SQLI };
    const { root, marker } = hostileRoot(files);
    // Without the built-in rules, bandit's B608 is the SQL check there is.
    const run = await runBandit(b, ctx(root, files, { analyzers: { builtin: false } }));
    expect(run.findings.map((f) => `${f.ruleId} ${f.cwe.join()}`)).toContain('B608:hardcoded_sql_expressions CWE-89');
    expect(run.notAnalyzed).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('leaves string-built SQL (B608) to the built-in taint rules while they run', async () => {
    const b = (await findBandit({ PATH: '/usr/bin' })) as BanditCommand;
    const files = { 'app.py': SQLI };
    const { root } = hostileRoot(files);
    const run = await runBandit(b, ctx(root, files));
    expect(run.findings.map((f) => f.ruleId)).not.toContain('B608:hardcoded_sql_expressions');
    expect(run.notAnalyzed).toEqual([]);
  });

  it('python -m bandit (a bandit that needs no launcher) runs without the current directory on sys.path', async () => {
    const probed = await probePython(SYSTEM_PY);
    expect(probed?.version).toMatch(/^\d/);
    // As a bandit release with ast.Constant support is run: no launcher, the module itself.
    const b = banditCommand(SYSTEM_PY, { ...probed!, constant: true }, 'test');
    expect(b.prefix[0]).toBe('-c');
    const files = { 'job.py': SHELL };
    const { root, marker } = hostileRoot(files);
    const run = await runBandit(b, ctx(root, files));
    expect(run.findings.map((f) => f.ruleId)).toContain('B602:subprocess_popen_with_shell_equals_true');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('doctor', () => {
  it('says which bandit is used', () => {
    const doctor = (path: string) => {
      const r = spawnSync(process.execPath, [CLI, 'doctor', '--format', 'json'], { encoding: 'utf8', env: { ...process.env, PATH: path, REFLEXGEN_HOME: mkdtempSync(join(tmpdir(), 'rxh-')) } });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout).analyzers as Array<{ id: string; available: boolean; detail: string }>).find((a) => a.id === 'bandit')!;
    };
    const onPath = doctor("/usr/bin");
    expect(onPath.available).toBe(true);
    expect(onPath.detail).toContain('/usr/bin/bandit on PATH');
    const viaModule = doctor(dirWith({ python3: SYSTEM_PY }));
    expect(viaModule.available).toBe(true);
    expect(viaModule.detail).toContain('-m bandit (no bandit on PATH)');
  });
});
