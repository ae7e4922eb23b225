import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, stopDaemon, TestRepo } from '../helpers/repo.js';
import { ARR_C, BAD_C, MAIN_C, UTIL_H } from '../helpers/c-project.js';

/*
 * C/C++ projects through the real hook, real git, the real daemon and the real gcc/clang/cppcheck:
 * headers under include/ (with and without compile_commands.json), a commit with a file whose
 * header is missing, a hostile compile_commands.json, and a repository config that still uses the
 * old free-form `args`.
 */


let home: string;
const work = mkdtempSync(join(tmpdir(), 'rg-e2e-c-'));
beforeAll(() => {
  home = makeHome();
});
afterAll(() => {
  stopDaemon(home);
  rmSync(work, { recursive: true, force: true });
});

/** A repository whose header is committed and whose source is staged; only gcc and clang run, so the findings are theirs. */
function project(): TestRepo {
  const repo = new TestRepo(home);
  repo.write('.reflexgenrc.json', JSON.stringify({ analyzers: { builtin: false, cppcheck: false } }));
  repo.write('include/util.h', UTIL_H);
  repo.add('.reflexgenrc.json', 'include/util.h');
  repo.commitNoVerify();
  return repo;
}

describe('a use-after-free that needs include/util.h blocks the commit', () => {
  it('with compile_commands.json', () => {
    const repo = project();
    repo.write('build/compile_commands.json', JSON.stringify([{ directory: join(repo.dir, 'build'), file: '../src/main.c', command: 'cc -I../include -c ../src/main.c' }]));
    repo.write('src/main.c', MAIN_C);
    repo.add('src/main.c');
    const r = repo.commit('uaf');
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/src\/main\.c:10\b.*CWE-416.*\((gcc, clang|clang, gcc)\)/);
    expect(r.stderr).not.toMatch(/not analyzed/);
    expect(repo.commitCount()).toBe(1);
  });

  it('without one (include dir inferred)', () => {
    const repo = project();
    repo.write('src/main.c', MAIN_C);
    repo.add('src/main.c');
    const r = repo.commit('uaf');
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/src\/main\.c:10\b.*CWE-416.*\((gcc, clang|clang, gcc)\)/);
    expect(repo.commitCount()).toBe(1);
  });
});

describe('a file with a missing header', () => {
  it('does not cost the other files their gcc, clang and cppcheck findings, and is listed as not analyzed', () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ analyzers: { builtin: false } }));
    repo.write('include/util.h', UTIL_H);
    repo.add('.reflexgenrc.json', 'include/util.h');
    repo.commitNoVerify();
    repo.write('src/main.c', MAIN_C);
    repo.write('src/arr.c', ARR_C);
    repo.write('src/bad.c', BAD_C);
    repo.add('src/main.c', 'src/arr.c', 'src/bad.c');
    const r = repo.cli(['check', '--staged', '--format', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { findings: Array<{ file: string; startLine: number; tool: string; alsoReportedBy?: string[]; cwe: string[] }>; analyzers: Array<{ id: string; state: string; detail?: string }> };
    const tools = (file: string, line: number) => out.findings.filter((f) => f.file === file && f.startLine === line).flatMap((f) => [f.tool, ...(f.alsoReportedBy ?? [])]);
    expect(tools('src/main.c', 10), r.stdout).toEqual(expect.arrayContaining(['gcc', 'clang']));
    expect(tools('src/arr.c', 3), r.stdout).toContain('cppcheck');
    const gcc = out.analyzers.find((a) => a.id === 'gcc')!;
    const clang = out.analyzers.find((a) => a.id === 'clang')!;
    expect(gcc.detail).toBe('src/bad.c: not analyzed: src/bad.c:1: fatal error: nothere.h: No such file or directory');
    expect(clang.detail).toBe("src/bad.c: not analyzed: src/bad.c:1:10: fatal error: 'nothere.h' file not found");

    const c = repo.commit('three files');
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/src\/bad\.c.*nothere\.h/);
    expect(repo.commitCount()).toBe(1);
  });
});

describe('the repository chooses no tool options', () => {
  it('a hostile compile_commands.json (-o, -MF, -fplugin=, -wrapper, @file) writes nothing and runs nothing, and the check still finds the bug', () => {
    const marks = mkdtempSync(join(work, 'marks-'));
    writeFileSync(join(marks, 'rsp'), `-MD -MF ${join(marks, 'from-rsp.d')}\n`);
    mkdirSync(join(marks, 'bin'));
    for (const t of ['cc1', 'as', 'collect2']) {
      writeFileSync(join(marks, 'bin', t), `#!/bin/sh\ntouch ${join(marks, `ran-${t}`)}\n`);
      chmodSync(join(marks, 'bin', t), 0o755);
    }
    const repo = project();
    const hostile = [
      'cc', '-I../include', '-o', join(marks, 'out.o'), '-MD', '-MF', join(marks, 'dep.d'), `-fplugin=${join(marks, 'evil.so')}`,
      '-wrapper', `/bin/sh,-c,touch ${join(marks, 'ran-wrapper')}`, `@${join(marks, 'rsp')}`, `-B${join(marks, 'bin')}`, '-c', '../src/main.c',
    ];
    repo.write('build/compile_commands.json', JSON.stringify([{ directory: join(repo.dir, 'build'), file: '../src/main.c', arguments: hostile }]));
    repo.write('src/main.c', MAIN_C);
    repo.add('src/main.c');
    const before = readdirSync(marks).sort();
    const r = repo.commit('uaf');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/src\/main\.c:10\b.*CWE-416/);
    expect(readdirSync(marks).sort()).toEqual(before);
    expect(readdirSync(join(repo.dir, 'build'))).toEqual(['compile_commands.json']);
    expect(readdirSync(join(repo.dir, 'src'))).toEqual(['main.c']);
  });

  it('a repository config with the old free-form args is rejected in one line naming the replacement keys', () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ analyzers: { clang: { args: ['-MD', '-MF', join(work, 'bashrc')] } } }));
    repo.write('src/main.c', MAIN_C);
    repo.add('src/main.c');
    const r = repo.cli(['check', '--staged']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'reflexgen: .reflexgenrc.json: analyzers.clang.args: free-form tool arguments are not accepted; use includeDirs, defines, std, timeoutMs, fileTimeoutMs (codeql: suite)',
    );
    expect(readdirSync(work).includes('bashrc')).toBe(false);
  });
});
