import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GEN_SYSTEM, LESSON_SYSTEM, REFINE_SYSTEM, REVIEW_SYSTEM } from '../../daemon/reflexion/prompts.js';
import { startFakeLlm, type FakeLlm, type FakeReply, type RecordedRequest } from '../helpers/fake-llm.js';
import { cliAsync, commitAsync, makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY, FIXED_FN, writeUserConfig } from '../helpers/repo.js';

/*
 * Every command that reaches the daemon runs asynchronously: the scripted model is served from
 * this very process, so a synchronous spawn would starve it.
 *
 * Reflect-and-repair inside the commit gate: the real hook, the real daemon, the real analyzers
 * verifying every candidate, the real knowledge base, and the real openai client talking to a
 * loopback OpenAI-compatible server scripted by each test.
 */

const LESSON = 'LESSON-MARKER-7: bind request values as SQL parameters instead of formatting them into the statement.';
const answer = (code: string) => `Fixed.\n\n\`\`\`python\n${code}\n\`\`\`\nTITLE: Parameterized SQL\nLESSON: ${LESSON}\n`;
const STILL_VULNERABLE = answer(FIXED_FN.replace(`"DELETE FROM subscriptions WHERE email = ?", (email,)`, `"DELETE FROM subscriptions WHERE email = '{}'".format(email)`));

let home: string;
let fake: FakeLlm;

function route(repairs: FakeReply[]): void {
  let i = 0;
  fake.handler = (req) => {
    const sys = req.body.messages?.[0]?.content;
    if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: ['CWE-89'], reason: 'request data is formatted into SQL' });
    if (sys === LESSON_SYSTEM) return JSON.stringify({ title: 'Parameterized SQL', lesson: LESSON });
    if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) return repairs[Math.min(i++, repairs.length - 1)];
    return { status: 400 };
  };
}

const repairRequests = () => fake.requests.filter((q) => [GEN_SYSTEM, REFINE_SYSTEM].includes(q.body.messages?.[0]?.content ?? ''));
const text = (q: RecordedRequest) => (q.body.messages ?? []).map((m) => m.content).join('\n');

/** The model and the repair policy are the user's settings: a repository cannot choose them untrusted. */
function repoWith(policy: 'suggest' | 'apply', llm: Record<string, unknown> = {}): TestRepo {
  writeUserConfig(home, { repair: policy, llm: { baseURL: fake.url, model: 'fake', maxRetries: 0, timeoutMs: 5000, ...llm } });
  const repo = new TestRepo(home);
  repo.write('README.md', 'x\n');
  repo.add('README.md');
  repo.commitNoVerify('setup');
  return repo;
}

function stagedBlob(repo: TestRepo, path: string): string {
  return repo.git(['ls-files', '-s', '--', path]).stdout.split(' ')[1];
}

async function kbStats(repo: TestRepo): Promise<{ total: number; bySource: Record<string, number> }> {
  return JSON.parse((await cliAsync(repo, ['kb', 'stats', '--format', 'json'])).stdout);
}

