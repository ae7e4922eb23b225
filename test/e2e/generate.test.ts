import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEN_SYSTEM, LESSON_SYSTEM, REFINE_SYSTEM, REVIEW_SYSTEM, WRITE_SYSTEM } from '../../daemon/reflexion/prompts.js';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';
import { CLI, envFor, makeHome, runAsync, stopDaemon } from '../helpers/repo.js';

/* `reflexgen generate` through the real daemon, analyzers and knowledge base; the model is scripted. */

const INSECURE = `import os
from flask import Flask, request

app = Flask(__name__)


@app.route('/ls')
def ls():
    d = request.args.get('dir')
    return os.popen('ls ' + d).read()
`;
const SECURE_FN = `@app.route('/ls')
def ls():
    d = request.args.get('dir')
    return subprocess.run(['ls', '--', d], capture_output=True, text=True).stdout`;

let home: string;
let fake: FakeLlm;
let cwd: string;
beforeAll(async () => {
  home = makeHome();
  fake = await startFakeLlm((req) => {
    const sys = req.body.messages?.[0]?.content;
    if (sys === WRITE_SYSTEM) return '```python\n' + INSECURE + '```\n';
    if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: ['CWE-78'], reason: 'shell command from request data' });
    if (sys === LESSON_SYSTEM) return JSON.stringify({ title: 'No shell', lesson: 'Pass argument lists.' });
    if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) return '```python\n' + SECURE_FN + '\n```\nTITLE: Argument lists\nLESSON: Run programs with an argument list, never a shell string.\n';
    return { status: 400 };
  });
  cwd = mkdtempSync(join(tmpdir(), 'rxgen-'));
});
afterAll(async () => {
  stopDaemon(home);
  await fake.close();
});

const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runAsync(process.execPath, [CLI, 'generate', ...args], cwd, envFor(home, { REFLEXGEN_LLM_BASE_URL: fake.url, REFLEXGEN_LLM_MODEL: 'fake', ...extra }));

describe('reflexgen generate', () => {
  it('--no-reflect returns the model\'s first answer y0', async () => {
    const r = await run(['--language', 'python', '--no-reflect', '--format', 'json', 'list', 'a', 'directory']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('generated');
    expect(out.code).toContain("os.popen('ls ' + d)");
    expect(out.iterations).toEqual([]);
  });

  it('with reflection, returns verified code and the trail', async () => {
    const r = await run(['--language', 'python', '--format', 'json', 'list', 'a', 'directory']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('repaired');
    expect(out.y0).toContain("os.popen('ls ' + d)");
    expect(out.code).toContain("subprocess.run(['ls', '--', d]");
    expect(out.initialFindings.some((f: { cwe: string[] }) => f.cwe.includes('CWE-78'))).toBe(true);
    expect(out.iterations.at(-1)).toMatchObject({ accepted: true, parses: true });
    expect(out.tokens.total).toBeGreaterThan(0);
    expect(out.learned).toBe(true);
  });

  it('completes an incomplete file given with --file; no task and no file is a usage error', async () => {
    const f = join(cwd, 'partial.py');
    writeFileSync(f, INSECURE.split('@app.route')[0]);
    const r = await run(['--file', f, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe('repaired');
    const bad = await run([]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('without a model configured: one clear line, exit 2', async () => {
    const r = await runAsync(process.execPath, [CLI, 'generate', '--language', 'c', 'hello'], cwd, envFor(home));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no LLM configured');
  });
});
