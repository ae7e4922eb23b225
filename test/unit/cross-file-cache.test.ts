import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.js';
import { builtinAnalyzer } from '../../daemon/analyzers/builtin.js';
import type { SourceFile } from '../../daemon/analyzers/types.js';
import { runAnalyzers } from '../../daemon/pipeline/analyze.js';
import { ResultCache } from '../../daemon/pipeline/cache.js';

/*
 * The built-in rules' per-file results are cached by blob, but a Python file's findings now depend on
 * the staged modules it imports. These checks share one cache, as one daemon does.
 */

const ROUTE = (arg: string) => `from flask import request
from db import find_user


def user():
    q = request.args["q"]
    return str(find_user(${arg}))
`;
const DB_VULN = `def find_user(name):
    import sqlite3
    cur = sqlite3.connect("app.db").cursor()
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cur.fetchall()
`;
const DB_SAFE = DB_VULN.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`);

const file = (path: string, content: string): SourceFile => ({ path, absPath: `/nonexistent/${path}`, language: 'python', content });
const config = parseConfig({});

async function check(cache: ResultCache, files: SourceFile[]) {
  const out = await runAnalyzers({ root: '/nonexistent', files, config, cache, analyzers: [builtinAnalyzer] });
  const status = out.statuses.find((s) => s.id === 'builtin');
  const errors = out.findings.filter((f) => f.severity === 'error').map((f) => `${f.file}:${f.startLine} ${f.ruleId}`);
  return { errors, cached: status?.cached ?? -1 };
}

describe('cross-file results and the cache', () => {
  it('a change to the imported module alone re-checks the importing file', async () => {
    const cache = new ResultCache(undefined);
    expect(await check(cache, [file('app.py', ROUTE('q')), file('db.py', DB_SAFE)])).toEqual({ errors: [], cached: 0 });
    // app.py's blob is the same; only db.py changed. A key without db.py would answer app.py from the cache.
    expect(await check(cache, [file('app.py', ROUTE('q')), file('db.py', DB_VULN)])).toEqual({ errors: ['app.py:7 py/sql-injection'], cached: 0 });
    // Both as before: both answered from the cache, with the same finding.
    expect(await check(cache, [file('app.py', ROUTE('q')), file('db.py', DB_VULN)])).toEqual({ errors: ['app.py:7 py/sql-injection'], cached: 2 });
    // Back to the safe helper: app.py's earlier result for that helper is valid again.
    expect(await check(cache, [file('app.py', ROUTE('q')), file('db.py', DB_SAFE)])).toEqual({ errors: [], cached: 2 });
  });

  it('a file analysed while its import was answered from the cache still sees that import', async () => {
    const cache = new ResultCache(undefined);
    expect(await check(cache, [file('app.py', ROUTE('int(q)')), file('db.py', DB_VULN)])).toEqual({ errors: [], cached: 0 });
    // db.py comes from the cache; app.py runs alone in the analyzer's batch and must still read db.py.
    expect(await check(cache, [file('app.py', ROUTE('q')), file('db.py', DB_VULN)])).toEqual({ errors: ['app.py:7 py/sql-injection'], cached: 1 });
  });

  it('a module that is not staged is not followed: the same route alone has no error', async () => {
    const cache = new ResultCache(undefined);
    expect(await check(cache, [file('app.py', ROUTE('q'))])).toEqual({ errors: [], cached: 0 });
  });
});

describe('repair verification', () => {
  it('judges a candidate with the staged modules it imports, so an unchanged flow is not taken as fixed', async () => {
    const { makeVerifier } = await import('../../daemon/repair/verify.js');
    const app = file('app.py', ROUTE('q'));
    const db = file('db.py', DB_VULN);
    const verify = makeVerifier({ file: app, config, cache: new ResultCache(undefined), peers: [app, db] });
    const still = await verify(ROUTE('q'));
    expect(still.findings.filter((f) => f.tool === 'builtin' && f.severity === 'error').map((f) => `${f.file}:${f.startLine} ${f.ruleId}`)).toEqual(['app.py:7 py/sql-injection']);
    const fixed = await verify(ROUTE('int(q)'));
    expect(fixed.findings.filter((f) => f.tool === 'builtin' && f.severity === 'error')).toEqual([]);
  });
});

describe('cross-file JavaScript results and the cache', () => {
  const route = (arg: string) => `const express = require('express');
const db = require('./db');
const app = express();
app.get('/u', (req, res) => {
  res.json(db.findUser(${arg}));
});
`;
  const dbVuln = `const pool = require('mysql').createPool({});
exports.findUser = (name) => pool.query("SELECT * FROM users WHERE name = '" + name + "'");
`;
  const dbSafe = `const pool = require('mysql').createPool({});
exports.findUser = (name) => pool.query('SELECT * FROM users WHERE name = ?', [name]);
`;
  const js = (path: string, content: string): SourceFile => ({ path, absPath: `/nonexistent/${path}`, language: 'javascript', content });

  it('a change to the required module alone re-checks the requiring file', async () => {
    const cache = new ResultCache(undefined);
    expect(await check(cache, [js('routes.js', route('req.query.name')), js('db.js', dbSafe)])).toEqual({ errors: [], cached: 0 });
    // routes.js is unchanged; a key without db.js would answer it from the cache with no finding.
    expect(await check(cache, [js('routes.js', route('req.query.name')), js('db.js', dbVuln)])).toEqual({ errors: ['routes.js:5 js/sql-injection'], cached: 0 });
    expect(await check(cache, [js('routes.js', route('req.query.name')), js('db.js', dbVuln)])).toEqual({ errors: ['routes.js:5 js/sql-injection'], cached: 2 });
    expect(await check(cache, [js('routes.js', route('req.query.name')), js('db.js', dbSafe)])).toEqual({ errors: [], cached: 2 });
  });

  it('a route analysed while its module was answered from the cache still reads that module', async () => {
    const cache = new ResultCache(undefined);
    expect(await check(cache, [js('routes.js', route('parseInt(req.query.name, 10)')), js('db.js', dbVuln)])).toEqual({ errors: [], cached: 0 });
    expect(await check(cache, [js('routes.js', route('req.query.name')), js('db.js', dbVuln)])).toEqual({ errors: ['routes.js:5 js/sql-injection'], cached: 1 });
  });

  it('repair verification judges a JS candidate with the module it requires', async () => {
    const { makeVerifier } = await import('../../daemon/repair/verify.js');
    const routes = js('routes.js', route('req.query.name'));
    const verify = makeVerifier({ file: routes, config, cache: new ResultCache(undefined), peers: [routes, js('db.js', dbVuln)] });
    const errors = (r: Awaited<ReturnType<typeof verify>>) => r.findings.filter((f) => f.tool === 'builtin' && f.severity === 'error').map((f) => `${f.file}:${f.startLine} ${f.ruleId}`);
    expect(errors(await verify(route('req.query.name')))).toEqual(['routes.js:5 js/sql-injection']);
    expect(errors(await verify(route('Number(req.query.name)')))).toEqual([]);
  });
});