beforeAll(async () => {
  home = makeHome();
  fake = await startFakeLlm();
});
afterAll(async () => {
  stopDaemon(home);
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

describe('repair policy "apply"', () => {
  it('repairs a staged SQL injection in one iteration: the commit holds the fixed code and the knowledge base one more entry', async () => {
    const repo = repoWith('apply');
    route([answer(FIXED_FN)]);
    const before = await kbStats(repo);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = await commitAsync(repo, 'unsubscribe');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('verified repair for app.py');
    expect(r.stderr).toContain('+    cur.execute("DELETE FROM subscriptions WHERE email = ?", (email,))');
    expect(repo.committed('app.py')).toBe(SAFE_PY);
    expect(repo.read('app.py')).toBe(SAFE_PY);
    expect(repairRequests()).toHaveLength(1);
    const after = await kbStats(repo);
    expect(after.total).toBe(before.total + 1);
    expect(after.bySource.repair ?? 0).toBe((before.bySource.repair ?? 0) + 1);
  });

  it('a verified repair is learned even when the model answers the repair but not the lesson request', async () => {
    const repo = repoWith('apply');
    // The repair answer carries no TITLE/LESSON lines, and the lesson request itself fails.
    fake.handler = (req) => {
      const sys = req.body.messages?.[0]?.content;
      if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: ['CWE-89'], reason: 'request data is formatted into SQL' });
      if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) return `\`\`\`python\n${FIXED_FN.replace("'subs.db'", "'nolesson.db'")}\n\`\`\`\n`;
      return { status: 400 };
    };
    const before = await kbStats(repo);
    repo.write('app.py', SQLI_PY.replace("'subs.db'", "'nolesson.db'"));
    repo.add('app.py');
    const r = await commitAsync(repo, 'no lesson');
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.some((q) => q.body.messages?.[0]?.content === LESSON_SYSTEM)).toBe(true);
    expect(r.stderr).toContain('a lesson composed from the finding and the change was stored');
    expect(repo.committed('app.py')).toBe(SAFE_PY.replace("'subs.db'", "'nolesson.db'"));
    const after = await kbStats(repo);
    expect(after.total).toBe(before.total + 1);
    expect(after.bySource.repair ?? 0).toBe((before.bySource.repair ?? 0) + 1);
    const listed = JSON.parse((await cliAsync(repo, ['kb', 'list', '--source', 'repair', '--format', 'json'])).stdout) as Array<{ cwe: string[]; lesson: string; secureCode?: string }>;
    const mine = listed.filter((e) => e.lesson.includes('The verified fix replaced'));
    expect(mine, JSON.stringify(listed).slice(0, 2000)).toHaveLength(1);
    expect(mine[0].cwe).toContain('CWE-89');
    expect(mine[0].lesson).toContain('(email,)');
    expect(mine[0].secureCode).toContain('"DELETE FROM subscriptions WHERE email = ?", (email,)');
  });

  it('the lesson learned from that repair is retrieved into the prompt of a later, similar check', async () => {
    const repo = repoWith('suggest');
    route([answer(FIXED_FN)]);
    repo.write('app.py', SQLI_PY.replace("'subs.db'", "'other.db'"));
    repo.add('app.py');
    await commitAsync(repo, 'similar');
    const prompts = repairRequests().map(text);
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts[0]).toContain('LESSON-MARKER-7');
  });

  it('with partial staging, unstaged working-tree edits survive untouched and the fix goes to the index only', async () => {
    const repo = repoWith('apply');
    route([answer(FIXED_FN)]);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const unstaged = SQLI_PY + '\n\n# work in progress, not staged\n';
    repo.write('app.py', unstaged);
    const r = await commitAsync(repo, 'partial');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('index only');
    expect(repo.committed('app.py')).toBe(SAFE_PY);
    expect(repo.read('app.py')).toBe(unstaged);
  });

  it('`reflexgen undo` restores the staged and working-tree content from the backup', async () => {
    const repo = repoWith('apply');
    route([answer(FIXED_FN)]);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const original = stagedBlob(repo, 'app.py');
    // lint-staged style: `reflexgen check --staged` applies like the hook does.
    const r = await cliAsync(repo, ['check', '--staged']);
    expect(r.code, r.stderr).toBe(0);
    expect(stagedBlob(repo, 'app.py')).not.toBe(original);
    expect(repo.read('app.py')).toBe(SAFE_PY);
    const u = repo.cli(['undo']);
    expect(u.code, u.stderr).toBe(0);
    expect(stagedBlob(repo, 'app.py')).toBe(original);
    expect(repo.read('app.py')).toBe(SQLI_PY);
    expect(repo.cli(['undo']).code).toBe(2); // nothing left to undo
  });
});

