import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, makeHome, stopDaemon, TestRepo, SQLI_PY, type Run, cliAsync, commitAsync, binDir } from '../helpers/repo.js';
import { runAsync } from '../helpers/repo.js';
import { LINT_STAGED_GLOB, LINT_STAGED_TASK } from '../../cli/init.js';

/*
 * `reflexgen init` in each mode, against the real lint-staged and husky of node_modules: the hook
 * runs the installed reflexgen and never a file the repository tracks; lint-staged's own config
 * resolution decides which file init must edit; REFLEXGEN_SKIP and failMode act on every path.
 */

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

function lintStaged(repo: TestRepo, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env = repo.env({ PATH: `${binDir()}:${process.env.PATH}`, ...extra });
  return runAsync(process.execPath, [join(ROOT, 'node_modules', 'lint-staged', 'bin', 'lint-staged.js')], repo.dir, env);
}

/** A repo with a committed package.json (so lint-staged has a base commit) and a vulnerable file staged. */
function lintStagedRepo(files: Record<string, string>, pkg: Record<string, unknown> = { name: 'x', private: true }): TestRepo {
  const repo = new TestRepo(home, { init: false });
  repo.write('package.json', JSON.stringify(pkg, null, 2));
  for (const [p, c] of Object.entries(files)) repo.write(p, c);
  repo.add('.');
  repo.commitNoVerify();
  return repo;
}

function stageVulnerable(repo: TestRepo): void {
  repo.write('app.py', SQLI_PY);
  repo.add('.');
}

