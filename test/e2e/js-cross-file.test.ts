import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, stopDaemon, TestRepo } from '../helpers/repo.js';

/*
 * JS taint across staged files through the real hook and daemon: an Express route hands a query
 * parameter to a helper module that formats it into SQL. The helper alone is only a warning (its
 * caller decides what the parameter holds) and the route alone calls an unknown function, so only the
 * two analysed together block. The safe helper passes the value as a query parameter.
 */

const ROUTE = `const express = require('express');
const { findUser } = require('./db');

const app = express();

app.get('/user', async (req, res) => {
  const rows = await findUser(req.query.name);
  res.json(rows);
});

module.exports = app;
`;

const DB_VULN = `const mysql = require('mysql2/promise');

const pool = mysql.createPool({ host: 'localhost', database: 'app' });

async function findUser(name) {
  const [rows] = await pool.query("SELECT id, email FROM users WHERE name = '" + name + "'");
  return rows;
}

module.exports = { findUser };
`;

const DB_SAFE = DB_VULN.replace(`"SELECT id, email FROM users WHERE name = '" + name + "'"`, `'SELECT id, email FROM users WHERE name = ?', [name]`);

interface CheckJson {
  verdict: string;
  findings: Array<{ file: string; startLine: number; ruleId: string; severity: string }>;
}

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

describe('JS taint across staged files', () => {
  it('blocks a route whose query parameter reaches SQL in a required module; the parameterised module passes', () => {
    const repo = new TestRepo(home);
    repo.write('routes.js', ROUTE);
    repo.write('db.js', DB_VULN);
    repo.add('routes.js', 'db.js');

    const blocked = repo.commit('users route');
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain('routes.js:7');
    expect(blocked.stderr).toContain('CWE-89');
    expect(blocked.stderr).toContain('db.js:6');
    expect(blocked.stderr).toContain('commit blocked');
    expect(repo.commitCount()).toBe(0);

    const json = JSON.parse(repo.cli(['check', '--staged', '--format', 'json']).stdout) as CheckJson;
    expect(json.findings.filter((f) => f.severity === 'error').map((f) => `${f.file}:${f.startLine} ${f.ruleId}`)).toEqual(['routes.js:7 js/sql-injection']);

    repo.write('db.js', DB_SAFE);
    repo.add('db.js');
    const ok = repo.commit('users route');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.commitCount()).toBe(1);
  });
});
