import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadEffectiveConfig, weakenings, parseConfig } from '../../shared/config.js';
import { readRepoFile } from '../../shared/repo-files.js';
import { readRepoFileSync } from '../../shared/repo-files-sync.js';
import { cleanLine, cleanText } from '../../shared/terminal-text.js';
import { contentHash, trustContent, revokeTrust } from '../../shared/trust.js';
import { readConfigHints } from '../../shared/config-hints.js';

/** A user (state dir + config dir) and a repository, both in temp dirs. */
function setup(repoConfig?: unknown, userConfig?: unknown) {
  const base = mkdtempSync(join(tmpdir(), 'rx-layers-'));
  const repo = join(base, 'repo');
  const state = join(base, 'state');
  mkdirSync(repo);
  const env = { XDG_CONFIG_HOME: join(base, 'cfg'), HOME: base } as NodeJS.ProcessEnv;
  if (repoConfig !== undefined) writeFileSync(join(repo, '.reflexgenrc.json'), typeof repoConfig === 'string' ? repoConfig : JSON.stringify(repoConfig));
  if (userConfig !== undefined) {
    mkdirSync(join(base, 'cfg', 'reflexgen'), { recursive: true });
    writeFileSync(join(base, 'cfg', 'reflexgen', 'config.json'), JSON.stringify(userConfig));
  }
  return { repo, state, env, load: () => loadEffectiveConfig(repo, { env, stateDir: state }) };
}

