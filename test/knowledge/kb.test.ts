import { afterEach, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnowledgeBase, loadStarter } from '../../knowledge/index.js';
import { standinModelDir } from '../../bench/standin-model.js';

const dirs: string[] = [];
function tempDir(prefix = 'kb-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('starter knowledge', () => {
  test('covers the paper CWEs and the top-25 ones for our languages', () => {
    const { version, entries } = loadStarter();
    expect(version).toBeGreaterThanOrEqual(1);
    const cwes = new Set(entries.flatMap((e) => e.cwe));
    for (const n of [22, 78, 79, 89, 125, 190, 416, 476, 787, 20, 94, 352, 434, 502, 798, 862, 863, 918, 119, 200, 269, 287, 306, 77]) {
      expect(cwes.has(`CWE-${n}`), `CWE-${n}`).toBe(true);
    }
    for (const e of entries) {
      expect(e.vulnerableCode, e.id).toBeTruthy();
      expect(e.secureCode, e.id).toBeTruthy();
      expect(e.description, e.id).toBeTruthy();
    }
  });

  test('loaded once: reopening does not duplicate, counters survive, a new version upgrades', async () => {
    const dir = tempDir();
    const starterDir = tempDir('starter-');
    const one = { id: 'starter:x', title: 'Old title', cwe: ['CWE-89'], language: 'python', lesson: 'bind values', vulnerableCode: 'a', secureCode: 'b' };
    const two = { ...one, id: 'starter:y', title: 'Dropped later' };
    writeFileSync(join(starterDir, 's.json'), JSON.stringify({ version: 1, entries: [one, two] }));
    let kb = await KnowledgeBase.open({ dir, starterDir, compactEveryMs: 0 });
    expect(kb.stats().bySource.starter).toBe(2);
    await kb.retrieve({ text: 'bind values' });
    await kb.close();
    kb = await KnowledgeBase.open({ dir, starterDir, compactEveryMs: 0 });
    expect(kb.stats().total).toBe(2);
    expect(kb.get('starter:x')?.retrieved).toBe(1);
    await kb.close();
    writeFileSync(join(starterDir, 's.json'), JSON.stringify({ version: 2, entries: [{ ...one, title: 'New title' }] }));
    kb = await KnowledgeBase.open({ dir, starterDir, compactEveryMs: 0 });
    try {
      expect(kb.stats().total).toBe(1);
      expect(kb.get('starter:x')?.title).toBe('New title');
      expect(kb.get('starter:x')?.retrieved).toBe(1);
      expect(kb.stats().starterVersion).toBe(2);
    } finally {
      await kb.close();
    }
  });

  test('the shipped starter set is installed once across reopen with the model', async () => {
    const dir = tempDir();
    let kb = await KnowledgeBase.open({ dir, modelDir: standinModelDir(), compactEveryMs: 0 });
    const n = kb.stats().total;
    expect(n).toBe(loadStarter().entries.length);
    await kb.close();
    kb = await KnowledgeBase.open({ dir, modelDir: standinModelDir(), compactEveryMs: 0 });
    expect(kb.stats().total).toBe(n);
    await kb.close();
    const stored = readFileSync(join(dir, 'entries.db'), 'utf8').split('\n').filter(Boolean);
    expect(stored).toHaveLength(n);
    expect(JSON.parse(stored[0]).vector).toBeTruthy();
  });
});

describe('team knowledge', () => {
  test('a repo file is loaded for that repo only and reloaded when it changes', async () => {
    const dir = tempDir();
    const repo = tempDir('repo-');
    const other = tempDir('other-');
    mkdirSync(join(repo, '.reflexgen'));
    const file = join(repo, '.reflexgen', 'knowledge.jsonl');
    const entry = { id: 'orm', title: 'Use the AcmeORM query builder for zorblat lookups', cwe: 'CWE-89', language: 'python', lesson: 'zorblat tables go through acme.where(), never raw SQL' };
    writeFileSync(file, JSON.stringify(entry) + '\n{ broken\n');
    const warnings: string[] = [];
    const kb = await KnowledgeBase.open({ dir, modelDir: standinModelDir(), compactEveryMs: 0, log: { info() {}, warn: (m) => void warnings.push(m) } });
    try {
      const first = await kb.loadTeamKnowledge(repo);
      expect(first).toMatchObject({ loaded: 1, changed: true });
      expect(first.errors).toHaveLength(1);
      expect(first.errors[0].line).toBe(2);
      expect(warnings.some((w) => w.includes('knowledge.jsonl:2'))).toBe(true);
      expect((await kb.loadTeamKnowledge(repo)).changed).toBe(false);

      const hits = await kb.retrieve({ text: 'zorblat lookup with acme', repoRoot: repo }, 3);
      expect(hits[0]).toMatchObject({ source: 'team', cwe: ['CWE-89'] });
      const elsewhere = await kb.retrieve({ text: 'zorblat lookup with acme', repoRoot: other }, 3);
      expect(elsewhere.every((h) => h.source !== 'team')).toBe(true);

      writeFileSync(file, JSON.stringify({ ...entry, title: 'Zorblat rows need the quux filter', lesson: 'always add the quux tenant filter' }) + '\n');
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      const after = await kb.retrieve({ text: 'quux tenant filter', repoRoot: repo }, 3);
      expect(after[0].title).toBe('Zorblat rows need the quux filter');
      expect(kb.list({ source: 'team' })).toHaveLength(1);
      expect(kb.export().some((e) => e.source === 'team')).toBe(false);

      rmSync(file);
      expect((await kb.loadTeamKnowledge(repo)).changed).toBe(true);
      expect(kb.list({ source: 'team' })).toHaveLength(0);
    } finally {
      await kb.close();
    }
  });
});

