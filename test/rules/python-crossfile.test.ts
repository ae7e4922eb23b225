import { beforeAll, describe, expect, it } from 'vitest';
import { BuiltinRuleSet, builtinDependencies, initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';
import type { Finding } from '../../shared/findings.js';

/**
 * Taint across the staged Python files: each flow shape has a vulnerable set and a safe set that
 * differs only by what the cross-file analysis must understand. Every vulnerable set is also checked
 * file by file, to show the finding exists only because the files are analysed together.
 */
beforeAll(async () => {
  await initBuiltinRules();
});

type Files = Record<string, string>;

function runSet(files: Files): Finding[] {
  const src = Object.entries(files).map(([path, content]) => ({ path, language: 'python' as const, content }));
  const set = new BuiltinRuleSet(src);
  return src.flatMap((f) => set.run(f.path, f.language, f.content));
}

const alone = (files: Files): Finding[] => Object.entries(files).flatMap(([p, c]) => runBuiltinRules(p, 'python', c));
const blocking = (fs: Finding[], rule: string) => fs.filter((f) => f.ruleId === rule && f.severity !== 'note');
const key = (f: Finding) => `${f.file}:${f.startLine}:${f.severity}`;

/**
 * The blocking findings of `rule` that analysing the files together adds to analysing each alone.
 * (A helper that formats its parameter into SQL already gets a warning of its own; that stays as it was.)
 */
function added(files: Files, rule: string): string[] {
  const together = blocking(runSet(files), rule).map(key);
  const before = blocking(alone(files), rule).map(key);
  // Nothing found alone is lost together.
  for (const b of before) expect(together).toContain(b);
  return together.filter((k) => !before.includes(k));
}

const ROUTE = (imp: string, call: string, pre = '') => `from flask import Flask, request
${imp}

app = Flask(__name__)

@app.route("/user")
def user():
    q = request.args["q"]
${pre}    return str(${call})
`;

const DB_VULN = `import sqlite3


def find_user(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cur.fetchall()
`;
const DB_SAFE = DB_VULN.replace(`"SELECT * FROM users WHERE name = '%s'" % name`, `"SELECT * FROM users WHERE name = ?", (name,)`);

describe('helper sink in another file', () => {
  it('blocks request data passed to a helper that formats it into SQL, at the call, naming the sink', () => {
    const files = { 'app.py': ROUTE('from db import find_user', 'find_user(q)'), 'db.py': DB_VULN };
    expect(added(files, 'py/sql-injection')).toEqual(['app.py:9:error']);
    const f = blocking(runSet(files), 'py/sql-injection').find((x) => x.file === 'app.py')!;
    expect(f.message).toContain('request data passed to find_user() reaches the sink at db.py:6');
    expect(f.cwe).toContain('CWE-89');
    // Alone, the route sees an unknown call: no SQL finding in it.
    expect(blocking(runBuiltinRules('app.py', 'python', files['app.py']), 'py/sql-injection')).toEqual([]);
  });

  it('stays quiet for a parameterised query, and for a route that converts with int()', () => {
    expect(blocking(runSet({ 'app.py': ROUTE('from db import find_user', 'find_user(q)'), 'db.py': DB_SAFE }), 'py/sql-injection')).toEqual([]);
    const sanitized = ROUTE('from db import find_user', 'find_user(n)', '    n = int(q)\n');
    expect(added({ 'app.py': sanitized, 'db.py': DB_VULN }, 'py/sql-injection')).toEqual([]);
  });

  it('resolves `import db` with `db.f(...)`, and `from pkg import db`', () => {
    expect(added({ 'app.py': ROUTE('import db', 'db.find_user(q)'), 'db.py': DB_VULN }, 'py/sql-injection')).toEqual(['app.py:9:error']);
    expect(added({ 'app.py': ROUTE('import db', 'db.find_user(q)'), 'db.py': DB_SAFE }, 'py/sql-injection')).toEqual([]);
    const pkg = { 'web/app.py': ROUTE('from store import db', 'db.find_user(q)'), 'store/__init__.py': '', 'store/db.py': DB_VULN };
    expect(added(pkg, 'py/sql-injection')).toEqual(['web/app.py:9:error']);
    expect(added({ ...pkg, 'store/db.py': DB_SAFE }, 'py/sql-injection')).toEqual([]);
  });

  it('resolves relative imports: `from .db import f`, `from . import db`, `from ..util import f`', () => {
    const rel = { 'pkg/__init__.py': '', 'pkg/app.py': ROUTE('from .db import find_user', 'find_user(q)'), 'pkg/db.py': DB_VULN };
    expect(added(rel, 'py/sql-injection')).toEqual(['pkg/app.py:9:error']);
    const dot = { 'pkg/__init__.py': '', 'pkg/app.py': ROUTE('from . import db', 'db.find_user(q)'), 'pkg/db.py': DB_VULN };
    expect(added(dot, 'py/sql-injection')).toEqual(['pkg/app.py:9:error']);
    const up = { 'pkg/__init__.py': '', 'pkg/web/__init__.py': '', 'pkg/web/app.py': ROUTE('from ..db import find_user', 'find_user(q)'), 'pkg/db.py': DB_VULN };
    expect(added(up, 'py/sql-injection')).toEqual(['pkg/web/app.py:9:error']);
    expect(added({ ...up, 'pkg/db.py': DB_SAFE }, 'py/sql-injection')).toEqual([]);
    // A name that resolves to no staged file stays an unknown call: `from ..db` one level too high.
    const wrong = { 'pkg/web/app.py': ROUTE('from ...db import find_user', 'find_user(q)'), 'pkg/db.py': DB_VULN };
    expect(added(wrong, 'py/sql-injection')).toEqual([]);
  });

  it('follows `import pkg.mod as m` and a re-export through a package __init__', () => {
    const aliased = { 'app.py': ROUTE('import store.db as m', 'm.find_user(q)'), 'store/__init__.py': '', 'store/db.py': DB_VULN };
    expect(added(aliased, 'py/sql-injection')).toEqual(['app.py:9:error']);
    const reexp = { 'app.py': ROUTE('from store import find_user', 'find_user(q)'), 'store/__init__.py': 'from .db import find_user\n', 'store/db.py': DB_VULN };
    expect(added(reexp, 'py/sql-injection')).toEqual(['app.py:9:error']);
    expect(added({ ...reexp, 'store/db.py': DB_SAFE }, 'py/sql-injection')).toEqual([]);
  });

  it('follows methods of an imported class: on an instance (module-level or local) and on the class', () => {
    const store = (query: string) => `import sqlite3


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def find_user(self, name):
        cur = self.conn.cursor()
        cur.execute(${query})
        return cur.fetchall()

    @staticmethod
    def run(cmd):
        import os
        os.system("backup " + cmd)
`;
    const vuln = store(`"SELECT * FROM users WHERE name = '%s'" % name`);
    const safe = store(`"SELECT * FROM users WHERE name = ?", (name,)`);
    const global = `from flask import Flask, request
from store import Store

app = Flask(__name__)
db = Store("app.db")


@app.route("/user")
def user():
    return str(db.find_user(request.args["q"]))
`;
    expect(added({ 'app.py': global, 'store.py': vuln }, 'py/sql-injection')).toEqual(['app.py:10:error']);
    expect(added({ 'app.py': global, 'store.py': safe }, 'py/sql-injection')).toEqual([]);
    const local = global.replace('db = Store("app.db")\n', '').replace('    return str(db.find_user', '    s = Store("app.db")\n    return str(s.find_user');
    expect(added({ 'app.py': local, 'store.py': vuln }, 'py/sql-injection')).toEqual(['app.py:10:error']);
    // A name also bound to something else is not taken for an instance.
    const rebound = global.replace('def user():\n', 'def user():\n    global db\n    db = open_other()\n');
    expect(added({ 'app.py': rebound, 'store.py': vuln }, 'py/sql-injection')).toEqual([]);
    const onClass = global.replace('str(db.find_user(request.args["q"]))', 'Store.run(request.args["q"])');
    expect(added({ 'app.py': onClass, 'store.py': vuln }, 'py/command-injection')).toEqual(['app.py:10:error']);
    // Through a method of the same class (`self._lookup`), not a module function of the same name.
    const viaSelf = (body: string) => `import sqlite3


def _lookup(sql):
    return sql


class Store:
    def find_user(self, name):
        return self._lookup("SELECT * FROM users WHERE name = '%s'" % name)

    def _lookup(self, sql):
        cur = sqlite3.connect("app.db").cursor()
        ${body}
        return cur.fetchall()
`;
    expect(added({ 'app.py': global, 'store.py': viaSelf('cur.execute(sql)') }, 'py/sql-injection')).toEqual(['app.py:10:error']);
    expect(blocking(runSet({ 'app.py': global, 'store.py': viaSelf('cur.execute(sql)') }), 'py/sql-injection')[0].message).toContain('Store.find_user() -> Store._lookup() reaches the sink at store.py:14');
    expect(added({ 'app.py': global, 'store.py': viaSelf('cur.execute("SELECT 1")') }, 'py/sql-injection')).toEqual([]);
  });

  it('follows a chain of helpers across three files', () => {
    const files = {
      'app.py': ROUTE('from service import lookup', 'lookup(q)'),
      'service.py': 'from db import find_user\n\n\ndef lookup(who):\n    return find_user(who.strip())\n',
      'db.py': DB_VULN,
    };
    expect(added(files, 'py/sql-injection')).toEqual(['app.py:9:error']);
    const fs = blocking(runSet(files), 'py/sql-injection').filter((f) => f.file === 'app.py');
    expect(fs[0].message).toContain('lookup() -> find_user() reaches the sink at db.py:6');
    expect(blocking(runSet({ ...files, 'db.py': DB_SAFE }), 'py/sql-injection')).toEqual([]);
  });

  it('covers command and path injection the same way', () => {
    const cmd = 'import os\n\n\ndef archive(name):\n    os.system("tar czf /tmp/out.tgz " + name)\n';
    const cmdSafe = 'import os, shlex\n\n\ndef archive(name):\n    os.system("tar czf /tmp/out.tgz " + shlex.quote(name))\n';
    expect(added({ 'app.py': ROUTE('from tools import archive', 'archive(q)'), 'tools.py': cmd }, 'py/command-injection')).toEqual(['app.py:9:error']);
    expect(added({ 'app.py': ROUTE('from tools import archive', 'archive(q)'), 'tools.py': cmdSafe }, 'py/command-injection')).toEqual([]);
    const path = 'def read_doc(name):\n    with open(name) as f:\n        return f.read()\n';
    const pathSafe = 'import os\n\n\ndef read_doc(name):\n    with open(os.path.join("/srv/docs", os.path.basename(name))) as f:\n        return f.read()\n';
    expect(added({ 'app.py': ROUTE('from docs import read_doc', 'read_doc(q)'), 'docs.py': path }, 'py/path-injection')).toEqual(['app.py:9:error']);
    expect(added({ 'app.py': ROUTE('from docs import read_doc', 'read_doc(q)'), 'docs.py': pathSafe }, 'py/path-injection')).toEqual([]);
  });

  it('covers the other sink kinds: code, deserialization, SSRF, and HTML built by a helper', () => {
    const cases: Array<[string, string, string, string]> = [
      ['py/code-injection', 'def calc(expr):\n    return eval(expr)\n', 'def calc(expr):\n    import ast\n    return ast.literal_eval(expr)\n', 'calc'],
      ['py/unsafe-deserialization', 'import pickle\n\n\ndef calc(blob):\n    return pickle.loads(blob)\n', 'import json\n\n\ndef calc(blob):\n    return json.loads(blob)\n', 'calc'],
      ['py/ssrf', 'import requests\n\n\ndef calc(url):\n    return requests.get(url).text\n', 'import requests\n\n\ndef calc(url):\n    return requests.get("https://api.example.com/items", params={"q": url}).text\n', 'calc'],
    ];
    for (const [rule, vuln, safe, fn] of cases) {
      expect(added({ 'app.py': ROUTE(`from helper import ${fn}`, `${fn}(q)`), 'helper.py': vuln }, rule), rule).toEqual(['app.py:9:error']);
      expect(added({ 'app.py': ROUTE(`from helper import ${fn}`, `${fn}(q)`), 'helper.py': safe }, rule), rule).toEqual([]);
    }
    const page = (imp: string) => `from flask import Flask, request
${imp}

app = Flask(__name__)

@app.route("/hi")
def hi():
    return greet(request.args["name"])
`;
    const html = 'def greet(name):\n    return "<b>Hello %s</b>" % name\n';
    const escaped = 'import html\n\n\ndef greet(name):\n    return "<b>Hello %s</b>" % html.escape(name)\n';
    expect(added({ 'app.py': page('from views import greet'), 'views.py': html }, 'py/reflected-xss')).toEqual(['app.py:8:error']);
    expect(added({ 'app.py': page('from views import greet'), 'views.py': escaped }, 'py/reflected-xss')).toEqual([]);
  });

  it('a route sanitizing for one sink kind still reaches a helper sink of another kind', () => {
    const cmd = 'import os\n\n\ndef archive(name):\n    os.system("tar czf /tmp/out.tgz " + name)\n';
    const quoted = ROUTE('import shlex\nfrom tools import archive', 'archive(s)', '    s = shlex.quote(q)\n');
    expect(added({ 'app.py': quoted, 'tools.py': cmd }, 'py/command-injection')).toEqual([]);
    const htmlEscaped = ROUTE('import html\nfrom tools import archive', 'archive(s)', '    s = html.escape(q)\n');
    expect(added({ 'app.py': htmlEscaped, 'tools.py': cmd }, 'py/command-injection')).toEqual(['app.py:11:error']);
  });
});

describe('helper source and sanitizer in another file', () => {
  const SINK = (imp: string, expr: string) => `import os
${imp}


def run_job():
    os.system("convert " + ${expr})
`;

  it('a helper returning request data is a source', () => {
    const helpers = 'from flask import request\n\n\ndef current_name():\n    return request.args.get("name")\n';
    expect(added({ 'job.py': SINK('from helpers import current_name', 'current_name()'), 'helpers.py': helpers }, 'py/command-injection')).toEqual(['job.py:6:error']);
    const constant = 'def current_name():\n    return "default.png"\n';
    expect(added({ 'job.py': SINK('from helpers import current_name', 'current_name()'), 'helpers.py': constant }, 'py/command-injection')).toEqual([]);
    // Alone, the call is unknown and the job file does not block.
    expect(blocking(runBuiltinRules('job.py', 'python', SINK('from helpers import current_name', 'current_name()')), 'py/command-injection')).toEqual([]);
  });

  it('a helper that builds SQL or a path from its parameter passes the request data on to the caller\'s sink', () => {
    const route = `import sqlite3
from flask import request
from queries import user_query, doc_path


def user():
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(user_query(request.args["q"]))
    return open(doc_path(request.args["doc"])).read()
`;
    const vuln = 'import os\n\n\ndef user_query(name):\n    return "SELECT * FROM users WHERE name = \'%s\'" % name\n\n\ndef doc_path(name):\n    return os.path.join("/srv/docs", name)\n';
    const safe = 'import os\n\n\ndef user_query(name):\n    return "SELECT * FROM users WHERE id = %d" % int(name)\n\n\ndef doc_path(name):\n    return os.path.join("/srv/docs", os.path.basename(name))\n';
    expect(added({ 'views.py': route, 'queries.py': vuln }, 'py/sql-injection')).toEqual(['views.py:8:error']);
    expect(added({ 'views.py': route, 'queries.py': vuln }, 'py/path-injection')).toEqual(['views.py:9:error']);
    expect(added({ 'views.py': route, 'queries.py': safe }, 'py/sql-injection')).toEqual([]);
    expect(added({ 'views.py': route, 'queries.py': safe }, 'py/path-injection')).toEqual([]);
  });

  it('a helper returning its parameter quoted is a sanitizer; one returning it unchanged is not', () => {
    const route = (imp: string, call: string) => `import os
from flask import request
${imp}


def run_job():
    os.system("convert " + ${call})
`;
    const quoting = 'import shlex\n\n\ndef q(value):\n    return shlex.quote(value)\n';
    const passing = 'def q(value):\n    return value.strip()\n';
    const all = (files: Files) => blocking(runSet(files), 'py/command-injection').map(key);
    expect(all({ 'job.py': route('from text import q', 'q(request.args["f"])'), 'text.py': quoting })).toEqual([]);
    expect(all({ 'job.py': route('from text import q', 'q(request.args["f"])'), 'text.py': passing })).toEqual(['job.py:7:error']);
    // Alone, the helper is an unknown call whose result may carry the data: a warning either way.
    expect(blocking(runBuiltinRules('job.py', 'python', route('from text import q', 'q(request.args["f"])')), 'py/command-injection').map(key)).toEqual(['job.py:7:warning']);
  });
});

describe('bounds', () => {
  it('modules that import each other terminate and still find the flow', () => {
    const a = ROUTE('from b import find_user', 'find_user(q)');
    const b = DB_VULN.replace('import sqlite3\n', 'import sqlite3\nfrom app import user\n');
    expect(added({ 'app.py': a, 'b.py': b }, 'py/sql-injection')).toEqual(['app.py:9:error']);
    const rec = { 'x.py': 'from y import g\n\n\ndef f(v):\n    return g(v)\n', 'y.py': 'from x import f\n\n\ndef g(v):\n    return f(v)\n', 'app.py': ROUTE('from x import f', 'f(q)') };
    expect(blocking(runSet(rec), 'py/sql-injection')).toEqual([]);
  });

  it('a chain of helpers is followed to a bounded depth; past it the call is unknown, as for a file alone', () => {
    const chain = (n: number): Files => {
      const files: Files = { 'app.py': ROUTE('from m0 import f', 'f(q)') };
      for (let i = 0; i < n - 1; i++) files[`m${i}.py`] = `from m${i + 1} import f as g\n\n\ndef f(v):\n    return g(v)\n`;
      files[`m${n - 1}.py`] = 'import os\n\n\ndef f(v):\n    os.system("ls " + v)\n';
      return files;
    };
    expect(added(chain(6), 'py/command-injection')).toEqual(['app.py:9:error']);
    // 300 modules deep: past the nesting bound nothing is followed, and nothing fails.
    expect(added(chain(300), 'py/command-injection')).toEqual([]);
  });

  it('dependencies: transitive staged imports only, cycles included once', () => {
    const files = [
      { path: 'app.py', content: 'from service import lookup\nimport json\n' },
      { path: 'service.py', content: 'from db import find_user\nfrom app import x\n' },
      { path: 'db.py', content: 'import sqlite3\n' },
      { path: 'other.py', content: 'import os\n' },
    ].map((f) => ({ ...f, language: 'python' as const }));
    const deps = builtinDependencies(files);
    expect(deps.get('app.py')).toEqual(['db.py', 'service.py']);
    expect(deps.get('service.py')).toEqual(['app.py', 'db.py']);
    expect(deps.has('db.py')).toBe(false);
    expect(deps.has('other.py')).toBe(false);
  });
});
