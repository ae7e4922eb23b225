import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GEN_SYSTEM, LESSON_SYSTEM, REFINE_SYSTEM, REVIEW_SYSTEM } from '../../daemon/reflexion/prompts.js';
import { DEFECTS_SYSTEM, readDefects } from '../../daemon/review/model-review.js';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';
import { commitAsync, makeHome, stopDaemon, TestRepo, writeUserConfig } from '../helpers/repo.js';

/*
 * The model's own review (introspection with no analyzer finding): the real hook and daemon, a
 * scripted loopback model. The compared function is one no analyzer here flags.
 */

const TIMING = `def check_token(given, expected):
    return given == expected
`;
const FIXED = `def check_token(given, expected):
    import hmac
    return hmac.compare_digest(given, expected)`;

let home: string;
let fake: FakeLlm;

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
  fake.handler = (req) => {
    const sys = req.body.messages?.[0]?.content;
    const user = req.body.messages?.[1]?.content ?? '';
    if (sys === DEFECTS_SYSTEM) {
      if (user.includes('compare_digest')) return JSON.stringify({ defects: [] });
      // One real defect, plus answers a model might give that must be ignored.
      return JSON.stringify({
        defects: [
          { cwe: 'CWE-208', line: 2, reason: 'secret compared with ==, which leaks timing' },
          { cwe: 'CWE-89', line: 40, reason: 'a line outside the function' },
          { cwe: 'not a cwe', line: 2, reason: 'bad id' },
        ],
      });
    }
    if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: ['CWE-208'], reason: 'timing' });
    if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) return `\`\`\`python\n${FIXED}\n\`\`\`\nTITLE: Constant-time comparison\nLESSON: compare secrets with hmac.compare_digest.\n`;
    if (sys === LESSON_SYSTEM) return JSON.stringify({ title: 'Constant-time comparison', lesson: 'compare secrets with hmac.compare_digest' });
    return { status: 400 };
  };
});

const llm = () => ({ baseURL: fake.url, model: 'fake', maxRetries: 0, timeoutMs: 5000 });

describe('model review', () => {
  it('by default reports what the model names as a note and lets the commit through', async () => {
    writeUserConfig(home, { llm: llm(), repair: 'off' });
    const repo = new TestRepo(home);
    repo.write('auth.py', TIMING);
    repo.add('auth.py');
    const r = await commitAsync(repo, 'token check');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/auth\.py:2\s+note\s+CWE-208\s+model-review\/CWE-208 \(model-review\)/);
    expect(r.stderr).not.toContain('CWE-89');
    expect(fake.requests.some((q) => q.body.messages?.[0]?.content === DEFECTS_SYSTEM)).toBe(true);
  });

  it('with modelReview "block" the finding blocks, and a repair counts only when the model no longer names it', async () => {
    writeUserConfig(home, { llm: llm(), repair: 'apply', modelReview: 'block' });
    const repo = new TestRepo(home);
    repo.write('auth.py', TIMING);
    repo.add('auth.py');
    const r = await commitAsync(repo, 'token check');
    expect(r.code, r.stderr).toBe(0);
    expect(repo.committed('auth.py')).toContain('hmac.compare_digest');
    // The candidate was reviewed again before it was accepted.
    const reviews = fake.requests.filter((q) => q.body.messages?.[0]?.content === DEFECTS_SYSTEM);
    expect(reviews.some((q) => (q.body.messages?.[1]?.content ?? '').includes('compare_digest'))).toBe(true);
  });

  it('with modelReview "block" and no repair, the commit is blocked by the model-review finding', async () => {
    writeUserConfig(home, { llm: llm(), repair: 'off', modelReview: 'block' });
    const repo = new TestRepo(home);
    repo.write('auth.py', TIMING.replace('given ==', 'given  =='));
    repo.add('auth.py');
    const r = await commitAsync(repo, 'token check');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/auth\.py:2\s+error\s+CWE-208/);
  });

  it('reviews a change in the background after `git add`, so the commit finds the answer cached', async () => {
    writeUserConfig(home, { llm: llm(), repair: 'off' });
    const repo = new TestRepo(home);
    repo.write('a.py', 'X = 1\n');
    repo.add('a.py');
    expect((await commitAsync(repo, 'first')).code).toBe(0); // this check brings the model settings
    const reviewsOf = (marker: string) => fake.requests.filter((q) => q.body.messages?.[0]?.content === DEFECTS_SYSTEM && (q.body.messages?.[1]?.content ?? '').includes(marker));
    repo.write('auth.py', TIMING.replace('check_token', 'check_background_token'));
    repo.add('auth.py');
    const until = Date.now() + 20_000;
    while (reviewsOf('check_background_token').length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(reviewsOf('check_background_token')).toHaveLength(1);
    const r = await commitAsync(repo, 'token check');
    expect(r.stderr).toMatch(/auth\.py:2\s+note\s+CWE-208/);
    expect(reviewsOf('check_background_token')).toHaveLength(1);
  });

  it('keeps only well-formed defects on lines of the reviewed function', () => {
    expect(readDefects('{"defects":[{"cwe":"208","line":"3","reason":"x\\ny"},{"cwe":"CWE-1","line":9,"reason":"out"},{"line":3}]}', [2, 5])).toEqual([
      { cwe: 'CWE-208', line: 3, reason: 'x y' },
    ]);
    expect(readDefects('no json here', [1, 3])).toEqual([]);
  });
});