describe('learning (UpdateRAG)', () => {
  const repair = {
    task: 'look up a user by name',
    language: 'python',
    cwe: ['CWE-89'],
    vulnerableCode: 'cur.execute("SELECT * FROM users WHERE name = \'%s\'" % name)',
    secureCode: 'cur.execute("SELECT * FROM users WHERE name = %s", (name,))',
    lesson: 'Pass the name as a bound parameter of cursor.execute instead of formatting it into the SQL text.',
    title: 'Bind the user name in the lookup query',
  };

  test('a verified repair is stored once; a near-identical one reinforces it', async () => {
    const dir = tempDir();
    const kb = await KnowledgeBase.open({ dir, modelDir: standinModelDir(), compactEveryMs: 0 });
    try {
      const a = await kb.learn(repair, []);
      expect(a.created).toBe(true);
      const b = await kb.learn({ ...repair, secureCode: '  cur.execute( "SELECT * FROM users WHERE name = %s", (name,) )  # fixed\n' }, []);
      expect(b).toEqual({ id: a.id, created: false });
      expect(kb.list({ source: 'repair' })).toHaveLength(1);
      const c = await kb.learn({ ...repair, cwe: 'CWE-78', secureCode: 'subprocess.run(["ls", "--", path])', lesson: 'argv list, no shell' }, []);
      expect(c.created).toBe(true);
      const got = kb.get(a.id)!;
      expect(got).toMatchObject({ source: 'repair', cwe: ['CWE-89'], language: 'python', task: repair.task });
    } finally {
      await kb.close();
    }
  });

  test('helped counters lift an entry over an equally matching one, and persist', async () => {
    const dir = tempDir();
    let kb = await KnowledgeBase.open({ dir, compactEveryMs: 0 });
    const base = { cwe: 'CWE-416', language: 'c', lesson: 'glorp handles must be released exactly once by their owner' };
    await kb.add({ ...base, id: 'manual:p', title: 'glorp handle lifetime rule' });
    await kb.add({ ...base, id: 'manual:q', title: 'glorp handle lifetime note' });
    const q = { text: 'glorp handle lifetime', language: 'c' };
    const before = await kb.retrieve(q, 2);
    expect(before.map((h) => h.id).sort()).toEqual(['manual:p', 'manual:q']);
    const loser = before[1].id;
    await kb.learn({ language: 'c', cwe: 'CWE-416', secureCode: 'glorp_release(h); h = NULL;', lesson: 'null the handle after release' }, [loser]);
    const after = await kb.retrieve(q, 2);
    expect(after[0].id).toBe(loser);
    await kb.close();
    kb = await KnowledgeBase.open({ dir, compactEveryMs: 0 });
    try {
      expect(kb.get(loser)).toMatchObject({ helped: 1, retrieved: 2 });
    } finally {
      await kb.close();
    }
  });
});

describe('export and import', () => {
  test('round trip without loss', async () => {
    const a = await KnowledgeBase.open({ dir: tempDir(), compactEveryMs: 0 });
    await a.add({ id: 'manual:rt', title: 'Round trip', cwe: ['CWE-22', 'CWE-73'], language: 'ts', lesson: 'resolve then check', description: 'd', vulnerableCode: 'v\n"quoted"', secureCode: 's', rules: ['security/detect-non-literal-fs-filename'], tags: ['fs'] });
    await a.learn({ language: 'c', cwe: '787', secureCode: 'if (n > sizeof b) return -1;', lesson: 'check n' }, ['manual:rt']);
    await a.retrieve({ text: 'round trip resolve' });
    await a.flush();
    const exported = a.exportJsonl();
    const before = a.export();
    await a.close();

    const b = await KnowledgeBase.open({ dir: tempDir(), compactEveryMs: 0 });
    try {
      const report = await b.import(exported);
      expect(report.errors).toEqual([]);
      expect(report.added + report.updated).toBe(before.length);
      expect(b.export()).toEqual(before);
      expect(b.exportJsonl()).toBe(exported);
    } finally {
      await b.close();
    }
  });

  test('bad lines are reported by number and skipped; good lines land', async () => {
    const kb = await KnowledgeBase.open({ dir: tempDir(), compactEveryMs: 0 });
    try {
      const text = [
        JSON.stringify({ title: 'ok one', cwe: 'CWE-79', language: 'js', lesson: 'escape output' }),
        '{not json',
        JSON.stringify({ title: 'no cwe', language: 'js', lesson: 'x' }),
        JSON.stringify({ title: 'bad cwe', cwe: 'SQLI', lesson: 'x' }),
        '',
        JSON.stringify({ title: 'ok two', cwe: 89, lesson: 'bind' }),
      ].join('\n');
      const r = await kb.import(text);
      expect(r.added).toBe(2);
      expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4]);
      expect(r.errors[2].message).toMatch(/not a CWE id/);
      expect(kb.list({ source: 'manual' }).map((e) => e.title).sort()).toEqual(['ok one', 'ok two']);
    } finally {
      await kb.close();
    }
  });
});
