import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient } from '../../daemon/llm/client.js';
import { resolveLlmConfig, type LlmConfigInput } from '../../daemon/llm/config.js';
import { generate, repairRegion } from '../../daemon/reflexion/engine.js';
import { GEN_SYSTEM, LESSON_SYSTEM, REFINE_SYSTEM, REVIEW_SYSTEM, WRITE_SYSTEM } from '../../daemon/reflexion/prompts.js';
import type { EngineDeps, KnowledgeHit, KnowledgeQuery, LearnedLesson, RepairInput } from '../../daemon/reflexion/types.js';
import { startFakeLlm, type FakeHandler, type FakeLlm, type FakeReply, type RecordedRequest } from '../helpers/fake-llm.js';
import { pythonVerifier, verifyCalls } from './python-checker.js';

const PATH = 'app/db.py';
const FILE = `import sqlite3


def get_user(conn, name):
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cur.fetchone()


def add(a, b):
    return a + b
`;
const REGION = { startLine: 4, endLine: 7 };

const FIXED_REGION = `def get_user(conn, name):
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    return cur.fetchone()`;
const LESSON_LINES = 'TITLE: Parameterized SQL queries\nLESSON: Pass user input to SQL as bound parameters, never by formatting it into the query text.';
const answer = (code: string, lesson = LESSON_LINES) => `Here is the fix.\n\n\`\`\`python\n${code}\n\`\`\`\n${lesson}\n`;

const FIXED = answer(FIXED_REGION);
const STILL_VULNERABLE = answer(FIXED_REGION.replace(`"SELECT * FROM users WHERE name = ?", (name,)`, `"SELECT * FROM users WHERE name = '{}'".format(name)`));
const BROKEN = answer(FIXED_REGION.replace('(name,))', '(name,)'));
const NEW_FINDING = answer(FIXED_REGION.replace('(name,))', '(eval(name),))'));

/** A tiny in-memory knowledge base for the tests; the real one lives in knowledge/. */
class MemoryKb {
  entries: KnowledgeHit[] = [
    {
      id: 'starter-sql',
      title: 'Use parameterized queries',
      cwe: ['CWE-89'],
      lesson: 'STARTER-LESSON: never build SQL by string formatting.',
      vulnerableCode: 'cur.execute("... %s" % x)',
      secureCode: 'cur.execute("... ?", (x,))',
      score: 0.9,
    },
  ];
  queries: KnowledgeQuery[] = [];
  learned: Array<{ lesson: LearnedLesson; credited: string[] }> = [];
  retrieve = async (q: KnowledgeQuery, k: number) => {
    this.queries.push(q);
    return this.entries.filter((e) => e.cwe.some((c) => q.cwe.includes(c))).slice(0, k);
  };
  learn = async (lesson: LearnedLesson, credited: string[]) => {
    this.learned.push({ lesson, credited });
    this.entries.push({ id: `learned-${this.learned.length}`, title: lesson.title, cwe: lesson.cwe, lesson: lesson.lesson, secureCode: lesson.secureCode, vulnerableCode: lesson.vulnerableCode, score: 1 });
  };
}

interface Script {
  review?: object;
  repairs: FakeReply[];
  lesson?: FakeReply;
  write?: FakeReply[];
}

/** Routes each request by its system prompt, so every test scripts the model's role by role. */
function model(s: Script): FakeHandler {
  let r = 0;
  let w = 0;
  return (req) => {
    const sys = req.body.messages?.[0]?.content;
    if (sys === REVIEW_SYSTEM) return JSON.stringify(s.review ?? { secure: false, cwe: ['CWE-89'], reason: 'the query is built from user input' });
    if (sys === LESSON_SYSTEM) return s.lesson ?? '{"title": "Parameterized SQL", "lesson": "Bind parameters."}';
    if (sys === WRITE_SYSTEM) return s.write?.[w++] ?? { status: 500 };
    if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) return s.repairs[r++] ?? { status: 500 };
    return { status: 400 };
  };
}

const repairRequests = (f: FakeLlm): RecordedRequest[] => f.requests.filter((q) => [GEN_SYSTEM, REFINE_SYSTEM].includes(q.body.messages?.[0]?.content ?? ''));
const promptText = (q: RecordedRequest) => (q.body.messages ?? []).map((m) => m.content).join('\n');

