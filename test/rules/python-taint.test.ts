import { beforeAll, describe, expect, it } from 'vitest';
import { initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';
import { nonProductLocation } from '../../daemon/non-product.js';

/**
 * The Python taint engine's behaviour, one vulnerable and one safe variant per feature: the safe
 * variant differs only by the thing the feature must understand (a sanitizing helper, a guard, a dead
 * branch, an argument list), so each test fails if the feature is lost in either direction.
 */
beforeAll(async () => {
  await initBuiltinRules();
});

const run = (src: string, path = 'app/views.py') => runBuiltinRules(path, 'python', src);
const rules = (src: string, path?: string) => run(src, path).map((f) => `${f.ruleId}@${f.startLine}:${f.severity}`);
const has = (src: string, rule: string, path?: string) => run(src, path).filter((f) => f.ruleId === rule);

describe('Python taint: across functions of a file', () => {
  it('follows request data into a helper that runs it in a shell', () => {
    const src = `from flask import request
import os

def clean_up(name):
    os.system("rm -rf /tmp/" + name)

def handler():
    clean_up(request.args["dir"])
`;
    expect(has(src, 'py/command-injection').map((f) => `${f.startLine}:${f.severity}`)).toEqual(['5:error']);
  });

  it('uses a helper\'s return summary: a quoting helper sanitizes, a pass-through helper does not', () => {
    const vuln = `import os, shlex
from flask import request

def wrap(s):
    return "'" + s + "'"

def handler():
    os.system("ls " + wrap(request.args["p"]))
`;
    const safe = vuln.replace(`return "'" + s + "'"`, 'return shlex.quote(s)');
    expect(has(vuln, 'py/command-injection').map((f) => f.startLine)).toEqual([8]);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });

  it('a helper returning request data is a source for its callers', () => {
    const vuln = `from flask import request
import subprocess

def target():
    return request.form["host"]

def ping():
    subprocess.call("ping -c1 " + target(), shell=True)
`;
    const safe = vuln.replace('return request.form["host"]', 'return "localhost"');
    expect(has(vuln, 'py/command-injection').map((f) => f.severity)).toEqual(['error']);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });
});

describe('Python taint: sources', () => {
  it('route parameters (Flask decorator) are request data', () => {
    const vuln = `import subprocess
@app.route("/ping/<host>")
def ping(host):
    return subprocess.check_output("ping -c1 %s" % host, shell=True)
`;
    const safe = vuln.replace('"ping -c1 %s" % host, shell=True', '["ping", "-c1", host]');
    expect(has(vuln, 'py/command-injection').map((f) => f.severity)).toEqual(['error']);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });

  it('Django request.GET and FastAPI-style decorated handlers', () => {
    const src = `from django.db import connection
def search(request):
    q = request.GET.get("q")
    connection.cursor().execute("SELECT * FROM t WHERE name = '%s'" % q)

@router.get("/items/{item_id}")
def item(item_id):
    connection.cursor().execute(f"SELECT * FROM t WHERE id = {item_id}")
`;
    expect(has(src, 'py/sql-injection').map((f) => `${f.startLine}:${f.severity}`)).toEqual(['4:error', '8:error']);
  });

  it('sys.argv and the environment reach a command, but opening a file named on the command line is fine', () => {
    const src = `import os, sys
os.system("convert " + sys.argv[1])
data = open(sys.argv[2]).read()
os.popen("echo " + os.environ["USER_NOTE"])
`;
    expect(rules(src)).toEqual(['py/command-injection@2:error', 'py/command-injection@4:error']);
  });
});

describe('Python taint: propagation', () => {
  it('through containers, attributes of local objects, join and format', () => {
    const vuln = `import subprocess
from flask import request

def go():
    opts = {}
    opts["name"] = request.args["n"]
    parts = ["echo"]
    parts.append(opts["name"])
    cmd = " ".join(parts)
    subprocess.run("{}".format(cmd), shell=True)
`;
    const safe = vuln.replace('opts["name"] = request.args["n"]', 'opts["name"] = "static"');
    expect(has(vuln, 'py/command-injection').map((f) => f.startLine)).toEqual([10]);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });

  it('an argument list built from data is not a command line', () => {
    const src = `def create(self, host, lun):
    self._run_ssh(["svctask", "mkvdiskhostmap", "-host", host, "-scsi", "%s" % lun])
`;
    const vuln = `def create(self, host, lun):
    self._run_ssh("svctask mkvdiskhostmap -host %s -scsi %s" % (host, lun))
`;
    expect(has(src, 'py/command-injection')).toEqual([]);
    expect(has(vuln, 'py/command-injection').map((f) => f.severity)).toEqual(['warning']);
  });
});

describe('Python taint: formatted statements handed to helpers', () => {
  it('a SQL statement built by formatting and passed to a query helper, not when parameterized', () => {
    const vuln = `def get_user(self, name):
    sql = "SELECT * FROM users WHERE name = '{}'".format(name)
    return self.db.exec(sql)
`;
    const safe = `def get_user(self, name):
    sql = "SELECT * FROM users WHERE name = %s"
    return self.db.exec(sql, (name,))
`;
    const tableOnly = `def count(self, table, since):
    sql = "SELECT count(*) FROM %s WHERE ts > ?" % self.table
    return self.db.query(sql, since)
`;
    expect(has(vuln, 'py/sql-injection').map((f) => f.severity)).toEqual(['warning']);
    expect(has(safe, 'py/sql-injection')).toEqual([]);
    expect(has(tableOnly, 'py/sql-injection')).toEqual([]);
  });

  it('"..." % locals() formats only the names the template uses', () => {
    const vuln = `def page(request):
    name = request.values.get("n", "")
    shown = escape(name)
    request.write("<p>%(name)s</p>" % locals())
`;
    const safe = vuln.replace('%(name)s', '%(shown)s');
    expect(has(vuln, 'py/reflected-xss')).toHaveLength(1);
    expect(has(safe, 'py/reflected-xss')).toEqual([]);
  });
});

describe('Python taint: guards and sanitizers', () => {
  it('an allow-list test that returns early sanitizes', () => {
    const vuln = `import os
from flask import request
ALLOWED = {"a", "b"}

def f():
    name = request.args["n"]
    os.system("make " + name)
`;
    const safe = vuln.replace('    os.system', '    if name not in ALLOWED:\n        abort(400)\n    os.system');
    expect(has(vuln, 'py/command-injection')).toHaveLength(1);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });

  it('a validator call sanitizes what it checks, from there on', () => {
    const vuln = `from flask import request

def add_key():
    name = request.json["name"]
    with open("keys/%s.key" % name, "w") as f:
        f.write("x")
`;
    const safe = vuln.replace('    with open', '    validate_key_name(name)\n    with open');
    expect(has(vuln, 'py/path-injection').map((f) => f.severity)).toEqual(['error']);
    expect(has(safe, 'py/path-injection')).toEqual([]);
  });

  it('realpath + startswith containment, and basename', () => {
    const vuln = `import os
from flask import request

def f():
    p = os.path.realpath(os.path.join("/srv", request.args["f"]))
    return open(p).read()
`;
    const checked = vuln.replace('    return open', '    if not p.startswith("/srv/"):\n        abort(403)\n    return open');
    const base = vuln.replace('request.args["f"]', 'os.path.basename(request.args["f"])');
    expect(has(vuln, 'py/path-injection')).toHaveLength(1);
    expect(has(checked, 'py/path-injection')).toEqual([]);
    expect(has(base, 'py/path-injection')).toEqual([]);
  });
});

describe('Python taint: what a condition proves holds only where it holds', () => {
  it('an equality test pins a value down inside its branch only', () => {
    const safe = `import os
from flask import request

def f():
    mode = request.args["m"]
    if mode == "fast":
        os.system("run --" + mode)
`;
    const vuln = `import os
from flask import request

def f():
    mode = request.args["m"]
    if mode == "":
        error = "missing"
    os.system("run --" + mode)
`;
    expect(has(safe, 'py/command-injection')).toEqual([]);
    expect(has(vuln, 'py/command-injection')).toHaveLength(1);
  });

  it('a ".." test protects the path only where it failed', () => {
    const safe = `from flask import request

def f():
    name = request.args["n"]
    if ".." in name or name.startswith("/"):
        abort(400)
    return open("/srv/" + name).read()
`;
    const vuln = safe.replace('    if ".." in name or name.startswith("/"):\n        abort(400)\n', '    if ".." in name:\n        log("odd")\n');
    expect(has(safe, 'py/path-injection')).toEqual([]);
    expect(has(vuln, 'py/path-injection')).toHaveLength(1);
  });
});

describe('Python taint: path sensitivity', () => {
  it('a branch under a constant-false condition is dead', () => {
    const vuln = `import os
from flask import request
DEBUG = True

def f():
    if DEBUG:
        os.system("echo " + request.args["m"])
`;
    const safe = vuln.replace('DEBUG = True', 'DEBUG = False');
    expect(has(vuln, 'py/command-injection')).toHaveLength(1);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });

  it('a value overwritten on every path before use is clean; on one path it is not', () => {
    const safe = `import os
from flask import request

def f(flag):
    cmd = request.args["c"]
    if flag:
        cmd = "ls"
    else:
        cmd = "pwd"
    os.system("run " + cmd)
`;
    const vuln = safe.replace('    else:\n        cmd = "pwd"\n', '');
    expect(has(safe, 'py/command-injection')).toEqual([]);
    expect(has(vuln, 'py/command-injection')).toHaveLength(1);
  });

  it('a constant ternary picks its branch', () => {
    const vuln = `import os
from flask import request
USE_INPUT = 1

def f():
    name = request.args["n"] if USE_INPUT == 1 else "default"
    os.system("touch " + name)
`;
    const safe = vuln.replace('USE_INPUT = 1', 'USE_INPUT = 0');
    expect(has(vuln, 'py/command-injection')).toHaveLength(1);
    expect(has(safe, 'py/command-injection')).toEqual([]);
  });
});

describe('Severity by evidence and location', () => {
  it('HTML built from data of unknown origin is a note; from request data an error', () => {
    const unknown = `def page(self):
    return HttpResponse("<p>%s</p>" % self.title)
`;
    const request_ = `def page(request):
    return HttpResponse("<p>%s</p>" % request.GET["t"])
`;
    expect(run(unknown).map((f) => `${f.ruleId}:${f.severity}`)).toEqual(['py/unescaped-html:note']);
    expect(run(request_).map((f) => `${f.ruleId}:${f.severity}`)).toEqual(['py/reflected-xss:error']);
  });

  it('findings in tests and examples are notes that say where they are', () => {
    const src = `import os
from flask import request

def f():
    os.system("echo " + request.args["m"])
`;
    const prod = run(src, 'app/tasks.py');
    const test = run(src, 'tests/test_tasks.py');
    const example = run(src, 'examples/demo/app.py');
    expect(prod.map((f) => f.severity)).toEqual(['error']);
    expect(test.map((f) => f.severity)).toEqual(['note']);
    expect(test[0].message).toMatch(/test\/example code: tests\/; would be error/);
    expect(example[0].message).toMatch(/examples\//);
    expect(nonProductLocation('src/pkg/conftest.py')).toBe('conftest.py');
    expect(nonProductLocation('src/testsuite_helpers/x.py')).toBeNull();
    expect(nonProductLocation('test/rules/fixtures/x.py')).toBe('test/');
  });
});

describe('Python taint: objects and containers', () => {
  it('a field stored on a local object taints that field, not its siblings', () => {
    const vuln = `import shutil
from aiohttp import web

async def save(request):
    data = await request.post()
    item = load(data["src"])
    item.meta["title"] = data.get("title")
    shutil.copyfile(item.meta["title"], item.backup_path)
`;
    const safe = vuln.replace('shutil.copyfile(item.meta["title"], item.backup_path)', 'shutil.copyfile(item.path, item.backup_path)');
    expect(has(vuln, 'py/path-injection').map((f) => f.severity)).toEqual(['error']);
    expect(has(safe, 'py/path-injection').filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('pinning one entry of a container does not vet the rest of it', () => {
    const vuln = `import os

def get_files(submit):
    for data in submit.entries:
        if data["type"] == "file":
            path = os.path.join(submit.tmp_path, data["name"])
            return open(path).read()
`;
    const safe = vuln.replace('data["name"])', 'os.path.basename(data["name"]))');
    expect(has(vuln, 'py/path-injection').map((f) => f.startLine)).toEqual([7]);
    expect(has(safe, 'py/path-injection')).toEqual([]);
  });
});
