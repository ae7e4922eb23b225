import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildContext, compilerFlags, cppcheckFlags, reduceFlags, splitCommand, COMPILE_DB_MAX_BYTES } from '../../daemon/analyzers/build-context.js';
import type { AnalyzeContext, SourceFile } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';
import { treeWith } from '../helpers/c-project.js';

/*
 * The build context reads untrusted repository files (compile_commands.json, headers) and turns
 * them into compiler flags: only the safe vocabulary survives, every directory is confined to the
 * repository by realpath, and the database file itself must be a small regular file.
 */

const work = mkdtempSync(join(tmpdir(), 'rg-bctx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const repoWith = (files: Record<string, string>) => treeWith(work, files);


function ctx(repo: string, paths: string[], raw: object = {}): AnalyzeContext {
  const snap = mkdtempSync(join(work, 'snap-'));
  const files: SourceFile[] = paths.map((p) => {
    const content = execFileSync('cat', [join(repo, p)], { encoding: 'utf8' });
    mkdirSync(dirname(join(snap, p)), { recursive: true });
    writeFileSync(join(snap, p), content);
    return { path: p, absPath: join(snap, p), language: p.endsWith('.cpp') ? 'cpp' : 'c', content };
  });
  return { root: snap, repoRoot: repo, files, config: parseConfig(raw), timeoutMs: 30_000 };
}

describe('reducing a compile command to the safe vocabulary', () => {
  it('splits like a shell (quotes, backslashes) without expanding anything', () => {
    expect(splitCommand(`cc -DMSG="a b" -I'inc dir' -DX=\\$HOME $(id) -c x.c`)).toEqual(['cc', '-DMSG=a b', '-Iinc dir', '-DX=$HOME', '$(id)', '-c', 'x.c']);
  });

  it('keeps -I/-isystem/-iquote/-D/-U/-std/-x and drops output, dependency, plugin, wrapper, response-file and -f options', () => {
    const r = reduceFlags([
      '-Iinclude', '-I', 'src', '-isystem', 'third', '-iquotelocal', '-DA=1', '-D', 'B', '-UC', '-std=c99', '-x', 'c',
      '-o', '/tmp/out.o', '-MD', '-MF', '/tmp/dep.d', '-MT', 'target', '-fplugin=/tmp/evil.so', '-fplugin-arg-evil-x=y',
      '-wrapper', '/bin/sh,-c,touch /tmp/pwn', '@/tmp/rsp', '-B/tmp/bin', '-B', '/tmp/bin2', '-specs=/tmp/s', '-Xclang', '-load',
      '-include', '/etc/passwd', '-I=/sysroot', '-I$SYSROOT/x', '-DBAD=$(id)', '-std=gnu++1z', '-c', 'x.c',
    ]);
    expect(r.includes).toEqual([
      { kind: 'I', path: 'include' },
      { kind: 'I', path: 'src' },
      { kind: 'isystem', path: 'third' },
      { kind: 'iquote', path: 'local' },
    ]);
    expect(r.defines).toEqual(['A=1', 'B']);
    expect(r.undefs).toEqual(['C']);
    expect(r.std).toBe('c99');
    expect(r.lang).toBe('c');
    expect(r.dropped).toBeGreaterThanOrEqual(15);
  });
});

describe('compile_commands.json', () => {
  const UTIL = '#define RELEASE(p) free(p)\n';
  const MAIN = '#include <stdlib.h>\n#include "util.h"\nint main(void) { return 0; }\n';

  it('uses the entry of the file (root or build/), confining include dirs to the repository', async () => {
    const repo = repoWith({ 'include/util.h': UTIL, 'src/main.c': MAIN, 'third/t.h': '', 'build/.keep': '' });
    const outside = mkdtempSync(join(work, 'outside-'));
    symlinkSync(outside, join(repo, 'escape'));
    writeFileSync(
      join(repo, 'build', 'compile_commands.json'),
      JSON.stringify([
        {
          directory: join(repo, 'build'),
          file: '../src/main.c',
          arguments: ['cc', '-I../include', '-isystem', '../third', '-I/etc', '-I../..', '-I../escape', '-DFOO=1', '-std=c99', '-o', 'main.o', '-c', '../src/main.c'],
        },
      ]),
    );
    const c = ctx(repo, ['src/main.c']);
    const bc = await buildContext(c, 'gcc');
    expect(bc.database).toBe('build/compile_commands.json');
    const b = await bc.forFile(c.files[0]);
    expect(b.origin).toBe('build/compile_commands.json');
    // /etc, the parent of the repository and a symlink out of it are gone; the rest is repo-relative.
    expect(b.includes).toEqual([
      { kind: 'I', dir: 'include' },
      { kind: 'isystem', dir: 'third' },
    ]);
    const flags = compilerFlags(bc, c.files[0], b);
    expect(flags).toEqual([
      '-x', 'c', '-std=c99', `-iquote${join(bc.repo, 'src')}`,
      `-I${join(c.root, 'include')}`, `-I${join(bc.repo, 'include')}`,
      `-isystem${join(c.root, 'third')}`, `-isystem${join(bc.repo, 'third')}`,
      '-DFOO=1',
    ]);
    // Every word is one joined option: nothing a repository wrote can stand alone as an argument.
    for (const w of flags.slice(2)) expect(w).toMatch(/^-(x|std=|iquote\/|I\/|isystem\/|D[A-Z])/);
    expect(cppcheckFlags(bc, c.files[0], b)).toContain('--std=c99');
  });

  it('refuses a database that is a symlink, too large, or not JSON, and says so', async () => {
    const repo = repoWith({ 'include/util.h': UTIL, 'src/main.c': MAIN });
    symlinkSync('/dev/zero', join(repo, 'compile_commands.json'));
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build', 'compile_commands.json'), Buffer.alloc(COMPILE_DB_MAX_BYTES + 1, 0x20));
    const bc = await buildContext(ctx(repo, ['src/main.c']), 'gcc');
    expect(bc.database).toBeUndefined();
    expect(bc.notes).toEqual(['compile_commands.json is a symlink: ignored', `build/compile_commands.json is larger than ${COMPILE_DB_MAX_BYTES} bytes: ignored`]);
    // Without a database the include dir is inferred from the header the file includes.
    const c = ctx(repo, ['src/main.c']);
    const b = await (await buildContext(c, 'gcc')).forFile(c.files[0]);
    expect(b).toMatchObject({ origin: 'inferred', includes: [{ kind: 'I', dir: 'include' }] });
  });

  it('lends the flags of a file in the same directory to a file the database does not list', async () => {
    const repo = repoWith({ 'include/util.h': UTIL, 'src/main.c': MAIN, 'src/other.c': '#include "util.h"\n' });
    writeFileSync(join(repo, 'compile_commands.json'), JSON.stringify([{ directory: repo, file: 'src/main.c', command: 'cc -Iinclude -DNDEBUG -c src/main.c' }]));
    const c = ctx(repo, ['src/other.c']);
    const b = await (await buildContext(c, 'gcc')).forFile(c.files[0]);
    expect(b.origin).toMatch(/^compile_commands\.json \(flags of a neighbour\)/);
    expect(b.defines).toEqual(['NDEBUG']);
    expect(b.includes).toEqual([{ kind: 'I', dir: 'include' }]);
  });
});

describe('inferred include dirs and configured ones', () => {
  it('finds the directory that makes <proj/x.h> and "x.h" resolve, following included headers, nearest candidate first', async () => {
    const repo = repoWith({
      'lib/include/proj/api.h': '#include "detail/impl.h"\n',
      'lib/include/proj/detail/impl.h': '#include <cfg.h>\n',
      'config/cfg.h': '',
      'app/src/util.h': '',
      'other/util.h': '',
      // A repository file named like a system header must not shadow the system's <stdio.h>.
      'adapters/stdio.h': '',
      'app/src/main.c': '#include <proj/api.h>\n#include "util.h"\n#include "../up.h"\n#include <stdio.h>\n',
    });
    const c = ctx(repo, ['app/src/main.c']);
    const b = await (await buildContext(c, 'gcc')).forFile(c.files[0]);
    // util.h sits next to the file (no dir needed); proj/api.h needs lib/include; its nested cfg.h needs config;
    // <stdio.h> is the system's.
    expect(b.includes.map((i) => i.dir)).toEqual(['lib/include', 'config']);
  });

  it('confines configured includeDirs by realpath: a symlink out of the repository is ignored with a note', async () => {
    const repo = repoWith({ 'inc/a.h': '', 'src/m.c': 'int x;\n' });
    symlinkSync('/usr/include', join(repo, 'sys'));
    const c = ctx(repo, ['src/m.c'], { analyzers: { gcc: { includeDirs: ['inc', 'sys', 'missing'], defines: ['LEVEL=2'], std: 'c23' } } });
    const bc = await buildContext(c, 'gcc');
    expect(bc.notes).toEqual([
      'includeDirs: "sys" is not a directory inside the repository: ignored',
      'includeDirs: "missing" is not a directory inside the repository: ignored',
    ]);
    const b = await bc.forFile(c.files[0]);
    expect(b.includes).toEqual([{ kind: 'I', dir: 'inc' }]);
    const flags = compilerFlags(bc, c.files[0], b);
    // c23 is spelled c2x for the compilers installed here (gcc 12, clang 14).
    expect(flags).toContain('-std=c2x');
    expect(flags).toContain('-DLEVEL=2');
  });

  it('rejects repository config values outside the vocabulary with one line naming the key', () => {
    expect(() => parseConfig({ analyzers: { gcc: { includeDirs: ['../outside'] } } })).toThrow(/^\.reflexgenrc\.json: analyzers\.gcc\.includeDirs\.0: must be a directory inside the repository/);
    expect(() => parseConfig({ analyzers: { gcc: { includeDirs: ['-I/etc'] } } })).toThrow(/includeDirs\.0/);
    expect(() => parseConfig({ analyzers: { clang: { defines: ['X=$(id)'] } } })).toThrow(/^\.reflexgenrc\.json: analyzers\.clang\.defines\.0: must be NAME or NAME=value$/);
    expect(() => parseConfig({ analyzers: { gcc: { std: 'c++1z' } } })).toThrow(/analyzers\.gcc: std: Invalid option/);
    const err = (() => {
      try {
        parseConfig({ analyzers: { clang: { args: ['-MD', '-MF', '/home/u/.bashrc'] } } });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toBe('.reflexgenrc.json: analyzers.clang.args: free-form tool arguments are not accepted; use includeDirs, defines, std, timeoutMs, fileTimeoutMs (codeql: suite)');
    expect(err.split('\n')).toHaveLength(1);
  });
});
