import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { banditAnalyzer } from '../../daemon/analyzers/bandit.js';
import { clangAnalyzer } from '../../daemon/analyzers/clang.js';
import { cppcheckAnalyzer, cppcheckReport } from '../../daemon/analyzers/cppcheck.js';
import { gccAnalyzer, parseGccDiagnostics } from '../../daemon/analyzers/gcc.js';
import type { Analyzer, AnalyzeContext, AnalyzerRun, SourceFile } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';
import { ARR_C, BAD_C, MAIN_C, UTIL_H, treeWith } from '../helpers/c-project.js';

const repoWith = (files: Record<string, string>) => treeWith(work, files);

/*
 * The C/C++ adapters with the real gcc, clang and cppcheck (Debian), on small repositories in temp
 * dirs laid out as a real project: headers under include/, sources under src/, a snapshot holding
 * only the staged files (as the daemon's), and the work tree as repoRoot.
 */

const has = (cmd: string, arg = '--version') => {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const tools = has('gcc') && has('clang') && has('cppcheck');

const work = mkdtempSync(join(tmpdir(), 'rg-cadapt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const UAF_ARR_C = `#include <stdlib.h>
#include <stdio.h>
int main(void) {
    char *p = malloc(8);
    if (!p) return 1;
    free(p);
    printf("%c\\n", p[0]);
    char b[4];
    b[4] = 0;
    return b[0];
}
`;


/** A snapshot of the staged paths (the daemon writes only those), analyzing against the repo's work tree. */
function ctxFor(repo: string, staged: Record<string, string>, raw: object = {}): AnalyzeContext {
  const root = mkdtempSync(join(work, 'snap-'));
  const files: SourceFile[] = Object.entries(staged).map(([path, content]) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    const language = path.endsWith('.py') ? 'python' : path.endsWith('.cpp') ? 'cpp' : 'c';
    return { path, absPath: join(root, path), language, content };
  });
  return { root, repoRoot: repo, files, config: parseConfig(raw), timeoutMs: 60_000 };
}

const at = (r: AnalyzerRun, file: string, cwe: string) => r.findings.filter((f) => f.file === file && f.cwe.includes(cwe)).map((f) => f.startLine);

describe.skipIf(!tools)('a use-after-free that needs the project header', () => {
  it('gcc and clang report it with the flags of compile_commands.json in build/, and not without them', async () => {
    // RELEASE frees only when the build defines USE_FREE: the finding proves the database's flags were used.
    const header = '#include <stdlib.h>\n#ifdef USE_FREE\n#define RELEASE(p) free(p)\n#else\n#define RELEASE(p) ((void)(p))\n#endif\n';
    const repo = repoWith({ 'include/util.h': header, 'src/main.c': MAIN_C, 'build/.keep': '' });
    const db = join(repo, 'build', 'compile_commands.json');
    writeFileSync(db, JSON.stringify([{ directory: join(repo, 'build'), file: '../src/main.c', command: 'cc -I../include -DUSE_FREE -std=c11 -c ../src/main.c -o main.o' }]));
    for (const a of [gccAnalyzer, clangAnalyzer]) {
      const r = await a.analyze(ctxFor(repo, { 'src/main.c': MAIN_C }));
      expect(r.notAnalyzed, a.id).toEqual([]);
      expect(at(r, 'src/main.c', 'CWE-416'), a.id).toContain(10);
    }
    rmSync(db);
    for (const a of [gccAnalyzer, clangAnalyzer]) {
      const r = await a.analyze(ctxFor(repo, { 'src/main.c': MAIN_C }));
      expect(r.notAnalyzed, a.id).toEqual([]);
      expect(at(r, 'src/main.c', 'CWE-416'), a.id).toEqual([]);
    }
  });

  it('gcc and clang report it without compile_commands.json (include dir inferred from the repository)', async () => {
    const repo = repoWith({ 'include/util.h': UTIL_H, 'src/main.c': MAIN_C });
    // Only src/main.c is staged: the header comes from the work tree.
    for (const a of [gccAnalyzer, clangAnalyzer]) {
      const r = await a.analyze(ctxFor(repo, { 'src/main.c': MAIN_C }));
      expect(r.notAnalyzed, a.id).toEqual([]);
      expect(at(r, 'src/main.c', 'CWE-416'), a.id).toContain(10);
    }
  });

  it('a staged header wins over the work tree one', async () => {
    // The work tree's RELEASE does nothing; the staged one frees: the finding must follow the staged header.
    const repo = repoWith({ 'include/util.h': '#define RELEASE(p) ((void)(p))\n#include <stdlib.h>\n', 'src/main.c': MAIN_C });
    const r = await gccAnalyzer.analyze(ctxFor(repo, { 'src/main.c': MAIN_C, 'include/util.h': UTIL_H }));
    expect(at(r, 'src/main.c', 'CWE-416')).toContain(10);
    const wt = await gccAnalyzer.analyze(ctxFor(repo, { 'src/main.c': MAIN_C }));
    expect(at(wt, 'src/main.c', 'CWE-416')).toEqual([]);
  });
});

describe.skipIf(!tools)('one file that cannot be compiled costs only itself', () => {
  it('gcc, clang and cppcheck keep the other files\' findings and list the bad file as not analyzed', async () => {
    const repo = repoWith({ 'include/util.h': UTIL_H, 'src/main.c': MAIN_C, 'src/bad.c': BAD_C, 'src/arr.c': ARR_C });
    const staged = { 'src/main.c': MAIN_C, 'src/bad.c': BAD_C, 'src/arr.c': ARR_C };
    const gcc = await gccAnalyzer.analyze(ctxFor(repo, staged));
    expect(at(gcc, 'src/main.c', 'CWE-416')).toContain(10);
    expect(gcc.notAnalyzed).toEqual([{ path: 'src/bad.c', reason: 'not analyzed: src/bad.c:1: fatal error: nothere.h: No such file or directory' }]);
    const clang = await clangAnalyzer.analyze(ctxFor(repo, staged));
    expect(at(clang, 'src/main.c', 'CWE-416')).toContain(10);
    expect(clang.notAnalyzed).toEqual([{ path: 'src/bad.c', reason: "not analyzed: src/bad.c:1:10: fatal error: 'nothere.h' file not found" }]);
    const cpp = await cppcheckAnalyzer.analyze(ctxFor(repo, staged));
    expect(cpp.findings.filter((f) => f.file === 'src/arr.c').map((f) => [f.startLine, f.ruleId])).toEqual([[3, 'arrayIndexOutOfBounds']]);
    // cppcheck is built to work without headers: it did analyze bad.c, and says nothing false about it.
    expect(cpp.notAnalyzed).toEqual([]);
  });

  it('a file cppcheck cannot parse is not analyzed, the others keep their findings', async () => {
    const repo = repoWith({ 'a.c': ARR_C, 'b.c': 'int f( {\n' });
    const r = await cppcheckAnalyzer.analyze(ctxFor(repo, { 'a.c': ARR_C, 'b.c': 'int f( {\n' }));
    expect(r.findings.map((f) => f.file)).toEqual(['a.c']);
    expect(r.notAnalyzed).toEqual([{ path: 'b.c', reason: expect.stringMatching(/^not analyzed: b\.c:1: syntaxError: /) }]);
  });

  it('parses gcc\'s JSON when "compilation terminated." follows it', () => {
    const out = '[{"kind": "fatal error", "locations": [{"caret": {"file": "/s/x.c", "line": 1}}], "message": "y.h: No such file or directory"}]\ncompilation terminated.\n';
    expect(parseGccDiagnostics(out)).toEqual([{ kind: 'fatal error', locations: [{ caret: { file: '/s/x.c', line: 1 } }], message: 'y.h: No such file or directory' }]);
    expect(parseGccDiagnostics('gcc: error: unrecognized command-line option\n')).toBeUndefined();
  });
});

describe.skipIf(!tools)('cppcheck findings follow the CWE cppcheck reports', () => {
  it('keeps mktemp, sizeof of a pointer, printf argument count and resource leaks, with sensible severities', async () => {
    const src = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int f(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp) return 1;
    char t[] = "/tmp/xXXXXXX";
    mktemp(t);
    char *b = malloc(10);
    memset(b, 0, sizeof(b));
    printf("%d %d\\n", 1);
    if (b == NULL) return 2;
    free(b);
    return 0;
}
`;
    const repo = repoWith({ 'f.c': src });
    const r = await cppcheckAnalyzer.analyze(ctxFor(repo, { 'f.c': src }));
    const got = r.findings.map((f) => `${f.startLine}:${f.ruleId}:${f.cwe[0]}:${f.severity}`);
    expect(got).toEqual(
      expect.arrayContaining([
        '8:mktempCalled:CWE-477:warning',
        '10:pointerSize:CWE-467:warning',
        '11:wrongPrintfScanfArgNum:CWE-685:error',
        expect.stringMatching(/^1[24]:resourceLeak:CWE-775:warning$/),
        // Redundant condition or null dereference: cppcheck cannot tell which, so it never blocks.
        expect.stringMatching(/:nullPointerRedundantCheck:CWE-476:note$/),
      ]),
    );
  });

  it('code-quality CWEs, style and inconclusive messages never block; internal errors mean "not analyzed"', () => {
    const xml = `<?xml version="1.0"?><results version="2"><cppcheck version="2.10"/><errors>
<error id="knownConditionTrueFalse" severity="style" msg="Condition is always true" cwe="571"><location file="a.c" line="3"/></error>
<error id="uselessAssignmentPtrArg" severity="warning" msg="Assignment has no effect" cwe="398"><location file="a.c" line="4"/></error>
<error id="bufferAccessOutOfBounds" severity="error" inconclusive="true" msg="maybe" cwe="788"><location file="a.c" line="5"/></error>
<error id="arrayIndexOutOfBounds" severity="error" msg="Array 'b[4]' accessed at index 4" cwe="788"><location file="./a.c" line="6"/></error>
<error id="unknownMacro" severity="error" msg="There is an unknown macro here somewhere."><location file="a.c" line="9"/></error>
<error id="missingIncludeSystem" severity="information" msg="Include file not found"/>
</errors></results>`;
    const r = cppcheckReport(xml, (p) => (p === 'a.c' ? 'a.c' : undefined));
    expect(r.findings.map((f) => `${f.startLine}:${f.severity}`)).toEqual(['3:note', '4:note', '5:note', '6:error']);
    expect(r.notAnalyzed).toBe('a.c:9: unknownMacro: There is an unknown macro here somewhere.');
  });
});

