import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY, type Run, cliAsync, commitAsync, binDir } from '../helpers/repo.js';
import { runAsync } from '../helpers/repo.js';

/*
 * The checks CI and the pre-commit framework run on code that is already committed: --all (every
 * tracked file), --diff-base <ref> (lines committed since the merge base), and the repository's
 * .pre-commit-hooks.yaml driven by the real `pre-commit` binary against a local clone.
 */

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

const SHELL_PY = 'import os\n\n\ndef listing(name):\n    os.system("ls " + name)\n';

/** main holds a committed SQL injection; branch `feature` adds `feature.py` on top. */
function ciRepo(feature: string): TestRepo {
  const repo = new TestRepo(home, { init: false });
  repo.write('app.py', SQLI_PY);
  repo.write('README.md', 'docs\n');
  repo.add('.');
  repo.commitNoVerify('main with a known issue');
  repo.git(['checkout', '-q', '-b', 'feature']);
  repo.write('feature.py', feature);
  repo.add('feature.py');
  repo.commitNoVerify('feature');
  return repo;
}

describe('check --all and --diff-base', () => {
  it('--all finds the committed SQL injection with wording for a check, not a commit', async () => {
    const repo = ciRepo(SAFE_PY);
    const r = await cliAsync(repo, ['check', '--all']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('app.py');
    expect(r.stdout).toContain('CWE-89');
    expect(r.stdout).toContain('in the tracked files');
    expect(r.stdout).toContain('reflexgen: check failed');
    expect(r.stdout).not.toContain('staged change');
    expect(r.stdout).not.toContain('commit blocked');
    expect(r.stdout).not.toContain('--no-verify');
    // `check --staged` on the same clean index sees nothing: --all is what looks at committed code.
    expect((await cliAsync(repo, ['check', '--staged'])).code).toBe(0);
  });

  it('--diff-base counts only what the branch changed since the merge base', async () => {
    const clean = ciRepo(SAFE_PY);
    const pass = await cliAsync(clean, ['check', '--diff-base', 'main']);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    expect(pass.stdout).toContain('no security findings on the lines changed since the merge base with main');

    const bad = ciRepo(SHELL_PY);
    const fail = await cliAsync(bad, ['check', '--diff-base', 'main', '--format', 'json']);
    expect(fail.code).toBe(1);
    const res = JSON.parse(fail.stdout);
    const files = new Set(res.findings.map((f: { file: string }) => f.file));
    expect([...files]).toEqual(['feature.py']);
    expect(res.findings.some((f: { cwe: string[] }) => f.cwe.includes('CWE-78'))).toBe(true);

    // main moving on after the branch point does not change what the branch is charged with.
    bad.git(['checkout', '-q', 'main']);
    bad.write('later.py', SHELL_PY);
    bad.add('later.py');
    bad.commitNoVerify('main moves on');
    bad.git(['checkout', '-q', 'feature']);
    const again = JSON.parse((await cliAsync(bad, ['check', '--diff-base', 'main', '--format', 'json'])).stdout);
    expect(new Set(again.findings.map((f: { file: string }) => f.file))).toEqual(new Set(['feature.py']));
  });

  it('a modified file is charged only with its changed lines', async () => {
    const repo = ciRepo(SAFE_PY);
    // Touch app.py away from the vulnerable line: the committed SQL injection is pre-existing.
    repo.write('app.py', `# a comment\n${SQLI_PY}`);
    repo.add('app.py');
    repo.commitNoVerify('comment');
    const r = await cliAsync(repo, ['check', '--diff-base', 'main', '--format', 'json']);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
  });

  it('an unknown base or one that looks like an option is one line and exit 2', async () => {
    const repo = ciRepo(SAFE_PY);
    const unknown = await cliAsync(repo, ['check', '--diff-base', 'no-such-branch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('no merge base between no-such-branch and HEAD');
    const opt = await cliAsync(repo, ['check', '--diff-base=--output=/tmp/x']);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain('needs a git ref');
    expect((await cliAsync(repo, ['check', '--all', '--staged'])).code).toBe(2);
  });

  it('--all writes SARIF with the finding, for code scanning', async () => {
    const repo = ciRepo(SAFE_PY);
    const r = await cliAsync(repo, ['check', '--all', '--format', 'sarif']);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    const results = sarif.runs[0].results as Array<{ locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }>;
    expect(results.some((x) => x.locations[0].physicalLocation.artifactLocation.uri === 'app.py')).toBe(true);
  });
});

function hasPreCommit(): boolean {
  return spawnSync('pre-commit', ['--version'], { encoding: 'utf8' }).status === 0;
}

const preCommit = hasPreCommit();
if (!preCommit) console.log('ci-modes: the pre-commit framework is not installed (Debian package `pre-commit`): its tests are skipped');

describe.skipIf(!preCommit)('the pre-commit framework with .pre-commit-hooks.yaml', () => {
  /** A local clone of the hook manifest, as `repo:` in a user's .pre-commit-config.yaml points at. */
  function hookRepo(): { url: string; rev: string } {
    const dir = mkdtempSync(join(tmpdir(), 'rxhooks-'));
    const g = (args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
    g(['init', '-q', '-b', 'main']);
    copyFileSync(join(ROOT, '.pre-commit-hooks.yaml'), join(dir, '.pre-commit-hooks.yaml'));
    g(['add', '.']);
    g(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '-m', 'hooks']);
    return { url: dir, rev: g(['rev-parse', 'HEAD']).stdout.trim() };
  }

  const cache = mkdtempSync(join(tmpdir(), 'rxpc-'));
  const path = `${binDir()}:${process.env.PATH}`;
  function run(repo: TestRepo, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
    return runAsync('pre-commit', args, repo.dir, repo.env({ PATH: path, PRE_COMMIT_HOME: cache, ...extra }));
  }

  function configured(files: Record<string, string>): TestRepo {
    const { url, rev } = hookRepo();
    const repo = new TestRepo(home, { init: false });
    repo.write('.pre-commit-config.yaml', `repos:\n  - repo: ${url}\n    rev: ${rev}\n    hooks:\n      - id: reflexgen\n`);
    for (const [p, c] of Object.entries(files)) repo.write(p, c);
    repo.add('.');
    repo.commitNoVerify('setup');
    return repo;
  }

  it('`pre-commit run --all-files` fails on a committed SQL injection and passes once it is fixed', async () => {
    const repo = configured({ 'app.py': SQLI_PY, 'notes.md': 'x\n' });
    const r = await run(repo, ['run', '--all-files']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('reflexgen security gate');
    expect(r.stdout).toContain('Failed');
    expect(r.stdout).toContain('CWE-89');

    // pre-commit shows a passing hook's output only with --verbose.
    const skipped = await run(repo, ['run', '--all-files', '--verbose'], { REFLEXGEN_SKIP: '1' });
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('security check skipped (REFLEXGEN_SKIP=1)');

    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    repo.commitNoVerify('fix');
    const ok = await run(repo, ['run', '--all-files']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('Passed');
  });

  it('installed as the git hook, it blocks a vulnerable commit', async () => {
    const repo = configured({ 'notes.md': 'x\n' });
    expect((await run(repo, ['install'])).code).toBe(0);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const c = await commitAsync(repo, 'vulnerable', { PATH: path, PRE_COMMIT_HOME: cache });
    expect(c.code).not.toBe(0);
    expect(c.stdout + c.stderr).toContain('CWE-89');
    expect(repo.commitCount()).toBe(1);
  });
});