describe('init: the hook runs the reflexgen the user installed', () => {
  it('a tracked node_modules/.bin/reflexgen-hook is never run; reflexgen blocks the commit', async () => {
    const repo = new TestRepo(home, { init: false });
    const marker = join(repo.dir, 'PWNED');
    repo.write('node_modules/.bin/reflexgen-hook', `#!/bin/sh\ntouch "${marker}"\nexit 0\n`);
    chmodSync(join(repo.dir, 'node_modules/.bin/reflexgen-hook'), 0o755);
    repo.git(['add', '-f', 'node_modules/.bin/reflexgen-hook']);
    repo.commitNoVerify('a repository that ships its own hook');
    expect((await cliAsync(repo, ['init'])).code).toBe(0);
    const hook = readFileSync(join(repo.dir, '.git', 'hooks', 'pre-commit'), 'utf8');
    expect(hook).toContain(`'${process.execPath}' '${join(ROOT, 'dist', 'hook', 'hook.cjs')}'`);
    expect(hook).not.toContain('node_modules');
    stageVulnerable(repo);
    const r = await commitAsync(repo, 'vulnerable');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CWE-89');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses, in one line, when the installed package itself lies at a path the repository tracks', async () => {
    const repo = new TestRepo(home, { init: false });
    // The repository tracks a `node_modules/reflexgen` of its own; the CLI then runs from there.
    const copy = spawnSync('cp', ['-r', join(ROOT, 'dist'), join(ROOT, 'package.json'), '--target-directory', join(repo.dir)], { encoding: 'utf8' });
    expect(copy.status, copy.stderr).toBe(0);
    const pkgDir = join(repo.dir, 'node_modules', 'reflexgen');
    spawnSync('mkdir', ['-p', pkgDir]);
    spawnSync('mv', [join(repo.dir, 'dist'), join(repo.dir, 'package.json'), pkgDir]);
    spawnSync('ln', ['-s', join(ROOT, 'node_modules'), join(pkgDir, 'node_modules')]);
    repo.git(['add', '-f', 'node_modules/reflexgen/package.json']);
    const r = spawnSync(process.execPath, [join(pkgDir, 'dist', 'cli', 'main.js'), 'init'], { cwd: repo.dir, encoding: 'utf8', env: repo.env() });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('node_modules/reflexgen/package.json is tracked by git');
    expect(existsSync(join(repo.dir, '.git', 'hooks', 'pre-commit'))).toBe(false);

    // Untracked (a normal devDependency), the same install is accepted and named by absolute path.
    repo.git(['rm', '-q', '--cached', 'node_modules/reflexgen/package.json']);
    const ok = spawnSync(process.execPath, [join(pkgDir, 'dist', 'cli', 'main.js'), 'init'], { cwd: repo.dir, encoding: 'utf8', env: repo.env() });
    expect(ok.status, ok.stderr).toBe(0);
    expect(readFileSync(join(repo.dir, '.git', 'hooks', 'pre-commit'), 'utf8')).toContain(`'${join(pkgDir, 'dist', 'hook', 'hook.cjs')}'`);
  });
});

describe('init --lint-staged: the config lint-staged will use', () => {
  const jsonForms: Array<{ name: string; files: Record<string, string>; pkg?: Record<string, unknown>; edited: string }> = [
    { name: 'package.json key', files: {}, pkg: { name: 'x', private: true, 'lint-staged': { '*.md': 'echo md' } }, edited: 'package.json' },
    { name: '.lintstagedrc (JSON)', files: { '.lintstagedrc': '{ "*.md": "echo md" }\n' }, edited: '.lintstagedrc' },
    // Both present: lint-staged takes .lintstagedrc.json, the package.json key is never read.
    { name: '.lintstagedrc.json over a package.json key', files: { '.lintstagedrc.json': '{ "*.md": "echo md" }\n' }, pkg: { name: 'x', 'lint-staged': { '*.md': 'echo md' } }, edited: '.lintstagedrc.json' },
  ];
  for (const form of jsonForms) {
    it(`edits ${form.name}, and the real lint-staged then blocks the vulnerable commit`, async () => {
      const repo = lintStagedRepo(form.files, form.pkg);
      const before = repo.read('package.json');
      const r = await cliAsync(repo, ['init', '--lint-staged']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`in ${form.edited}`);
      const cfg = JSON.parse(repo.read(form.edited));
      const tasks = form.edited === 'package.json' ? cfg['lint-staged'] : cfg;
      expect(tasks[LINT_STAGED_GLOB]).toEqual([LINT_STAGED_TASK]);
      expect(tasks['*.md']).toBe('echo md');
      if (form.edited !== 'package.json') expect(repo.read('package.json')).toBe(before);
      // husky's hook now runs lint-staged.
      expect(repo.read('.husky/pre-commit')).toContain('npx lint-staged');
      expect(r.stdout).toContain('husky is not active');
      stageVulnerable(repo);
      const ls = await lintStaged(repo);
      expect(ls.code).not.toBe(0);
      expect(ls.stdout + ls.stderr).toContain('CWE-89');
      // Idempotent.
      expect((await cliAsync(repo, ['init', '--lint-staged'])).stdout).toContain('lint-staged already runs reflexgen');
    });
  }

  const otherForms = [
    '.lintstagedrc.yaml',
    '.lintstagedrc.yml',
    '.lintstagedrc.mjs',
    '.lintstagedrc.cjs',
    '.lintstagedrc.js',
    'lint-staged.config.js',
    'lint-staged.config.mjs',
    'lint-staged.config.cjs',
  ];
  const content = (f: string): string =>
    f.endsWith('.cjs') ? `module.exports = { '*.md': 'echo md' };\n` : /\.m?js$/.test(f) ? `export default { '*.md': 'echo md' };\n` : `'*.md': echo md\n`;
  for (const f of otherForms) {
    it(`stops at ${f} with one line naming the file and the exact entry`, async () => {
      const repo = lintStagedRepo({ [f]: content(f) });
      const pkgBefore = repo.read('package.json');
      const r = await cliAsync(repo, ['init', '--lint-staged']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`lint-staged reads ${f}`);
      expect(r.stderr).toContain(LINT_STAGED_GLOB);
      expect(repo.read('package.json')).toBe(pkgBefore);
      expect(repo.exists('.husky/pre-commit')).toBe(false);
    });
  }

  it('the entry it prints for JS and YAML forms is the one lint-staged needs: added by hand, lint-staged blocks', async () => {
    for (const f of ['lint-staged.config.js', '.lintstagedrc.yaml']) {
      const repo = lintStagedRepo({ [f]: content(f) });
      const r = await cliAsync(repo, ['init', '--lint-staged']);
      const entry = /add (.+) to its configuration/.exec(r.stderr)?.[1];
      expect(entry, r.stderr).toBeDefined();
      repo.write(f, f.endsWith('.js') ? `export default { '*.md': 'echo md', ${entry} };\n` : `'*.md': echo md\n${entry}\n`);
      repo.add(f);
      // With the entry in place init accepts the file and only wires husky.
      const again = await cliAsync(repo, ['init', '--lint-staged']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('lint-staged already runs reflexgen');
      stageVulnerable(repo);
      const ls = await lintStaged(repo);
      expect(ls.code, f).not.toBe(0);
      expect(ls.stdout + ls.stderr).toContain('CWE-89');
    }
  });

  it('a package.json without the lint-staged key does not hide lint-staged.config.js (the reported miss)', async () => {
    const repo = lintStagedRepo({ 'lint-staged.config.js': content('lint-staged.config.js') });
    const r = await cliAsync(repo, ['init', '--lint-staged']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('lint-staged reads lint-staged.config.js');
    expect(JSON.parse(repo.read('package.json'))['lint-staged']).toBeUndefined();
  });

  it('appends to an existing husky hook and leaves its lines alone', async () => {
    const repo = lintStagedRepo({ '.husky/pre-commit': 'npm test\n' });
    expect((await cliAsync(repo, ['init', '--lint-staged'])).code).toBe(0);
    expect(repo.read('.husky/pre-commit')).toBe('npm test\nnpx lint-staged\n');
  });
});

describe('REFLEXGEN_SKIP and failMode on every path', () => {
  it('skips the hook, check --staged, paths, --all, --diff-base and lint-staged, each saying so', async () => {
    const repo = lintStagedRepo({});
    expect((await cliAsync(repo, ['init'])).code).toBe(0);
    expect((await cliAsync(repo, ['init', '--lint-staged'])).code).toBe(0);
    stageVulnerable(repo);
    const skip = { REFLEXGEN_SKIP: '1' };
    for (const args of [['check', '--staged'], ['check', 'app.py'], ['check', '--all'], ['check', '--diff-base', 'main']]) {
      const r = await cliAsync(repo, args, skip);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stderr).toContain('security check skipped (REFLEXGEN_SKIP=1)');
      // Without the switch the same command blocks: the skip is what made it pass.
      if (args[1] !== '--diff-base') expect((await cliAsync(repo, args)).code, args.join(' ')).toBe(1);
    }
    const ls = await lintStaged(repo, skip);
    expect(ls.code).toBe(0);
    expect((await lintStaged(repo)).code).not.toBe(0);
    const c = await commitAsync(repo, 'skipped', skip);
    expect(c.code).toBe(0);
    expect(c.stderr).toContain('security check skipped');
  });

  it('check --staged follows failMode like the hook when the state dir is broken', async () => {
    const repo = new TestRepo(home, { init: false });
    expect((await cliAsync(repo, ['init'])).code).toBe(0);
    stageVulnerable(repo);
    // A state dir below a regular file cannot be created (ENOTDIR): the daemon is unreachable.
    const file = join(mkdtempSync(join(tmpdir(), 'rxf-')), 'file');
    writeFileSync(file, '');
    const broken = { REFLEXGEN_HOME: join(file, 'state') };
    for (const failMode of ['open', 'closed'] as const) {
      repo.write('.reflexgenrc.json', JSON.stringify({ failMode }));
      const check = await cliAsync(repo, ['check', '--staged'], broken);
      const hook = await runAsync(join(repo.dir, '.git', 'hooks', 'pre-commit'), [], repo.dir, repo.env(broken));
      expect(check.code, check.stderr).toBe(failMode === 'open' ? 0 : 1);
      expect(hook.code, hook.stderr).toBe(check.code);
      expect(check.stderr).toContain(failMode === 'open' ? 'commit allowed (failMode "open")' : 'failMode is "closed"');
    }
  });
});
