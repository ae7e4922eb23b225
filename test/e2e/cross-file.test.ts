import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, stopDaemon, TestRepo } from '../helpers/repo.js';

/*
 * Taint across staged files through the real hook and daemon: a route in one file hands request data
 * to a helper in another that opens it as a path. Neither file alone has a blocking finding (the
 * helper's own use of its parameter is only a note), so only the two analysed together block. The
 * same daemon checks the files again after only the helper changed: the route's cached result must
 * not answer for a helper it was not worked out with.
 */

const ROUTE = `from flask import Flask, request

from docs import read_doc

app = Flask(__name__)


@app.route("/doc")
def doc():
    name = request.args.get("name", "")
    return read_doc(name)
`;

const HELPER_VULN = `import os

DOCS = "/srv/docs"


def read_doc(name):
    with open(os.path.join(DOCS, name)) as f:
        return f.read()
`;

const HELPER_SAFE = HELPER_VULN.replace('os.path.join(DOCS, name)', 'os.path.join(DOCS, os.path.basename(name))');

interface CheckJson {
  verdict: string;
  findings: Array<{ file: string; startLine: number; ruleId: string; severity: string; tools?: string[] }>;
}

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

describe('taint across staged files', () => {
  it('blocks request data reaching a helper sink in another staged file; a change to the helper alone is re-checked', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', ROUTE);
    repo.write('docs.py', HELPER_SAFE);
    repo.add('app.py', 'docs.py');

    // The safe pair passes, and the daemon now remembers app.py's result.
    const first = repo.cli(['check', '--staged', '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as CheckJson).findings.filter((f) => f.severity !== 'note')).toEqual([]);

    // Only the helper changes: the route must be analysed again with it.
    repo.write('docs.py', HELPER_VULN);
    repo.add('docs.py');
    const blocked = repo.commit('docs');
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain('app.py:11');
    expect(blocked.stderr).toContain('CWE-22');
    expect(blocked.stderr).toContain('docs.py:7');
    expect(blocked.stderr).toContain('commit blocked');
    expect(repo.commitCount()).toBe(0);

    // The same in JSON: the one blocking finding is the builtin's, at the call in the route.
    const json = JSON.parse(repo.cli(['check', '--staged', '--format', 'json']).stdout) as CheckJson;
    expect(json.findings.filter((f) => f.severity !== 'note').map((f) => `${f.file}:${f.startLine} ${f.ruleId}`)).toEqual(['app.py:11 py/path-injection']);

    // The fixed helper passes.
    repo.write('docs.py', HELPER_SAFE);
    repo.add('docs.py');
    const ok = repo.commit('docs');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.commitCount()).toBe(1);
  });
});
