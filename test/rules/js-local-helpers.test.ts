import { beforeAll, describe, expect, it } from 'vitest';
import { initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';

/*
 * Taint through the functions a JS/TS file defines itself: request data handed to a helper of the same
 * file that lets it reach a sink is reported at the call, as a call into another staged module is.
 */

beforeAll(async () => {
  await initBuiltinRules();
});

const errors = (src: string, path = 'routes.js') =>
  runBuiltinRules(path, path.endsWith('.ts') ? 'typescript' : 'javascript', src)
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.ruleId}@${f.startLine}`);

const HEADER = `const express = require('express');
const mysql = require('mysql');
const { exec } = require('child_process');
const app = express();
const connection = mysql.createConnection({});
`;

describe('JS helpers of the same file', () => {
  it('a helper that builds SQL from its parameter: reported at the call that passes request data', () => {
    const src = `${HEADER}
function findUser(name, cb) {
  connection.query("SELECT * FROM users WHERE name = '" + name + "'", cb);
}

app.get('/user', (req, res) => {
  findUser(req.query.name, (err, rows) => res.json(rows));
});
`;
    expect(errors(src)).toEqual(['js/sql-injection@12']);
    const f = runBuiltinRules('routes.js', 'javascript', src).find((x) => x.startLine === 12)!;
    expect(f.message).toContain('request data passed to findUser() reaches the sink at routes.js:8');
  });

  it('stays quiet for a parameterised helper and for a route that converts the value first', () => {
    const safeHelper = `${HEADER}
function findUser(name, cb) {
  connection.query('SELECT * FROM users WHERE name = ?', [name], cb);
}

app.get('/user', (req, res) => {
  findUser(req.query.name, (err, rows) => res.json(rows));
});
`;
    expect(errors(safeHelper)).toEqual([]);
    const converted = `${HEADER}
const run = (id) => exec('report --id ' + id);

app.get('/report', (req, res) => {
  run(parseInt(req.query.id, 10));
  res.send('ok');
});
`;
    expect(errors(converted)).toEqual([]);
  });

  it('follows an arrow helper to a command, a helper that returns request data, and a chain of two', () => {
    const src = `${HEADER}
const run = (cmd) => exec('sh -c ' + cmd);
function wrap(x) { return run(x); }
function name(req) { return req.query.name; }

app.get('/a', (req, res) => {
  wrap(req.query.cmd);
  connection.query('SELECT * FROM t WHERE n = ' + name(req));
  res.send('ok');
});
`;
    const got = errors(src);
    expect(got).toContain('js/command-injection@12');
    expect(got).toContain('js/sql-injection@13');
    const f = runBuiltinRules('routes.js', 'javascript', src).find((x) => x.startLine === 12 && x.ruleId === 'js/command-injection')!;
    expect(f.message).toContain('wrap() -> run()');
  });

  it('terminates on recursion and mutual recursion', () => {
    const src = `${HEADER}
function a(x, n) { return n > 0 ? b(x, n - 1) : exec('ls ' + x); }
function b(x, n) { return a(x, n); }

app.get('/r', (req, res) => {
  a(req.query.dir, 3);
  res.send('ok');
});
`;
    expect(errors(src)).toEqual(['js/command-injection@11']);
  });
});
