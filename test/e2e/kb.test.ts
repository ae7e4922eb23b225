import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, stopDaemon, TestRepo } from '../helpers/repo.js';

/* `reflexgen kb ...` through the real CLI and the real daemon that owns the knowledge files. */

let home: string;
let repo: TestRepo;
beforeAll(() => {
  home = makeHome();
  repo = new TestRepo(home, { init: false });
});
afterAll(() => stopDaemon(home));

function json<T>(args: string[]): T {
  const r = repo.cli([...args, '--format', 'json']);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

type Hit = { id: string; cwe: string[]; score: number; title: string };

describe('reflexgen kb through the daemon', () => {
  it.each([
    ['SQL query built by string formatting from request parameters', 'CWE-89'],
    ['shell command built from user input passed to os.system', 'CWE-78'],
    ['pointer used after it was freed', 'CWE-416'],
  ])('search "%s" ranks a %s entry first', (query, cwe) => {
    const hits = json<Hit[]>(['kb', 'search', query]);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0].cwe).toContain(cwe);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
  });

  it('stats counts per source and CWE; add, remove, export and import round-trip', () => {
    const before = json<{ total: number; bySource: Record<string, number> }>(['kb', 'stats']);
    expect(before.total).toBeGreaterThanOrEqual(40);
    const entry = {
      cwe: ['CWE-89'],
      language: 'python',
      title: 'Team rule: use the query helper',
      vulnerableCode: 'db.execute("SELECT * FROM t WHERE a=" + a)',
      secureCode: 'q.select(t, a=a)',
      lesson: 'Always go through the team query helper, which binds parameters.',
    };
    const dir = mkdtempSync(join(tmpdir(), 'rxkb-'));
    const file = join(dir, 'entry.jsonl');
    writeFileSync(file, JSON.stringify(entry) + '\n');
    const imported = repo.cli(['kb', 'import', file]);
    expect(imported.code, imported.stderr).toBe(0);
    const after = json<{ total: number }>(['kb', 'stats']);
    expect(after.total).toBe(before.total + 1);

    const out = join(dir, 'export.jsonl');
    expect(repo.cli(['kb', 'export', out]).code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.some((l) => l.includes('Team rule: use the query helper'))).toBe(true);

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{ nope\n' + JSON.stringify({ title: 'no cwe' }) + '\n');
    const r = repo.cli(['kb', 'import', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.jsonl:1: not JSON');
    expect(r.stderr).toContain('bad.jsonl:2: cwe');
    expect(json<{ total: number }>(['kb', 'stats']).total).toBe(before.total + 1);

    const hit = json<Hit[]>(['kb', 'search', 'team query helper binds parameters']).find((h) => h.title === entry.title);
    expect(hit).toBeDefined();
    expect(repo.cli(['kb', 'remove', hit!.id]).code).toBe(0);
    expect(json<{ total: number }>(['kb', 'stats']).total).toBe(before.total);
  });
});
