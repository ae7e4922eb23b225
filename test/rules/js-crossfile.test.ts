import { beforeAll, describe, expect, it } from 'vitest';
import { BuiltinRuleSet, builtinDependencies, initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';
import { resolveJs } from '../../daemon/rules/js-imports.js';
import type { Finding, Language } from '../../shared/findings.js';

/**
 * Taint across the staged JavaScript/TypeScript files: each flow shape has a vulnerable set and a
 * safe set differing only by what the cross-file analysis must understand, and each vulnerable set's
 * finding exists only because the files are analysed together.
 */
beforeAll(async () => {
  await initBuiltinRules();
});

type Files = Record<string, string>;
const lang = (p: string): Language => (/\.tsx?$/.test(p) ? 'typescript' : 'javascript');

function runSet(files: Files): Finding[] {
  const src = Object.entries(files).map(([path, content]) => ({ path, language: lang(path), content }));
  const set = new BuiltinRuleSet(src);
  return src.flatMap((f) => set.run(f.path, f.language, f.content));
}
const alone = (files: Files): Finding[] => Object.entries(files).flatMap(([p, c]) => runBuiltinRules(p, lang(p), c));
const blocking = (fs: Finding[], rule: string) => fs.filter((f) => f.ruleId === rule && f.severity === 'error');
const key = (f: Finding) => `${f.file}:${f.startLine}`;

/** The blocking findings of `rule` that analysing the files together adds to analysing each alone. */
function added(files: Files, rule: string): Finding[] {
  const together = blocking(runSet(files), rule);
  const before = blocking(alone(files), rule).map(key);
  for (const b of before) expect(together.map(key)).toContain(b);
  return together.filter((f) => !before.includes(key(f)));
}

const ROUTE = (imp: string, call: string, pre = '') => `const express = require('express');
${imp}
const app = express();

app.get('/u', (req, res) => {
  const name = req.query.name;
${pre}  res.json(${call});
});
`;
const CALL_LINE = 7;

const DB_SQL = `const mysql = require('mysql');
const connection = mysql.createConnection({ host: 'localhost' });

function findUser(name) {
  const sql = "SELECT * FROM users WHERE name = '" + name + "'";
  return connection.query(sql);
}
`;
const DB_SQL_SAFE = DB_SQL.replace(`"SELECT * FROM users WHERE name = '" + name + "'";\n  return connection.query(sql);`, `'SELECT * FROM users WHERE name = ?';\n  return connection.query(sql, [name]);`);

describe('helper sink in another file', () => {
  const shapes: [string, string, string, string][] = [
    ['require + module.exports = {f}', `const db = require('./db');`, 'db.findUser(name)', 'module.exports = { findUser };\n'],
    ['destructured require + exports.f =', `const { findUser } = require('./db');`, 'findUser(name)', 'exports.findUser = findUser;\n'],
    ['require + module.exports.f =', `const db = require('./db.js');`, 'db.findUser(name)', 'module.exports.findUser = findUser;\n'],
    ['named import + export { f }', `import { findUser } from './db.js';`, 'findUser(name)', 'export { findUser };\n'],
    ['namespace import + export { f }', `import * as db from './db';`, 'db.findUser(name)', 'export { findUser };\n'],
    ['default import of a CommonJS module', `import db from './db';`, 'db.findUser(name)', 'module.exports = { findUser };\n'],
    ['default import + export default', `import find from './db';`, 'find(name)', 'export default findUser;\n'],
    ['renamed import', `import { findUser as lookup } from './db';`, 'lookup(name)', 'export { findUser };\n'],
    ['require of module.exports = f', `const find = require('./db');`, 'find(name)', 'module.exports = findUser;\n'],
    ['default import of export default {f}', `import db from './db.cjs';`, 'db.findUser(name)', 'export default { findUser };\n'],
  ];
  for (const [title, imp, call, exp] of shapes) {
    it(`${title}: blocks request data reaching SQL in the helper, at the call; the parameterised helper passes`, () => {
      const dbPath = imp.includes('db.cjs') ? 'db.cjs' : 'db.js';
      const vuln = { 'routes.js': ROUTE(imp, call), [dbPath]: DB_SQL + exp };
      const got = added(vuln, 'js/sql-injection');
      expect(got.map(key)).toEqual([`routes.js:${CALL_LINE}`]);
      expect(got[0].message).toMatch(/request data passed to \w+\(\) reaches the sink at db\.c?js:6/);
      expect(runSet({ 'routes.js': ROUTE(imp, call), [dbPath]: DB_SQL_SAFE + exp }).filter((f) => f.severity === 'error')).toEqual([]);
    });
  }

  it('an integer parsed in the route is not request text any more', () => {
    const files = { 'routes.js': ROUTE(`const db = require('./db');`, 'db.findUser(id)', '  const id = parseInt(name, 10);\n'), 'db.js': DB_SQL + 'module.exports = { findUser };\n' };
    expect(blocking(runSet(files), 'js/sql-injection')).toEqual([]);
  });

  it('a bare package name is never followed, even where a staged file has that name', () => {
    const files = { 'routes.js': ROUTE(`const db = require('db');`, 'db.findUser(name)'), 'db.js': DB_SQL + 'module.exports = { findUser };\n' };
    expect(added(files, 'js/sql-injection')).toEqual([]);
  });

  it('command, path and HTML sinks in the helper are reported under their own rules', () => {
    const helper = `const { exec } = require('child_process');
const fs = require('fs');

exports.list = (dir) => exec('ls -l ' + dir);
exports.read = function (file) {
  return fs.readFileSync('/srv/data/' + file, 'utf8');
};
exports.page = (res, title) => { res.send('<h1>' + title + '</h1>'); };
`;
    const route = `const express = require('express');
const util = require('./util');
const app = express();
app.get('/a', (req, res) => { util.list(req.query.d); res.end(); });
app.get('/b', (req, res) => res.json(util.read(req.params.f)));
app.get('/c', (req, res) => util.page(res, req.query.t));
`;
    const files = { 'lib/util.js': helper, 'lib/routes.js': route };
    expect(added(files, 'js/command-injection').map(key)).toEqual(['lib/routes.js:4']);
    expect(added(files, 'js/path-injection').map(key)).toEqual(['lib/routes.js:5']);
    expect(added(files, 'js/xss').map(key)).toEqual(['lib/routes.js:6']);
    // The same helpers given constants or integers report nothing at the calls.
    const safe = route.replace('req.query.d', "'/tmp'").replace('req.params.f', "Number(req.params.f) + '.json'").replace('req.query.t', "'Welcome'");
    const safeFound = runSet({ 'lib/util.js': helper, 'lib/routes.js': safe }).filter((f) => f.file === 'lib/routes.js' && f.severity === 'error');
    expect(safeFound).toEqual([]);
  });

  it('follows a chain through two modules and names it', () => {
    const files = {
      'routes.js': ROUTE(`const users = require('./services/users');`, 'users.byName(name)'),
      'services/users.js': `const { findUser } = require('../db');\nmodule.exports = { byName: (n) => findUser(n.trim()) };\n`,
      'db.js': DB_SQL + 'module.exports = { findUser };\n',
    };
    const got = added(files, 'js/sql-injection');
    expect(got.map(key)).toEqual([`routes.js:${CALL_LINE}`]);
    expect(got[0].message).toContain('byName() -> findUser() reaches the sink at db.js:6');
  });
});

describe('helper source and sanitizer in another file', () => {
  const route = (imp: string, expr: string) => `const express = require('express');
const { exec } = require('child_process');
${imp}
const app = express();
app.post('/run', (req, res) => {
  exec('convert ' + ${expr});
  res.send('<p>' + ${expr} + '</p>');
});
`;
  it('a helper returning request data is a source', () => {
    const files = { 'routes.js': route(`const h = require('./h');`, 'h.fileName(req)'), 'h.js': 'exports.fileName = (req) => req.query.file;\n' };
    expect(added(files, 'js/command-injection').map(key)).toEqual(['routes.js:6']);
    expect(added(files, 'js/xss').map(key)).toEqual(['routes.js:7']);
    const constant = { 'routes.js': files['routes.js'], 'h.js': "exports.fileName = (req) => 'out.png';\n" };
    expect(runSet(constant).filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('a helper that escapes sanitizes for its kind only', () => {
    const enc = { 'routes.js': route(`import { clean } from './h.mjs';`, 'clean(req.query.file)'), 'h.mjs': 'export function clean(p) {\n  return encodeURIComponent(p);\n}\n' };
    expect(blocking(runSet(enc), 'js/command-injection')).toEqual([]);
    expect(blocking(runSet(enc), 'js/xss')).toEqual([]);
    const html = { 'routes.js': enc['routes.js'], 'h.mjs': "const escape = require('escape-html');\nexport function clean(p) {\n  return escape(p);\n}\n" };
    expect(blocking(runSet(html), 'js/xss')).toEqual([]);
    // HTML escaping does not make a shell argument safe.
    expect(blocking(runSet(html), 'js/command-injection').map(key)).toEqual(['routes.js:6']);
    // A helper that only trims sanitizes nothing.
    const trim = { 'routes.js': enc['routes.js'], 'h.mjs': 'export function clean(p) {\n  return p.trim();\n}\n' };
    expect(blocking(runSet(trim), 'js/xss').map(key)).toEqual(['routes.js:7']);
    expect(blocking(runSet(trim), 'js/command-injection').map(key)).toEqual(['routes.js:6']);
  });
});

describe('TypeScript, cycles and bounds', () => {
  it('a TypeScript route importing ./db.js finds db.ts', () => {
    const files = {
      'src/routes.ts': `import express from 'express';\nimport { findUser } from './db.js';\nconst app = express();\napp.get('/u', (req, res) => {\n  res.json(findUser(req.query.name as string));\n});\n`,
      'src/db.ts': DB_SQL.replace('function findUser(name)', 'export function findUser(name: string)'),
    };
    expect(added(files, 'js/sql-injection').map(key)).toEqual(['src/routes.ts:5']);
  });

  it('modules that import each other terminate and still report the sink', () => {
    const files = {
      'a.js': `const b = require('./b');\nexports.walk = (p, n) => (n > 0 ? b.step(p, n - 1) : p);\n`,
      'b.js': `const a = require('./a');\nconst cp = require('child_process');\nexports.step = (p, n) => { cp.exec('touch ' + p); return a.walk(p, n); };\n`,
      'routes.js': ROUTE(`const a = require('./a');`, 'a.walk(name, 3)'),
    };
    expect(added(files, 'js/command-injection').map(key)).toContain(`routes.js:${CALL_LINE}`);
    const deps = builtinDependencies(Object.entries(files).map(([path, content]) => ({ path, language: 'javascript' as const, content })));
    expect(deps.get('routes.js')).toEqual(['a.js', 'b.js']);
    expect(deps.get('a.js')).toEqual(['b.js']);
    expect(deps.get('b.js')).toEqual(['a.js']);
  });

  it('resolves only relative specifiers among the staged files', () => {
    const staged = new Set(['src/db.ts', 'src/lib/index.js', 'x.cjs', 'pkg.js']);
    expect(resolveJs(staged, 'src/routes.ts', './db.js')).toBe('src/db.ts');
    expect(resolveJs(staged, 'src/routes.ts', './db')).toBe('src/db.ts');
    expect(resolveJs(staged, 'src/routes.ts', './lib')).toBe('src/lib/index.js');
    expect(resolveJs(staged, 'src/a/b.js', '../../x')).toBe('x.cjs');
    expect(resolveJs(staged, 'src/a.js', '../../x')).toBeNull();
    expect(resolveJs(staged, 'src/a.js', 'pkg')).toBeNull();
    expect(resolveJs(staged, 'src/a.js', '/pkg.js')).toBeNull();
  });
});
