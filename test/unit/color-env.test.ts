import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { colorEnabled, normalizeColorEnv } from '../../hook/ansi.js';
import { CLI, ROOT } from '../helpers/repo.js';

/* NO_COLOR (https://no-color.org) and FORCE_COLOR (https://force-color.org), in the hook and the CLI. */

describe('colorEnabled', () => {
  const cases: Array<[NodeJS.ProcessEnv, boolean, boolean]> = [
    [{}, true, true],
    [{}, false, false],
    [{ TERM: 'dumb' }, true, false],
    [{ NO_COLOR: '1' }, true, false],
    // An empty NO_COLOR is "not set".
    [{ NO_COLOR: '' }, true, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: 'false' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '3' }, false, true],
    [{ FORCE_COLOR: '' }, false, true],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0', NO_COLOR: '' }, true, false],
  ];
  for (const [env, tty, want] of cases) {
    it(`${JSON.stringify(env)} on ${tty ? 'a TTY' : 'a pipe'}: ${want ? 'color' : 'no color'}`, () => {
      expect(colorEnabled(env, tty)).toBe(want);
    });
  }

  it('normalizeColorEnv only removes variables or sets NO_COLOR=1, and keeps the decision', () => {
    for (const [env, tty] of cases) {
      const e = { ...env };
      normalizeColorEnv(e);
      expect(colorEnabled(e, tty)).toBe(colorEnabled(env, tty));
      expect(e.FORCE_COLOR === undefined || e.FORCE_COLOR === env.FORCE_COLOR).toBe(true);
      expect(e.NO_COLOR === undefined || e.NO_COLOR === '1').toBe(true);
    }
  });
});

function run(file: string, args: string[], env: NodeJS.ProcessEnv): string {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...base, REFLEXGEN_HOME: '/nonexistent-rx', ...env } });
  return r.stdout + r.stderr;
}

describe('the built CLI and hook follow the same rules (output to a pipe)', () => {
  const hook = join(ROOT, 'dist', 'hook', 'hook.cjs');
  const envs: Array<[NodeJS.ProcessEnv, boolean]> = [
    [{ FORCE_COLOR: '0' }, false],
    [{ FORCE_COLOR: '1' }, true],
    [{ NO_COLOR: '1' }, false],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true],
    [{ NO_COLOR: '', FORCE_COLOR: '2' }, true],
  ];
  for (const [env, color] of envs) {
    it(`${JSON.stringify(env)}: ${color ? 'escape sequences' : 'plain text'}`, () => {
      const cli = run(CLI, ['no-such-command'], env);
      expect(cli).toContain("unknown command 'no-such-command'");
      expect(cli.includes('\x1b[')).toBe(color);
      const h = run(hook, [], { ...env, REFLEXGEN_SKIP: '1' });
      expect(h).toContain('security check skipped');
      expect(h.includes('\x1b[')).toBe(color);
    });
  }
});
