import { afterAll, describe, expect, it } from 'vitest';
import { daemonPid, daemonStarts, makeHome, SAFE_PY, SQLI_PY, stopDaemon, TestRepo } from '../helpers/repo.js';

/*
 * A staged file far over maxFileBytes: the daemon never reads it (its size comes from git), says
 * it did not analyze it, still analyzes the files staged with it, and stays up for the next commit.
 */

const home = makeHome();
afterAll(() => stopDaemon(home));

interface CheckJson {
  verdict: string;
  findings: Array<{ file: string; cwe: string[] }>;
  notAnalyzed?: Array<{ path: string; reason: string }>;
}

describe('a 16 MB staged file (8x maxFileBytes)', () => {
  it('is reported as not analyzed, the rest of the change is checked, and the same daemon answers afterwards', () => {
    const repo = new TestRepo(home);
    try {
      const line = 'total = total + compute(alpha, beta, gamma)  # filler line for size\n';
      repo.write('data/generated.py', line.repeat(Math.ceil((16 * 1024 * 1024) / line.length)));
      repo.write('app.py', SQLI_PY);
      repo.add('data/generated.py', 'app.py');

      const r = repo.cli(['check', '--staged', '--format', 'json']);
      expect(r.code, r.stderr).toBe(1);
      const json = JSON.parse(r.stdout) as CheckJson;
      const big = json.notAnalyzed?.find((n) => n.path === 'data/generated.py');
      expect(big?.reason).toMatch(/above the .* limit \(maxFileBytes\)/);
      // The small file staged with it was analyzed as usual.
      expect(json.findings.some((f) => f.file === 'app.py' && f.cwe.includes('CWE-89'))).toBe(true);
      const pid = daemonPid(home);
      expect(pid).toBeDefined();

      // The commit through the hook goes on with the big file still staged; the fix passes.
      repo.write('app.py', SAFE_PY);
      repo.add('app.py');
      const c = repo.commit('with a big generated file');
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout + c.stderr).toContain('data/generated.py');
      expect(repo.commitCount()).toBe(1);

      // Same daemon, still answering.
      expect(daemonPid(home)).toBe(pid);
      expect(daemonStarts(home)).toBe(1);
      const s = repo.cli(['daemon', 'status']);
      expect(s.code, s.stderr).toBe(0);
    } finally {
      repo.remove();
    }
  });
});
