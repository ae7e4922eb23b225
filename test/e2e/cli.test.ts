import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY, CMDI_PY, binDir } from '../helpers/repo.js';

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

describe('reflexgen check', () => {
  it('prints one JSON object with verdict, findings and timings, and exits 1 on block', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('app.py', SQLI_PY);
    repo.write('ping.py', CMDI_PY);
    repo.add('app.py', 'ping.py');
    const r = repo.cli(['check', '--staged', '--format', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe('block');
    expect(out.timings.totalMs).toBeGreaterThanOrEqual(0);
    const sqli = out.findings.filter((x: { cwe: string[] }) => x.cwe.includes('CWE-89'));
    expect(sqli).toHaveLength(1);
    const f = sqli[0];
    expect(f).toMatchObject({ file: 'app.py', startLine: 9, endLine: 9 });
    // bandit's B608 is left to the built-in taint rule while it runs.
    expect([f.tool, ...(f.alsoReportedBy ?? [])]).toEqual(['builtin']);
    expect(['error', 'warning']).toContain(f.severity);
    expect(typeof f.ruleId).toBe('string');
    expect(typeof f.message).toBe('string');
    // Several tools on one line and CWE are merged into one finding.
    const cmdi = out.findings.filter((x: { file: string; cwe: string[] }) => x.file === 'ping.py' && x.cwe.includes('CWE-78'));
    expect(cmdi).toHaveLength(1);
    expect([cmdi[0].tool, ...(cmdi[0].alsoReportedBy ?? [])].sort()).toEqual(['bandit', 'builtin']);
  });

  it('checks files given as paths from the working tree (whole file) and exits 0 when clean', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('clean.py', SAFE_PY);
    repo.write('bad.py', SQLI_PY);
    expect(repo.cli(['check', 'clean.py']).code).toBe(0);
    const bad = repo.cli(['check', 'bad.py', '--format', 'json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).findings[0].file).toBe('bad.py');
  });

  it('a bad config is one clear line and exit 2; an unknown option is exit 2', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('.reflexgenrc.json', JSON.stringify({ onFinding: 'explode' }));
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    const r = repo.cli(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('.reflexgenrc.json: onFinding');

    repo.write('.reflexgenrc.json', JSON.stringify({ analyzer: {} }));
    const typo = repo.cli(['check']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown key "analyzer"');

    repo.write('.reflexgenrc.json', '{ not json');
    expect(repo.cli(['check']).stderr).toContain('not valid JSON');
    expect(repo.cli(['check', '--bogus']).code).toBe(2);
    expect(repo.cli(['check', 'missing-file.py']).code).toBe(2);
  });

  it('the hook blocks with one clear line on a bad config, keeping everything staged', () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'sometimes' }));
    repo.write('app.py', SAFE_PY);
    repo.add('app.py', '.reflexgenrc.json');
    const r = repo.commit('bad config');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('.reflexgenrc.json: failMode');
    expect(repo.git(['diff', '--cached', '--name-only']).stdout.split('\n')).toContain('app.py');
  });

  it('a disabled analyzer does not run', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('.reflexgenrc.json', JSON.stringify({ analyzers: { bandit: false, builtin: false } }));
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const out = JSON.parse(repo.cli(['check', '--format', 'json']).stdout);
    expect(out.verdict).toBe('pass');
    expect(out.analyzers.find((a: { id: string }) => a.id === 'bandit').state).toBe('skipped');
  });

  it('outside a git repository: one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxnogit-'));
    const r = spawnSync(process.execPath, [CLI, 'check'], { cwd: dir, encoding: 'utf8', env: { ...process.env, REFLEXGEN_HOME: home } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('not inside a git work tree');
  });

  it('doctor lists the analyzers with versions and the state dir', () => {
    const repo = new TestRepo(home, { init: false });
    const r = repo.cli(['doctor', '--format', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.stateDir).toBe(home);
    const bandit = d.analyzers.find((a: { id: string }) => a.id === 'bandit');
    expect(bandit).toMatchObject({ available: true, version: '1.6.2' });
    expect(d.analyzers.find((a: { id: string }) => a.id === 'gcc').available).toBe(true);
  });
});

describe('reflexgen init', () => {
  it('chains an existing pre-commit hook instead of overwriting it, and is idempotent', () => {
    const repo = new TestRepo(home, { init: false });
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho "user hook ran" >&2\nexit 0\n');
    chmodSync(hook, 0o755);
    expect(repo.cli(['init']).stdout).toContain('previous hook runs first');
    expect(repo.cli(['init']).code).toBe(0);
    expect(readFileSync(join(repo.dir, '.git', 'hooks', 'pre-commit.reflexgen-chained'), 'utf8')).toContain('user hook ran');
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = repo.commit('x');
    expect(r.stderr).toContain('user hook ran');
    expect(r.code).toBe(1);

    // A failing user hook still blocks, before reflexgen even runs.
    writeFileSync(join(repo.dir, '.git', 'hooks', 'pre-commit.reflexgen-chained'), '#!/bin/sh\necho "user hook says no" >&2\nexit 3\n');
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    const r2 = repo.commit('y');
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('user hook says no');
  });

  it('with husky: adds a line to .husky/pre-commit and the real husky runs it', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('package.json', JSON.stringify({ name: 'x', private: true, devDependencies: { husky: '^9' } }));
    const h = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'husky', 'bin.js')], { cwd: repo.dir, encoding: 'utf8', env: repo.env() });
    expect(h.status, h.stderr).toBe(0);
    const init = repo.cli(['init']);
    expect(init.stdout).toContain('.husky/pre-commit');
    expect(repo.read('.husky/pre-commit')).toContain('hook/hook.cjs');
    repo.write('app.py', SQLI_PY);
    repo.add('app.py', 'package.json');
    const r = repo.commit('via husky');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CWE-89');
  });

  it('with lint-staged: adds the task and the real lint-staged blocks the commit, keeping the staged change', () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('package.json', JSON.stringify({ name: 'x', private: true }));
    repo.add('package.json');
    repo.commitNoVerify();
    expect(repo.cli(['init', '--lint-staged']).code).toBe(0);
    const pkg = JSON.parse(repo.read('package.json'));
    expect(JSON.stringify(pkg['lint-staged'])).toContain('reflexgen check --staged');
    repo.add('package.json');
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const env = repo.env({ PATH: `${binDir()}:${process.env.PATH}` });
    const ls = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'lint-staged', 'bin', 'lint-staged.js')], { cwd: repo.dir, encoding: 'utf8', env });
    expect(ls.status).not.toBe(0);
    expect(ls.stdout + ls.stderr).toContain('CWE-89');
    expect(repo.git(['diff', '--cached', '--name-only']).stdout).toContain('app.py');
    expect(repo.read('app.py')).toBe(SQLI_PY);
    expect(existsSync(join(repo.dir, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });

  it('two init modes at once is a usage error', () => {
    const repo = new TestRepo(home, { init: false });
    const r = repo.cli(['init', '--husky', '--git-hook']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('choose one');
  });
});