/** `git apply --check` of the patch onto the original file; '' when it applies cleanly. */
function gitApplies(original: string, patch: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxg-patch-'));
  try {
    mkdirSync(dirname(join(dir, PATH)), { recursive: true });
    writeFileSync(join(dir, PATH), original);
    writeFileSync(join(dir, 'fix.patch'), patch);
    const r = spawnSync('git', ['apply', '--check', '-p1', 'fix.patch'], { cwd: dir, encoding: 'utf8' });
    return r.status === 0 ? '' : r.stderr || `git apply exited ${r.status}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let fake: FakeLlm;
let kb: MemoryKb;
const verify = pythonVerifier(PATH);

beforeEach(async () => {
  fake = await startFakeLlm();
  kb = new MemoryKb();
  verifyCalls.length = 0;
});
afterEach(async () => {
  await fake.close();
});

function deps(cfg: Partial<LlmConfigInput> = {}, extra: Partial<EngineDeps> = {}): EngineDeps & { events: string[] } {
  const resolved = resolveLlmConfig({ baseURL: fake.url, model: 'fake-model', maxRetries: 0, ...cfg }, {})!;
  const events: string[] = [];
  return {
    llm: createLlmClient(resolved, { backoffBaseMs: 10 }),
    retrieve: kb.retrieve,
    verify,
    learn: kb.learn,
    onProgress: (stage, message, it, max) => events.push(`${stage}${it ? ` ${it}/${max}` : ''}: ${message}`),
    events,
    ...extra,
  };
}

async function input(content = FILE): Promise<RepairInput> {
  // The targets come from running the real checker on the original file.
  const v = await verify(content);
  const findings = v.findings.filter((f) => f.startLine >= REGION.startLine && f.startLine <= REGION.endLine);
  return { file: { path: PATH, language: 'python', content }, region: REGION, findings, task: 'Look up a user by name.' };
}

describe('repairRegion (real python parser, real bandit, test SQL checker, loopback model)', () => {
  it('the original file really has the finding the tests target', async () => {
    const x = await input();
    expect(x.findings.map((f) => `${f.ruleId}@${f.startLine}`)).toEqual(['TEST-SQL-FORMAT@6']);
  });

  it('accepts a repair in one iteration (streaming), learns and credits the knowledge used', async () => {
    fake.handler = model({ repairs: [FIXED] });
    const d = deps({ stream: true });
    const trail = await repairRegion(await input(), d);
    expect(trail.status).toBe('repaired');
    expect(trail.iterations).toHaveLength(1);
    expect(trail.iterations[0]).toMatchObject({ n: 1, accepted: true, mode: 'region', feedback: '' });
    expect(trail.finalContent).toBe(FILE.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`));
    expect(trail.patch).toContain(`-    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)`);
    expect(trail.patch).toContain('+    cur.execute("SELECT * FROM users WHERE name = ?", (name,))');
    expect(trail.patch!.startsWith(`--- a/${PATH}\n+++ b/${PATH}\n@@ `)).toBe(true);
    expect(gitApplies(FILE, trail.patch!)).toBe('');
    expect(trail.knowledgeUsed).toEqual(['starter-sql']);
    expect(trail.tokens.total).toBeGreaterThan(0);
    expect(trail.review).toMatchObject({ secure: false, cwe: ['CWE-89'] });
    // y1 = M(p_gen || x || y0 || r0): the first repair prompt carries the task, the region, the finding and the knowledge.
    const first = promptText(repairRequests(fake)[0]);
    expect(first).toContain('Look up a user by name.');
    expect(first).toContain(`cur.execute("SELECT * FROM users WHERE name = '%s'" % name)`);
    expect(first).toContain('TEST-SQL-FORMAT');
    expect(first).toContain('STARTER-LESSON');
    expect(kb.learned).toHaveLength(1);
    expect(kb.learned[0].credited).toEqual(['starter-sql']);
    expect(kb.learned[0].lesson).toMatchObject({ title: 'Parameterized SQL queries', cwe: ['CWE-89'], language: 'python', task: 'Look up a user by name.', secureCode: FIXED_REGION });
    expect(kb.learned[0].lesson.vulnerableCode).toContain("'%s'\" % name");
    expect(trail.learned).toBe(true);
    expect(d.events.some((e) => e.startsWith('generating 1/3'))).toBe(true);
    expect(d.events.some((e) => e.startsWith('verifying'))).toBe(true);
  });

  it('rejects a candidate that still has the finding; the second prompt carries y0, fb0, y1 and fb1', async () => {
    fake.handler = model({ repairs: [STILL_VULNERABLE, FIXED] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(trail.iterations.map((i) => i.accepted)).toEqual([false, true]);
    expect(trail.iterations[0].feedback).toMatch(/Still reported.*TEST-SQL-FORMAT/);
    expect(trail.iterations[0].verification?.findings.map((f) => f.ruleId)).toEqual(['TEST-SQL-FORMAT']);
    const second = repairRequests(fake)[1];
    const msgs = second.body.messages!;
    expect(msgs[0].content).toBe(REFINE_SYSTEM);
    const text = promptText(second);
    expect(text).toContain(`cur.execute("SELECT * FROM users WHERE name = '%s'" % name)`); // y0
    expect(text).toMatch(/Findings \(fb0\)[\s\S]*TEST-SQL-FORMAT/); // fb0
    expect(msgs.find((m) => m.role === 'assistant')?.content).toContain(`.format(name)`); // y1
    expect(text).toMatch(/attempt 1 \(fb1\): REJECTED[\s\S]*Still reported/); // fb1
    expect(kb.learned).toHaveLength(1);
  });

  it('rejects a candidate that breaks parsing (real ast.parse)', async () => {
    fake.handler = model({ repairs: [BROKEN, FIXED] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(trail.iterations[0].verification?.parses).toBe(false);
    expect(trail.iterations[0].feedback).toMatch(/does not parse.*line 6/);
    expect(promptText(repairRequests(fake)[1])).toMatch(/does not parse/);
  });

  it('rejects a candidate that introduces a new finding (real bandit B307)', async () => {
    fake.handler = model({ repairs: [NEW_FINDING, FIXED] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(trail.iterations[0].accepted).toBe(false);
    expect(trail.iterations[0].feedback).toMatch(/Newly introduced.*B307/);
  });

  it('an answer without a fenced code block is a failed iteration with feedback', async () => {
    fake.handler = model({ repairs: ['Just use parameterized queries.', FIXED] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(trail.iterations[0]).toMatchObject({ accepted: false });
    expect(trail.iterations[0].feedback).toMatch(/no complete fenced code block/);
    expect(promptText(repairRequests(fake)[1])).toMatch(/attempt 1 \(fb1\): REJECTED\nThe answer held no complete fenced code block/);
  });

  it('a candidate that never verifies leaves the region unrepaired, with nothing to apply', async () => {
    fake.handler = model({ repairs: [STILL_VULNERABLE, BROKEN] });
    const trail = await repairRegion(await input(), deps({ maxIterations: 2 }));
    expect(trail.status).toBe('unrepaired');
    expect(trail.finalContent).toBeUndefined();
    expect(trail.patch).toBeUndefined();
    expect(trail.iterations).toHaveLength(2);
    expect(trail.error).toMatch(/no candidate passed verification in 2 iteration/);
    expect(kb.learned).toHaveLength(0);
    expect(repairRequests(fake)).toHaveLength(2);
  });

  it('rejects a whole-file answer that changes code outside the region, without verifying it', async () => {
    const outside = answer(FILE.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`).replace('return a + b', 'return a - b').trimEnd());
    fake.handler = model({ repairs: [outside, FIXED] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.iterations[0]).toMatchObject({ accepted: false, mode: 'whole-file' });
    expect(trail.iterations[0].verification).toBeUndefined();
    expect(trail.iterations[0].feedback).toMatch(/changes code outside the region \(line 11; the region is lines 4-7\)/);
    expect(verifyCalls.some((c) => c.includes('return a - b'))).toBe(false);
    expect(promptText(repairRequests(fake)[1])).toMatch(/outside the region/);
    expect(trail.status).toBe('repaired');
    expect(trail.finalContent).toContain('return a + b');
  });

  it('accepts a fenced block holding the whole file when only the region changed', async () => {
    const whole = FILE.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`);
    fake.handler = model({ repairs: [answer(whole.trimEnd())] });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(trail.iterations[0].mode).toBe('whole-file');
    expect(trail.iterations[0].candidate).toBe(FIXED_REGION);
    expect(trail.finalContent).toBe(whole);
  });

  it('returns secure without repairing when no analyzer finding and the model judges it secure', async () => {
    const safe = FILE.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`);
    fake.handler = model({ review: { secure: true, cwe: [], reason: 'parameterized' }, repairs: [] });
    const trail = await repairRegion(await input(safe), deps());
    expect(trail.status).toBe('secure');
    expect(repairRequests(fake)).toHaveLength(0);
  });

  it('never sends a secret from the file, and restores it in the repaired file', async () => {
    const KEY = 'sk-test-9fA8bC7dE6fG5hI4jK3lM2nO';
    const PASSWORD = 'Tr0ub4dor&3-horse';
    const withSecrets = FILE.replace('    cur = conn.cursor()', `    api_key = "${KEY}"\n    db_password = "${PASSWORD}"\n    cur = conn.cursor()`);
    const region = { startLine: 4, endLine: 9 };
    // The fake model repairs what it was sent: it can only echo placeholders, never the real values.
    fake.handler = (req) => {
      const sys = req.body.messages?.[0]?.content;
      if (sys === REVIEW_SYSTEM) return '{"secure": false, "cwe": ["CWE-89"], "reason": "sql"}';
      const sent = /```python\n([\s\S]*?)\n```/.exec(req.body.messages?.[1]?.content ?? '')?.[1] ?? '';
      return answer(sent.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`));
    };
    const v = await verify(withSecrets);
    const x: RepairInput = { file: { path: PATH, language: 'python', content: withSecrets }, region, findings: v.findings.filter((f) => f.ruleId === 'TEST-SQL-FORMAT') };
    // Redaction forced on: the fake listens on 127.0.0.1, which 'auto' would trust.
    const trail = await repairRegion(x, deps({ redact: 'on' }), { baseline: v });
    const sentBodies = fake.allRaw();
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(sentBodies).not.toContain(KEY);
    expect(sentBodies).not.toContain(PASSWORD);
    expect(sentBodies).toContain('__REFLEXGEN_SECRET_');
    expect(trail.status).toBe('repaired');
    expect(trail.finalContent).toContain(`api_key = "${KEY}"`);
    expect(trail.finalContent).toContain(`db_password = "${PASSWORD}"`);
    expect(trail.finalContent).not.toContain('__REFLEXGEN_SECRET_');
  });

  it.each([
    ['500s', { status: 500 } as FakeReply, {}, /HTTP 500/],
    ['a timeout', { content: FIXED, delayMs: 3_000 } as FakeReply, { timeoutMs: 300 }, /timed out after 300 ms/],
    ['garbage', { raw: 'Service temporarily unavailable', contentType: 'text/plain' } as FakeReply, {}, /not JSON/],
    ['no choices', { json: { choices: [] } } as FakeReply, {}, /no choices/],
  ])('the endpoint returning %s gives llm-error with a clear message and no patch', async (_name, reply, cfg, msg) => {
    fake.handler = model({ repairs: [reply, reply, reply] });
    const trail = await repairRegion(await input(), deps({ maxRetries: 1, ...cfg }));
    expect(trail.status).toBe('llm-error');
    expect(trail.error).toMatch(msg);
    expect(trail.error).not.toContain('\n');
    expect(trail.finalContent).toBeUndefined();
    expect(trail.patch).toBeUndefined();
    expect(kb.learned).toHaveLength(0);
  });

  it('stops when the time budget runs out', async () => {
    fake.handler = model({ repairs: [{ content: FIXED, delayMs: 8_000 }] });
    const x = await input();
    const t0 = Date.now();
    const trail = await repairRegion(x, deps({ timeoutMs: 60_000 }), { deadline: Date.now() + 1_500 });
    expect(trail.status).toBe('budget-exhausted');
    expect(trail.error).toMatch(/budget/);
    expect(trail.finalContent).toBeUndefined();
    // It gave up at the deadline instead of waiting for the model's answer (8 s); the margin is for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(6_000);
  });

  it('budgetMs from config bounds a slow verifier too', async () => {
    fake.handler = model({ repairs: [FIXED] });
    const baseline = await verify(FILE);
    // The slow verifier answers with a result computed beforehand: a real verification starting 8 s later
    // would run bandit (synchronously, blocking the event loop) in the middle of the next test.
    const slowVerify = async () => {
      await new Promise((r) => setTimeout(r, 8_000));
      return baseline;
    };
    const x = await input();
    const t0 = Date.now();
    const trail = await repairRegion(x, deps({ budgetMs: 800 }, { verify: slowVerify }), { baseline });
    expect(trail.status).toBe('budget-exhausted');
    expect(trail.error).toMatch(/during verification/);
    // It gave up at the budget instead of waiting for the verifier (8 s).
    expect(Date.now() - t0).toBeLessThan(6_000);
  });

  it('the lesson learned from one repair is retrieved into the prompt of a later, similar repair', async () => {
    fake.handler = model({ repairs: [answer(FIXED_REGION, 'TITLE: Bind SQL values\nLESSON: LEARNED-LESSON bind every value with placeholders.'), FIXED] });
    kb.entries = [];
    const first = await repairRegion(await input(), deps());
    expect(first.status).toBe('repaired');
    expect(kb.entries.map((e) => e.id)).toEqual(['learned-1']);
    const similar = FILE.replace('get_user', 'find_account').replace('users', 'accounts');
    const second = await repairRegion(await input(similar), deps());
    expect(second.knowledgeUsed).toEqual(['learned-1']);
    expect(promptText(repairRequests(fake)[1])).toContain('LEARNED-LESSON bind every value with placeholders.');
  });

  it('asks for the lesson in a follow-up call when the repair answer has none', async () => {
    fake.handler = model({ repairs: [answer(FIXED_REGION, '')], lesson: '{"title": "Bound parameters", "lesson": "FOLLOW-UP lesson."}' });
    const trail = await repairRegion(await input(), deps());
    expect(trail.status).toBe('repaired');
    expect(kb.learned[0].lesson).toMatchObject({ title: 'Bound parameters', lesson: 'FOLLOW-UP lesson.' });
  });
});

describe('generate', () => {
  const Y0 = `import sqlite3\n\n\ndef get_user(conn, name):\n    cur = conn.cursor()\n    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)\n    return cur.fetchone()\n`;

  it('--no-reflect returns y0 only', async () => {
    fake.handler = model({ write: [answer(Y0.trimEnd(), '')], repairs: [] });
    const r = await generate({ language: 'python', task: 'Look up a user by name with sqlite3.' }, deps(), { noReflect: true });
    expect(r).toMatchObject({ status: 'generated', code: Y0, y0: Y0 });
    expect(fake.requests).toHaveLength(1);
    expect(r.tokens.total).toBeGreaterThan(0);
  });

  it('with reflection, verifies y0 and repairs it through the loop', async () => {
    fake.handler = model({ write: [answer(Y0.trimEnd(), '')], repairs: [answer(`import sqlite3\n\n\n${FIXED_REGION}`)] });
    const r = await generate({ language: 'python', task: 'Look up a user by name with sqlite3.', path: PATH }, deps(), {});
    expect(r.status).toBe('repaired');
    expect(r.initial?.findings.map((f) => f.ruleId)).toEqual(['TEST-SQL-FORMAT']);
    expect(r.code).toContain('(name,))');
    expect(r.y0).toBe(Y0);
    expect(r.trail?.iterations).toHaveLength(1);
    expect(kb.learned).toHaveLength(1);
  });

  it('completes an incomplete file when the model answers with only the continuation', async () => {
    const head = 'import sqlite3\n\n\ndef get_user(conn, name):\n';
    fake.handler = model({ write: [answer('    return conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()', '')], repairs: [] });
    const r = await generate({ language: 'python', incomplete: head }, deps(), { noReflect: true });
    expect(r.code).toBe(`${head}    return conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()\n`);
  });
});