describe.skipIf(!tools)('the repository chooses no options', () => {
  it('a hostile compile_commands.json (-o, -MF, -fplugin=, -wrapper, @file, -B, -save-temps) writes nothing and runs nothing', async () => {
    const marks = mkdtempSync(join(work, 'marks-'));
    const bin = join(marks, 'bin');
    mkdirSync(bin);
    // Programs gcc/clang would run from a -B directory, and a response file that asks for a dependency file.
    for (const tool of ['cc1', 'as', 'collect2', 'ld', 'clang']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\ntouch ${join(marks, `ran-${tool}`)}\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    writeFileSync(join(marks, 'rsp'), `-MD -MF ${join(marks, 'from-rsp.d')}\n`);
    const repo = repoWith({ 'include/util.h': UTIL_H, 'src/main.c': MAIN_C, 'src/arr.c': ARR_C, 'build/.keep': '' });
    const hostile = [
      'cc', '-I../include', `-o${join(marks, 'out.o')}`, '-o', join(marks, 'out2.o'), '-MD', '-MF', join(marks, 'dep.d'), `-MJ${join(marks, 'mj.json')}`,
      `-fplugin=${join(marks, 'evil.so')}`, '-wrapper', `/bin/sh,-c,touch ${join(marks, 'ran-wrapper')}`, `@${join(marks, 'rsp')}`,
      `-B${bin}`, '-B', bin, '-save-temps', '-fdump-tree-all', `-specs=${join(marks, 'specs')}`, '-Xclang', '-load', '-Xclang', join(marks, 'evil.so'),
      '--serialize-diagnostics', join(marks, 'diag'), '-c', '../src/main.c',
    ];
    writeFileSync(
      join(repo, 'build', 'compile_commands.json'),
      JSON.stringify([
        { directory: join(repo, 'build'), file: '../src/main.c', arguments: hostile },
        { directory: join(repo, 'build'), file: '../src/arr.c', command: hostile.join(' ').replace('../src/main.c', '../src/arr.c') },
      ]),
    );
    const before = readdirSync(marks).sort();
    const staged = { 'src/main.c': MAIN_C, 'src/arr.c': ARR_C };
    const runs: Record<string, AnalyzerRun> = {};
    const snaps: string[] = [];
    for (const a of [gccAnalyzer, clangAnalyzer, cppcheckAnalyzer] as Analyzer[]) {
      const ctx = ctxFor(repo, staged);
      snaps.push(ctx.root);
      runs[a.id] = await a.analyze(ctx);
    }
    expect(readdirSync(marks).sort()).toEqual(before);
    // -save-temps/-fdump would have left .i/.s/.o or dump files next to the sources or in the cwd.
    for (const dir of [...snaps, join(repo, 'src'), join(repo, 'build')]) {
      expect(readdirSync(dir).filter((n) => !['src', 'main.c', 'arr.c', 'compile_commands.json', '.keep'].includes(n)), dir).toEqual([]);
    }
    // And the analysis itself still ran with the safe part of the flags (the -I../include).
    expect(at(runs.gcc, 'src/main.c', 'CWE-416')).toContain(10);
    expect(at(runs.clang, 'src/main.c', 'CWE-416')).toContain(10);
    expect(runs.cppcheck.findings.some((f) => f.file === 'src/arr.c' && f.ruleId === 'arrayIndexOutOfBounds')).toBe(true);
    for (const r of Object.values(runs)) expect(r.notAnalyzed).toEqual([]);
  });

  it('a staged file named like an option is analyzed as a file by gcc, clang, cppcheck and bandit', async () => {
    const names = ['-MF.c', '--output=x.c', '--output-file=y.c', '-o.c'];
    const staged = Object.fromEntries(names.map((n) => [n, UAF_ARR_C]));
    const repo = repoWith(staged);
    for (const a of [gccAnalyzer, clangAnalyzer, cppcheckAnalyzer] as Analyzer[]) {
      const ctx = ctxFor(repo, staged);
      const r = await a.analyze(ctx);
      expect(r.notAnalyzed, a.id).toEqual([]);
      for (const n of names) expect(r.findings.some((f) => f.file === n), `${a.id} ${n}`).toBe(true);
      // Read as options, these would have written x.c, y.c, a dependency file or an object file.
      expect(readdirSync(ctx.root).sort(), a.id).toEqual([...names].sort());
      expect(readdirSync(repo).sort(), a.id).toEqual([...names].sort());
    }
    const py = { '-r.py': 'import os\nos.system("ls " + x)\n', '--output=z.py': 'import os\nos.system("rm " + y)\n' };
    const pctx = ctxFor(repoWith(py), py);
    const b = await banditAnalyzer.analyze(pctx);
    expect(b.notAnalyzed).toEqual([]);
    expect(b.findings.map((f) => f.file).sort()).toEqual(['--output=z.py', '-r.py']);
    expect(existsSync(join(pctx.root, 'z.py'))).toBe(false);
  });
});

describe.skipIf(!tools)('per-file time bound', () => {
  it('a file past the bound is not analyzed and pending; the run finishes in the background and the next check uses it', async () => {
    const repo = repoWith({ 'include/util.h': UTIL_H, 'src/main.c': MAIN_C });
    // A 1 ms bound: no gcc -fanalyzer run can finish inside it.
    const ctx = ctxFor(repo, { 'src/main.c': MAIN_C }, { analyzers: { gcc: { fileTimeoutMs: 1 } } });
    const first = await gccAnalyzer.analyze(ctx);
    expect(first.notAnalyzed).toEqual([{ path: 'src/main.c', reason: 'time bound exceeded (gcc -fanalyzer, 1 ms per file)' }]);
    expect(first.pending).toMatch(/^gcc -fanalyzer: 1 file\(s\) past the per-file time bound, not analyzed in this check; 1 still running in the background/);
    let next = first;
    for (let i = 0; i < 100 && next.notAnalyzed.length; i++) {
      await new Promise((r) => setTimeout(r, 200));
      next = await gccAnalyzer.analyze(ctx);
    }
    expect(next.notAnalyzed).toEqual([]);
    expect(next.pending).toBeUndefined();
    expect(at(next, 'src/main.c', 'CWE-416')).toContain(10);
  });
});
