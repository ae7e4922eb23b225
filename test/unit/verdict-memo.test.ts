import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/protocol.js';
import { memoizable, memoKey, VerdictMemo } from '../../daemon/pipeline/verdict-memo.js';

/* What may be answered again from memory: only a final verdict the client just prints. */

const base: CheckResult = {
  verdict: 'pass',
  findings: [],
  preExisting: 0,
  suppressed: 0,
  analyzers: [
    { id: 'builtin', state: 'ok' },
    { id: 'cppcheck', state: 'missing' },
    { id: 'codeql', state: 'skipped' },
  ],
  notices: [],
  timings: { totalMs: 3 },
};

describe('remembered verdicts', () => {
  it('keep a final answer and nothing that would differ or need the client the next time', () => {
    expect(memoizable(base)).toBe(true);
    expect(memoizable({ ...base, verdict: 'block' })).toBe(true);
    for (const state of ['timeout', 'error', 'pending'] as const) {
      expect(memoizable({ ...base, analyzers: [...base.analyzers, { id: 'bandit', state }] })).toBe(false);
    }
    expect(memoizable({ ...base, notAnalyzed: [{ tool: 'gcc', path: 'a.c', reason: 'timed out' }] })).toBe(false);
    expect(memoizable({ ...base, guidance: [{ file: 'a.py', cwe: ['89'], hits: [] }] })).toBe(false);
    expect(memoizable({ ...base, applyRepairs: ['r1'] })).toBe(false);
    expect(memoizable({ ...base, repairs: [{ id: 'r1', file: 'a.py', status: 'unrepaired', targets: [], iterations: 1, tokens: 0, ms: 1, knowledgeUsed: [], learned: [] }] as unknown as CheckResult['repairs'] })).toBe(false);
  });

  it('answer only under the same key and policy, and forget the oldest beyond their bound', () => {
    const id = { head: 'a'.repeat(40), entries: 'b'.repeat(64), checksum: 'c'.repeat(64) };
    const k = memoKey('/r', '/r/.git', id, { REFLEXGEN_LLM_MODEL: 'm' });
    expect(memoKey('/r', '/r/.git', id, { REFLEXGEN_LLM_MODEL: 'n' })).not.toBe(k);
    expect(memoKey('/r', '/r/.git', { ...id, head: 'd'.repeat(40) }, { REFLEXGEN_LLM_MODEL: 'm' })).not.toBe(k);
    expect(memoKey('/r', '/r/.git', { ...id, checksum: 'e'.repeat(64) }, { REFLEXGEN_LLM_MODEL: 'm' })).toBe(k); // stat data is not content
    const memo = new VerdictMemo();
    memo.set(k, 'p1', base);
    expect(memo.get(k, 'p1')).toBe(base);
    expect(memo.get(k, 'p2')).toBeUndefined();
    for (let i = 0; i < 300; i++) memo.set(`k${i}`, 'p1', base);
    expect(memo.get(k, 'p1')).toBeUndefined();
    expect(memo.get('k299', 'p1')).toBe(base);
    expect(memo.size).toBeLessThanOrEqual(256);
  });
});
