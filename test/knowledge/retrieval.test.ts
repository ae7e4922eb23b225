import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnowledgeBase } from '../../knowledge/index.js';
import { standinModelDir } from '../../bench/standin-model.js';

const QUERIES: Array<[string, string]> = [
  ['SQL query built by string formatting from request parameters', 'CWE-89'],
  ['shell command built from user input passed to os.system', 'CWE-78'],
  ['command injection: user-controlled filename concatenated into a shell command line', 'CWE-78'],
  ['use after free: pointer used after the memory was freed', 'CWE-416'],
  ['object freed on an error path and then dereferenced later', 'CWE-416'],
];

for (const mode of ['lexical', 'hybrid'] as const) {
  describe(`retrieval (${mode})`, () => {
    let dir: string;
    let kb: KnowledgeBase;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kb-retr-'));
      kb = await KnowledgeBase.open({ dir, modelDir: mode === 'hybrid' ? standinModelDir() : undefined, compactEveryMs: 0 });
      expect(kb.embeddings.lexicalOnly).toBe(mode === 'lexical');
    });
    afterAll(async () => {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test.each(QUERIES)('%s -> %s first', async (text, cwe) => {
      const hits = await kb.retrieve({ text }, 3);
      expect(hits.length).toBeGreaterThan(0);
      expect(hits[0].cwe).toContain(cwe);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
    });

    test('code plus language ranks the matching entry of that language first', async () => {
      const code = 'def f(conn, name):\n    cur = conn.cursor()\n    cur.execute("SELECT * FROM t WHERE name = \'%s\'" % name)\n';
      const hits = await kb.retrieve({ text: 'possible injection', code, language: 'py' }, 3);
      expect(hits[0].cwe).toContain('CWE-89');
      expect(hits[0].language).toBe('python');
    });

    test('strictLanguage keeps guidance in the finding\'s language family (no C system() advice for a JS exec)', async () => {
      const q = { text: 'command injection: user input reaches a shell command (exec, system)', cwe: ['CWE-78'], language: 'javascript' };
      const loose = await kb.retrieve(q, 10);
      expect(loose.some((h) => !['javascript', 'typescript', 'any'].includes(h.language))).toBe(true);
      const strict = await kb.retrieve({ ...q, strictLanguage: true }, 10);
      expect(strict.length).toBeGreaterThan(0);
      for (const h of strict) expect(['javascript', 'typescript', 'any']).toContain(h.language);
    });

    test('a CWE hint boosts entries of that CWE', async () => {
      const hits = await kb.retrieve({ text: 'pointer check missing', cwe: ['476'], language: 'c' }, 3);
      expect(hits[0].cwe).toContain('CWE-476');
    });

    test('results carry no near duplicates and respect k', async () => {
      const hits = await kb.retrieve({ text: 'buffer overflow memcpy size check' }, 4);
      expect(hits.length).toBeLessThanOrEqual(4);
      expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
    });
  });
}