describe('settings layers', () => {
  it('the repository supplies policy; its endpoint, redaction, apply and CodeQL options wait for trust', async () => {
    const s = setup(
      { onFinding: 'warn', scope: 'changed-files', repair: 'apply', llm: { baseURL: 'http://127.0.0.1:9/v1', model: 'x', redact: 'off' }, analyzers: { codeql: { suite: 'security-extended' } } },
      { llm: { baseURL: 'http://127.0.0.1:8/v1', model: 'mine', apiKeyEnv: 'MY_KEY' } },
    );
    const l = await s.load();
    expect(l.config.onFinding).toBe('warn');
    expect(l.config.scope).toBe('changed-files');
    expect(l.config.repair).toBe('suggest');
    expect(l.config.llm).toMatchObject({ baseURL: 'http://127.0.0.1:8/v1', model: 'mine', apiKeyEnv: 'MY_KEY', redact: 'auto' });
    expect(l.config.analyzers.codeql).toEqual({ enabled: true });
    expect(l.ignored).toEqual(['llm.baseURL', 'llm.model', 'llm.redact', 'repair: "apply"', 'analyzers.codeql.suite']);
    expect(l.llmFromRepo).toBe(false);
    expect(l.notices.join('\n')).toContain('reflexgen trust');
  });

  it('trusting the exact content applies it; the key variable stays the user\'s; any edit or a revoke undoes it', async () => {
    const text = JSON.stringify({ repair: 'apply', llm: { baseURL: 'http://127.0.0.1:9/v1', model: 'x', apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' } });
    const s = setup(text);
    await trustContent(s.state, s.repo, contentHash(text));
    const l = await s.load();
    expect(l.repoFile.trusted).toBe(true);
    expect(l.config.repair).toBe('apply');
    expect(l.config.llm?.baseURL).toBe('http://127.0.0.1:9/v1');
    expect(l.config.llm?.apiKeyEnv).toBe('OPENAI_API_KEY');
    expect(l.ignored).toEqual(['llm.apiKeyEnv']);
    expect(l.llmFromRepo).toBe(true);

    writeFileSync(join(s.repo, '.reflexgenrc.json'), text + '\n');
    expect((await s.load()).repoFile.trusted).toBe(false);
    writeFileSync(join(s.repo, '.reflexgenrc.json'), text);
    expect((await s.load()).repoFile.trusted).toBe(true);
    await revokeTrust(s.state, s.repo);
    expect((await s.load()).config.repair).toBe('suggest');
  });

  it('a bad value is one line naming the file and key; a symlinked config is ignored with a notice', async () => {
    await expect(setup({ failMode: 'sometimes' }).load()).rejects.toThrow(/^\.reflexgenrc\.json: failMode: /);
    await expect(setup(undefined, { repair: 'always' }).load()).rejects.toThrow(/config\.json: repair: /);
    const s = setup();
    symlinkSync('/dev/zero', join(s.repo, '.reflexgenrc.json'));
    const l = await s.load();
    expect(l.notices[0]).toMatch(/ignored \.reflexgenrc\.json is a symbolic link/);
    expect(l.config.onFinding).toBe('block');
  });

  it('names every weakening in one line, and nothing for the defaults', () => {
    expect(weakenings(parseConfig({}))).toBe('');
    expect(weakenings(parseConfig({ rules: { 'CWE-89': false, 'py/x': true }, analyzers: { bandit: false }, onFinding: 'warn', minSeverity: 'error', exclude: ['a/', 'b/', 'c/', 'd/'] }))).toBe(
      'settings that weaken this check: rules off: CWE-89; analyzers off: bandit; onFinding: warn; minSeverity: error; exclude: a/, b/, c/ (+1 more)',
    );
  });

  it('the hook forwards the key variable the user named, never the one a repository names', async () => {
    const s = setup({ failMode: 'closed', llm: { apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' } }, { llm: { apiKeyEnv: 'MY_LLM_KEY' } });
    expect(await readConfigHints(s.repo, s.env)).toEqual({ failMode: 'closed', apiKeyEnv: 'MY_LLM_KEY' });
    const t = setup({ llm: { apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' } });
    expect((await readConfigHints(t.repo, t.env)).apiKeyEnv).toBe('OPENAI_API_KEY');
  });
});

describe('reading a repository file', () => {
  it('refuses links, devices, FIFOs and oversize files without reading them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rx-files-'));
    symlinkSync('/dev/zero', join(dir, 'zero'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    writeFileSync(join(dir, 'big'), Buffer.alloc(2048, 97));
    writeFileSync(join(dir, 'ok'), 'hello');
    expect(await readRepoFile(dir, 'zero', 1024)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('symbolic link') });
    expect(await readRepoFile(dir, 'fifo', 1024)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not a regular file') });
    expect(await readRepoFile(dir, 'big', 1024)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('over the 1 KiB limit') });
    expect(await readRepoFile(dir, 'missing', 1024)).toEqual({ kind: 'absent' });
    expect(await readRepoFile(dir, 'ok', 1024)).toMatchObject({ kind: 'ok', text: 'hello', bytes: 5 });
    // The client's synchronous reader (config hints in the hook) refuses the same files the same way.
    for (const name of ['zero', 'fifo', 'big', 'missing', 'ok']) {
      const { mtimeMs: _a, ...sync } = readRepoFileSync(dir, name, 1024) as { mtimeMs?: number };
      const { mtimeMs: _b, ...async } = (await readRepoFile(dir, name, 1024)) as { mtimeMs?: number };
      expect(sync, name).toEqual(async);
    }
  });
});

describe('terminal text', () => {
  it('removes CSI, OSC (BEL and ST), 8-bit C1, DCS, bidi overrides and stray controls, keeping newlines and tabs', () => {
    const hostile = 'a\u001b[1A\u001b[2Kb\u001b]52;c;ZXZpbA==\u0007c\u001b]8;;http://x\u001b\\d\u009b31me\u001bPq#0\u001b\\f\u202eg\u0000h\ti\nj\rk';
    const clean = cleanText(hostile);
    expect(clean).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(clean).toBe('abcdef\uFFFDg\uFFFDh\ti\njk');
    expect(cleanLine('x\ny\tz')).toBe('x y z');
  });
});

describe('repair capabilities', () => {
  it('flags network, process and evaluation use a candidate adds, and nothing for an ordinary import or an unchanged use', async () => {
    const { capabilityFindings } = await import('../../daemon/repair/capabilities.js');
    const before = 'def f(x):\n    return subprocess.run(["ls", x])\n';
    expect(capabilityFindings('python', 'a.py', before, before.replace('return', 'import shlex\n    return'))).toEqual([]);
    const added = capabilityFindings('python', 'a.py', before, before + 'requests.post("http://x", data=x)\neval(x)\n');
    expect(added.map((f) => f.message)).toEqual([
      expect.stringContaining('adds network access'),
      expect.stringContaining('adds code evaluation'),
    ]);
    expect(added[0].startLine).toBe(3);
    expect(capabilityFindings('javascript', 'a.js', 'f(x)', 'f(x); fetch("http://x")')).toHaveLength(1);
    expect(capabilityFindings('c', 'a.c', 'int f(){return 0;}', 'int f(){system("id");return 0;}')).toHaveLength(1);
  });
});
