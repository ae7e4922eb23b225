import { spawnSync, spawn, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/*
 * Real git repositories in temp dirs, driven through the real CLI and real `git commit` with the
 * hook that `reflexgen init` installs. Each test file gets its own REFLEXGEN_HOME, so its daemon
 * is its own.
 */

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): Run {
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function makeHome(): string {
  // Short path: the daemon's Unix socket lives here and sun_path is small.
  return mkdtempSync(join(tmpdir(), 'rxh-'));
}

export function envFor(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REFLEXGEN_SKIP;
  delete env.FORCE_COLOR;
  // `reflexgen check` runs in process when CI is set; tests choose the mode explicitly.
  delete env.CI;
  delete env.REFLEXGEN_DAEMON;
  // The user's own settings live beside the state dir, never in the developer's real ~/.config.
  return { ...env, REFLEXGEN_HOME: home, XDG_CONFIG_HOME: join(home, 'xdg-config'), NO_COLOR: '1', ...extra };
}

/** Writes the user-level settings file (`$XDG_CONFIG_HOME/reflexgen/config.json`) for a test home. */
export function writeUserConfig(home: string, settings: Record<string, unknown>): void {
  const file = join(home, 'xdg-config', 'reflexgen', 'config.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(settings));
}

export class TestRepo {
  readonly dir: string;
  constructor(
    readonly home: string,
    opts: { init?: boolean } = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'rxr-'));
    this.git(['init', '-q', '-b', 'main']);
    this.git(['config', 'user.email', 'dev@example.com']);
    this.git(['config', 'user.name', 'Dev']);
    this.git(['config', 'commit.gpgsign', 'false']);
    if (opts.init !== false) {
      const r = this.cli(['init']);
      if (r.code !== 0) throw new Error(`reflexgen init failed: ${r.stderr}`);
    }
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return envFor(this.home, extra);
  }

  git(args: string[], extra: NodeJS.ProcessEnv = {}): Run {
    return result(spawnSync('git', args, { cwd: this.dir, encoding: 'utf8', env: this.env(extra) }));
  }

  cli(args: string[], extra: NodeJS.ProcessEnv = {}): Run {
    return result(spawnSync(process.execPath, [CLI, ...args], { cwd: this.dir, encoding: 'utf8', env: this.env(extra) }));
  }

  write(path: string, content: string | Buffer): void {
    const abs = join(this.dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }

  read(path: string): string {
    return readFileSync(join(this.dir, path), 'utf8');
  }

  exists(path: string): boolean {
    return existsSync(join(this.dir, path));
  }

  add(...paths: string[]): void {
    const r = this.git(['add', '--', ...paths]);
    if (r.code !== 0) throw new Error(`git add failed: ${r.stderr}`);
  }

  commit(message = 'change', extra: NodeJS.ProcessEnv = {}): Run {
    return this.git(['commit', '-q', '-m', message], extra);
  }

  /** Commits without the hook (for setting up history). */
  commitNoVerify(message = 'setup'): void {
    const r = this.git(['commit', '-q', '--no-verify', '-m', message]);
    if (r.code !== 0) throw new Error(`git commit failed: ${r.stderr}`);
  }

  commitCount(): number {
    const r = this.git(['rev-list', '--count', 'HEAD']);
    return r.code === 0 ? Number(r.stdout.trim()) : 0;
  }

  /** Content of a path in the last commit. */
  committed(path: string): string {
    return this.git(['show', `HEAD:${path}`]).stdout;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a command without blocking the event loop (needed when the test process serves the LLM). */
export function runAsync(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

export function commitAsync(repo: TestRepo, message: string, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runAsync('git', ['commit', '-q', '-m', message], repo.dir, repo.env(extra));
}

export function cliAsync(repo: TestRepo, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runAsync(process.execPath, [CLI, ...args], repo.dir, repo.env(extra));
}

/** The package's `reflexgen` bin (the bundled start-up fast path), what npm links onto the PATH. */
export const BIN = join(ROOT, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.reflexgen);

/** A directory with a `reflexgen` executable, as an npm install would put on PATH. */
export function binDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxbin-'));
  const shim = join(dir, 'reflexgen');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

/** SQLI_PY's function with the statement parameterized: what a verified repair of it looks like. */
export const FIXED_FN = `def unsubscribe():
    email = request.args.get('email')
    db = sqlite3.connect('subs.db')
    cur = db.cursor()
    cur.execute("DELETE FROM subscriptions WHERE email = ?", (email,))
    db.commit()`;

/**
 * Stops the home's daemon and waits for its process to be gone: `daemon stop` returns once the socket
 * is closed, while the daemon may still be writing its knowledge base and cache on the way out, and a
 * test that removes the home then races it (ENOTEMPTY).
 */
export function stopDaemon(home: string): void {
  const pid = daemonPid(home);
  spawnSync(process.execPath, [CLI, 'daemon', 'stop'], { env: envFor(home), encoding: 'utf8' });
  if (!pid) return;
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
      // An exited daemon nobody has reaped yet is gone as far as its files are concerned.
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return;
    } catch {
      return;
    }
    spawnSync('sleep', ['0.05']);
  }
}

export function daemonStarts(home: string): number {
  try {
    return readFileSync(join(home, 'daemon.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"daemon listening"')).length;
  } catch {
    return 0;
  }
}

export function daemonPid(home: string): number | undefined {
  try {
    return Number(readFileSync(join(home, 'daemon.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

export const SQLI_PY = `import sqlite3
from flask import request


def unsubscribe():
    email = request.args.get('email')
    db = sqlite3.connect('subs.db')
    cur = db.cursor()
    cur.execute("DELETE FROM subscriptions WHERE email = '%s'" % email)
    db.commit()
`;

/** Request data in a shell command: the built-in taint rule and bandit's B602 both report line 9. */
export const CMDI_PY = `import subprocess
from flask import Flask, request

app = Flask(__name__)

@app.route('/ping')
def ping():
    host = request.args.get('host')
    return subprocess.check_output('ping -c 1 ' + host, shell=True)
`;

export const SAFE_PY = SQLI_PY.replace(`"DELETE FROM subscriptions WHERE email = '%s'" % email`, `"DELETE FROM subscriptions WHERE email = ?", (email,)`);

export const UAF_C = `#include <stdlib.h>
#include <string.h>
#include <stdio.h>

int main(void) {
    char *buf = malloc(64);
    if (buf == NULL) return 1;
    strcpy(buf, "hello");
    free(buf);
    printf("%s\\n", buf);
    return 0;
}
`;

export const SAFE_C = UAF_C.replace('    free(buf);\n    printf("%s\\n", buf);\n', '    printf("%s\\n", buf);\n    free(buf);\n');
