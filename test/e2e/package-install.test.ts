import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SQLI_PY, type Run } from '../helpers/repo.js';

/*
 * The package as a user gets it: `npm pack`, then a plain `npm install` of the tarball into a fresh
 * project (as a devDependency) and globally, with no npm setting or environment variable of ours,
 * then `npx reflexgen init` and a vulnerable commit. The registry is needed for the dependencies;
 * --prefer-offline lets npm's cache answer on later runs. Build first (`npm run build`).
 */

const work = mkdtempSync(join(tmpdir(), 'rxpkg-'));
const home = join(work, 'state');

/** The environment of a user's shell: nothing npm-related that this checkout or npm itself set. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^ONNXRUNTIME_/i.test(k) || k.startsWith('REFLEXGEN_') || k === 'INIT_CWD' || k === 'FORCE_COLOR') continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', REFLEXGEN_HOME: home, ...extra };
}

/** Asynchronous: a minute-long synchronous spawn would starve vitest's worker of its event loop. */
function sh(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: userEnv(extra), timeout: 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function gitRepo(dir: string): Promise<void> {
  for (const args of [['init', '-q', '-b', 'main'], ['config', 'user.email', 'dev@example.com'], ['config', 'user.name', 'Dev'], ['config', 'commit.gpgsign', 'false']]) {
    expect((await sh('git', args, dir)).code).toBe(0);
  }
}

async function duBytes(dir: string): Promise<number> {
  return Number((await sh('du', ['-sb', dir], work)).stdout.split('\t')[0]);
}

let tgz = '';

afterAll(async () => {
  for (const bin of [join(work, 'proj', 'node_modules', '.bin', 'reflexgen'), join(work, 'global', 'bin', 'reflexgen')]) {
    if (existsSync(bin)) await sh(bin, ['daemon', 'stop'], work);
  }
  rmSync(work, { recursive: true, force: true });
}, 180_000);

describe('npm pack + npm install, as a user installs it', { timeout: 300_000 }, () => {
  it('packs LICENSE and the build, without source maps or the benchmarks', async () => {
    const packed = await sh('npm', ['pack', '--pack-destination', work, '--silent'], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    expect(packed.stderr).not.toMatch(/npm warn/i);
    tgz = join(work, packed.stdout.trim().split('\n').pop()!);
    const list = (await sh('tar', ['tzf', tgz], work)).stdout.split('\n').filter(Boolean);
    expect(list).toContain('package/LICENSE');
    expect(list).toContain('package/dist/hook/hook.cjs');
    expect(list).toContain('package/dist/cli/main.js');
    expect(list.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(list.filter((f) => f.startsWith('package/dist/bench/'))).toEqual([]);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain('MIT License');
  });

  it('installs as a devDependency with plain npm install, no warning, and its hook blocks a vulnerable commit', async () => {
    expect(tgz).not.toBe('');
    const proj = join(work, 'proj');
    await sh('mkdir', ['-p', proj], work);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }, null, 2));
    writeFileSync(join(proj, '.gitignore'), 'node_modules/\n');
    await gitRepo(proj);
    const inst = await sh('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tgz], proj);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stderr).not.toMatch(/npm warn|npm error/i);
    console.log(`package-install: installed size ${((await duBytes(join(proj, 'node_modules'))) / 1e6).toFixed(0)} MB (node_modules of a fresh project)`);

    // Without the optional embedding runtime (dropped when its install cannot download), doctor says so in one line.
    const doctor = await sh('npx', ['--no-install', 'reflexgen', 'doctor'], proj);
    expect(doctor.code, doctor.stderr).toBe(0);
    const emb = doctor.stdout.split('\n').filter((l) => l.startsWith('embeddings:'));
    expect(emb).toHaveLength(1);
    if (!existsSync(join(proj, 'node_modules', '@huggingface', 'transformers'))) expect(emb[0]).toContain('lexical only');

    await sh('git', ['add', '.'], proj);
    expect((await sh('git', ['commit', '-q', '--no-verify', '-m', 'setup'], proj)).code).toBe(0);
    const init = await sh('npx', ['--no-install', 'reflexgen', 'init'], proj);
    expect(init.code, init.stderr).toBe(0);
    const hook = readFileSync(join(proj, '.git', 'hooks', 'pre-commit'), 'utf8');
    expect(hook).toContain(join(proj, 'node_modules', 'reflexgen', 'dist', 'hook', 'hook.cjs'));

    writeFileSync(join(proj, 'app.py'), SQLI_PY);
    await sh('git', ['add', 'app.py'], proj);
    const c = await sh('git', ['commit', '-q', '-m', 'vulnerable'], proj);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('CWE-89');
    expect(c.stderr).toContain('commit blocked');
    expect((await sh('git', ['rev-list', '--count', 'HEAD'], proj)).stdout.trim()).toBe('1');
  });

  it('installs globally with plain npm install -g and blocks the same commit', async () => {
    expect(tgz).not.toBe('');
    const prefix = join(work, 'global');
    const inst = await sh('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], work);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stderr).not.toMatch(/npm warn|npm error/i);
    const bin = join(prefix, 'bin', 'reflexgen');
    const repo = join(work, 'repo');
    await sh('mkdir', ['-p', repo], work);
    await gitRepo(repo);
    const init = await sh(bin, ['init'], repo);
    expect(init.code, init.stderr).toBe(0);
    expect(readFileSync(join(repo, '.git', 'hooks', 'pre-commit'), 'utf8')).toContain(join(prefix, 'lib', 'node_modules', 'reflexgen', 'dist', 'hook', 'hook.cjs'));
    writeFileSync(join(repo, 'app.py'), SQLI_PY);
    await sh('git', ['add', 'app.py'], repo);
    const c = await sh('git', ['commit', '-q', '-m', 'vulnerable'], repo);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('CWE-89');
  });
});