describe('repair policy "suggest" (default)', () => {
  it('blocks with the verified patch, saves it, and `reflexgen apply` applies it later', async () => {
    const repo = repoWith('suggest');
    route([STILL_VULNERABLE, answer(FIXED_FN)]);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const original = stagedBlob(repo, 'app.py');
    const r = await commitAsync(repo, 'suggest');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('verified repair for app.py (2 iteration(s)');
    const id = /reflexgen apply (\S+)`/.exec(r.stderr)?.[1];
    expect(id).toBeDefined();
    expect(stagedBlob(repo, 'app.py')).toBe(original); // nothing applied yet
    // The second prompt carried y0, the first candidate and the verifier's feedback on it.
    const second = text(repairRequests()[1]);
    expect(second).toContain(`"DELETE FROM subscriptions WHERE email = '%s'" % email`);
    expect(second).toContain(`"DELETE FROM subscriptions WHERE email = '{}'".format(email)`);
    expect(second).toMatch(/REJECTED/);

    const a = repo.cli(['apply', id!]);
    expect(a.code, a.stderr).toBe(0);
    expect(repo.read('app.py')).toBe(SAFE_PY);
    const ok = await commitAsync(repo, 'suggest, applied');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.committed('app.py')).toBe(SAFE_PY);
  });

  it('a candidate that never verifies leaves the commit blocked with nothing applied and nothing saved', async () => {
    const repo = repoWith('apply');
    route([STILL_VULNERABLE]);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const original = stagedBlob(repo, 'app.py');
    const r = await commitAsync(repo, 'never');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no verified repair for app.py');
    expect(r.stderr).not.toContain('applied');
    expect(stagedBlob(repo, 'app.py')).toBe(original);
    expect(repo.read('app.py')).toBe(SQLI_PY);
    const patches = join(repo.dir, '.git', 'reflexgen', 'patches');
    expect(existsSync(patches) ? readdirSync(patches) : []).toEqual([]);
  });

  it('an endpoint answering 500 gives a clear report, no patch, and the finding still blocks', async () => {
    const repo = repoWith('apply');
    fake.handler = () => ({ status: 500 });
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = await commitAsync(repo, 'llm down');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CWE-89');
    expect(r.stderr).toMatch(/no verified repair for app\.py \(the model could not be reached: .*500/);
    expect(repo.read('app.py')).toBe(SQLI_PY);
  });

  it('an endpoint sending garbage gives a clear report and no patch', async () => {
    const repo = repoWith('apply');
    fake.handler = () => ({ raw: '<html>proxy error</html>', contentType: 'text/html' });
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = await commitAsync(repo, 'garbage');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no verified repair for app.py');
    expect(stagedBlob(repo, 'app.py')).toBe(repo.git(['hash-object', 'app.py']).stdout.trim());
  });

  it('a fake API key in the staged file never appears in any request body when redaction is on', async () => {
    const repo = repoWith('apply', { redact: 'on' });
    const KEY = 'sk-live-4eC39HqLyjWDarjtT1zdp7dc9XyZ';
    // Not named like a credential, so no analyzer objects to it: only the redactor's key pattern sees it.
    const withKey = SQLI_PY.replace("    email = request.args.get('email')\n", `    email = request.args.get('email')\n    tracking = "${KEY}"\n`);
    const fixedWithPlaceholderEcho = (req: RecordedRequest) => {
      // Echo back whatever placeholder the client sent for the key, as a real model would.
      const placeholder = /tracking = "([^"]+)"/.exec(text(req))?.[1] ?? 'missing';
      return answer(FIXED_FN.replace("    email = request.args.get('email')\n", `    email = request.args.get('email')\n    tracking = "${placeholder}"\n`));
    };
    fake.handler = (req) => {
      const sys = req.body.messages?.[0]?.content;
      if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: ['CWE-89'], reason: 'sql' });
      if (sys === LESSON_SYSTEM) return JSON.stringify({ title: 'x', lesson: 'y' });
      return fixedWithPlaceholderEcho(req);
    };
    repo.write('app.py', withKey);
    repo.add('app.py');
    const r = await commitAsync(repo, 'with key');
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(0);
    // The placeholder came back in the answer and was restored to the real key in the commit.
    expect(repo.committed('app.py')).toContain(`tracking = "${KEY}"`);
    expect(fake.allRaw()).not.toContain(KEY);
    expect(fake.allRaw()).not.toContain('4eC39HqLyjWDarjtT1zdp7dc9XyZ');
  });
});
