import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, corpusFalseAlarms, crossFileFalseAlarms, pairTable } from '../../bench/detection.js';
import { initBuiltinRules } from '../../daemon/rules/engine.js';

/** The measurement code of `npm run eval:detection`, on pairs and a corpus small enough to check by hand. */
let dir: string;

beforeAll(async () => {
  await initBuiltinRules();
  dir = mkdtempSync(join(tmpdir(), 'rg-detection-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('eval:detection', () => {
  it('counts vulnerable, fixed and discriminated pairs per CWE and language', () => {
    const vuln = 'def f(cur, name):\n    cur.execute("SELECT * FROM t WHERE n = \'%s\'" % name)\n';
    const fixed = 'def f(cur, name):\n    cur.execute("SELECT * FROM t WHERE n = %s", (name,))\n';
    const rows = pairTable([
      { cwe: '089', lang: 'py', language: 'python', before: vuln, after: fixed },
      { cwe: '089', lang: 'py', language: 'python', before: vuln, after: vuln },
      { cwe: '089', lang: 'py', language: 'python', before: fixed, after: fixed },
    ]);
    const row = rows.find((r) => r.cwe === '089' && r.lang === 'py')!;
    expect({ pairs: row.pairs, vuln: row.vuln, fixed: row.fixed, pair: row.pair }).toEqual({ pairs: 3, vuln: 2, fixed: 1, pair: 1 });
    expect(row.rules['py/sql-injection']).toBe(2);
    expect(rows.find((r) => r.cwe === 'all' && r.lang === 'py')?.pairs).toBe(3);
  });

  it('reports a missing corpus as missing, and blocking findings per 1,000 lines of a present one', () => {
    expect(corpusFalseAlarms(join(dir, 'absent'))).toBeNull();
    const root = join(dir, 'corpus');
    for (const c of CORPUS) mkdirSync(join(root, c.repo.replace('/', '+')), { recursive: true });
    const first = join(root, CORPUS[0].repo.replace('/', '+'));
    const bad = 'import os\nfrom flask import request\n\ndef f():\n    os.system("echo " + request.args["m"])\n';
    writeFileSync(join(first, 'app.py'), bad);
    mkdirSync(join(first, 'tests'));
    writeFileSync(join(first, 'tests', 'test_app.py'), bad);
    const r = corpusFalseAlarms(root)!;
    expect(r.files).toBe(2);
    expect(r.lines).toBe(12);
    expect(r.blocking).toBe(1);
    expect(r.nonBlocking).toBe(1);
    expect(r.byRule).toEqual({ 'py/command-injection': 1 });
    expect(r.perKloc).toBeCloseTo(1000 / 12, 5);
  });

  it('--cross-file measures a project\'s JS files as one set next to the same files alone', () => {
    const root = join(dir, 'corpus-js');
    for (const c of CORPUS) mkdirSync(join(root, c.repo.replace('/', '+')), { recursive: true });
    const p = join(root, CORPUS[0].repo.replace('/', '+'));
    writeFileSync(join(p, 'routes.js'), "const { run } = require('./run');\napp.get('/x', (req, res) => run(req.query.c));\n");
    writeFileSync(join(p, 'run.js'), "const cp = require('child_process');\nexports.run = (c) => cp.exec('ls ' + c);\n");
    const rows = crossFileFalseAlarms(root)!;
    expect(rows.map((r) => ({ repo: r.repo, lang: r.lang, files: r.files, alone: r.alone, together: r.together, added: r.added }))).toEqual([
      { repo: CORPUS[0].repo, lang: 'js', files: 2, alone: 0, together: 1, added: ['routes.js:2 js/command-injection error'] },
    ]);
  });
});
