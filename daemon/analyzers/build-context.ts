import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { C_STANDARDS, DEFINE_RE, analyzerArgs, type AnalyzerId, type AnalyzerOptions } from '../../shared/config.js';
import { runTool } from './process.js';
import type { AnalyzeContext, SourceFile } from './types.js';
import { readRepoFile, type RefusedBecause } from '../../shared/repo-files.js';

/*
 * How the project's own compiler sees a file: include directories, macros, language standard.
 *
 * The source is the repository's compile_commands.json (the convention clangd, clang-tidy and
 * CodeQL follow; at the root or in build/) when it has one, else directories inferred from the
 * headers the file includes. Either way the repository is untrusted input: only a closed
 * vocabulary survives (-I/-isystem/-iquote confined to the repository, -D/-U matching a strict
 * pattern, -std from a fixed list, -x c|c++). Output files, dependency files, plugins, wrappers,
 * response files, -f/-B/-specs options never reach a command line. Directories are confined by
 * realpath, so a symlink inside the repository cannot point the compiler elsewhere.
 */

export const COMPILE_DB_MAX_BYTES = 8 * 1024 * 1024;
const COMPILE_DB_MAX_ENTRIES = 100_000;
const COMPILE_DB_NAMES = ['compile_commands.json', 'build/compile_commands.json'];
const INDEX_MAX_DIRENTS = 60_000;
const INDEX_MAX_DEPTH = 16;
const INDEX_TTL_MS = 5_000;
const HEADER_MAX_BYTES = 1024 * 1024;
const HEADERS_FOLLOWED = 64;
const MAX_INCLUDE_DIRS = 32;
const HEADER_EXT = /\.(h|hh|hpp|hxx|h\+\+|inc|inl|ipp|tcc|def)$/i;

export type Std = (typeof C_STANDARDS)[number];
type IncludeKind = 'I' | 'isystem' | 'iquote';

/** One file's build settings, already validated; dirs are repo-relative ('' is the root). */
export interface FileBuild {
  includes: Array<{ kind: IncludeKind; dir: string }>;
  defines: string[];
  undefs: string[];
  std?: Std;
  lang: 'c' | 'c++';
  /** Where the settings came from, for reports: "compile_commands.json", "inferred", ... */
  origin: string;
}

export interface BuildContext {
  /** The repository's real path: include dirs point into it for headers that are not staged. */
  repo: string;
  /** The snapshot: staged headers take precedence over the work tree's. */
  snapshot: string;
  /** compile_commands.json used, repo-relative. */
  database?: string;
  /** One line per thing left out of the repository's build description (for reports and tests). */
  notes: string[];
  forFile(f: SourceFile): Promise<FileBuild>;
}

const STD_SET = new Set<string>(C_STANDARDS);
const UNDEF_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function inside(root: string, p: string): string | undefined {
  if (p === root) return '';
  if (!p.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  return relative(root, p).split(sep).join('/');
}

/** Realpath of `abs` as a repo-relative directory, or undefined when it is not a directory inside the repository. */
async function confineDir(repo: string, abs: string): Promise<string | undefined> {
  try {
    const real = await realpath(abs);
    const rel = inside(repo, real);
    if (rel === undefined) return undefined;
    return (await stat(real)).isDirectory() ? rel : undefined;
  } catch {
    return undefined;
  }
}

/** How a refused compilation database is named in the notes. */
function refusedNote(because: RefusedBecause, code?: string): string {
  if (because === 'symlink') return 'is a symlink: ignored';
  if (because === 'not-a-file') return 'is not a regular file: ignored';
  if (because === 'too-large') return `is larger than ${COMPILE_DB_MAX_BYTES} bytes: ignored`;
  return `cannot be read (${code ?? 'error'})`;
}

/** Splits a compile command the way a POSIX shell would split words (quotes and backslashes; nothing is expanded). */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i];
    if (q === "'") {
      if (c === "'") q = undefined;
      else cur += c;
    } else if (q === '"') {
      if (c === '"') q = undefined;
      else if (c === '\\' && i + 1 < cmd.length && '"\\$`\n'.includes(cmd[i + 1])) cur += cmd[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}

/** Options of gcc/clang that take the next word as their value: that word is skipped, never read as a flag or a file. */
const TAKES_VALUE = new Set([
  '-o', '-MF', '-MT', '-MQ', '-include', '-imacros', '-idirafter', '-iprefix', '-iwithprefix', '-iwithprefixbefore',
  '-isysroot', '--sysroot', '-Xclang', '-Xlinker', '-Xassembler', '-Xpreprocessor', '-Xanalyzer', '-target', '--target',
  '-arch', '-L', '-l', '-u', '-z', '-T', '-aux-info', '-dumpbase', '-dumpbase-ext', '-dumpdir', '-wrapper', '-specs',
  '-B', '-main-file-name', '-MJ', '--serialize-diagnostics', '-ivfsoverlay', '-fplugin', '-load',
]);

export interface ReducedFlags {
  includes: Array<{ kind: IncludeKind; path: string }>;
  defines: string[];
  undefs: string[];
  std?: Std;
  lang?: 'c' | 'c++';
  /** How many words were dropped (output files, plugins, -f..., response files, unknown options). */
  dropped: number;
}

/**
 * Keeps only the safe vocabulary of one compile command (argv without the compiler). Include
 * paths are returned as written (relative to the entry's directory); the caller confines them.
 */
export function reduceFlags(argv: readonly string[]): ReducedFlags {
  const r: ReducedFlags = { includes: [], defines: [], undefs: [], dropped: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (flag: string): string | undefined => {
      if (a === flag) return argv[++i];
      return a.startsWith(flag) ? a.slice(flag.length) : undefined;
    };
    if (a.startsWith('-isystem') || a.startsWith('-iquote') || (a.startsWith('-I') && a !== '-I-')) {
      const kind: IncludeKind = a.startsWith('-isystem') ? 'isystem' : a.startsWith('-iquote') ? 'iquote' : 'I';
      const v = value(kind === 'I' ? '-I' : `-${kind}`);
      // '=' and $SYSROOT prefixes name the sysroot, which is never the repository.
      if (v && !v.startsWith('=') && !v.startsWith('$') && !v.includes('\0')) r.includes.push({ kind, path: v });
      else r.dropped++;
    } else if (a.startsWith('-D')) {
      const v = value('-D');
      if (v && DEFINE_RE.test(v)) r.defines.push(v);
      else r.dropped++;
    } else if (a.startsWith('-U')) {
      const v = value('-U');
      if (v && UNDEF_RE.test(v)) r.undefs.push(v);
      else r.dropped++;
    } else if (a.startsWith('-std=')) {
      const v = a.slice(5);
      if (STD_SET.has(v)) r.std = v as Std;
      else r.dropped++;
    } else if (a === '-x' || (a.startsWith('-x') && a.length > 2)) {
      const v = value('-x');
      if (v === 'c' || v === 'c-header') r.lang = 'c';
      else if (v === 'c++' || v === 'c++-header') r.lang = 'c++';
      else r.dropped++;
    } else {
      if (TAKES_VALUE.has(a)) i++;
      // Everything else, files included, is dropped: the analyzer names the one file itself.
      if (a.startsWith('-') || a.startsWith('@')) r.dropped++;
    }
  }
  return r;
}

interface DbEntry {
  flags: ReducedFlags;
  /** The entry's directory: relative include paths are resolved against it. */
  directory: string;
}

interface Database {
  key: string;
  rel: string;
  byFile: Map<string, DbEntry>;
  /** Repo-relative directory -> the first entry of a file there (for files the database does not list, e.g. headers). */
  byDir: Map<string, DbEntry>;
  first?: DbEntry;
  notes: string[];
}

const dbCache = new Map<string, Database>();

async function loadDatabase(repo: string, logical: string): Promise<{ db?: Database; notes: string[] }> {
  const notes: string[] = [];
  for (const name of COMPILE_DB_NAMES) {
    const abs = join(repo, name);
    // The build/ directory itself must not be a link out of the repository either.
    if (name.includes('/') && (await confineDir(repo, dirname(abs))) === undefined) continue;
    const got = await readRepoFile(repo, name, COMPILE_DB_MAX_BYTES);
    if (got.kind === 'refused') {
      notes.push(`${name} ${refusedNote(got.because, got.code)}`);
      continue;
    }
    if (got.kind === 'absent') continue;
    const key = `${abs}\0${got.mtimeMs}\0${got.bytes}`;
    const hit = dbCache.get(key);
    if (hit) return { db: hit, notes };
    let raw: unknown;
    try {
      raw = JSON.parse(got.text);
    } catch {
      notes.push(`${name} is not valid JSON: ignored`);
      continue;
    }
    if (!Array.isArray(raw)) {
      notes.push(`${name} is not a JSON array: ignored`);
      continue;
    }
    const db: Database = { key, rel: name, byFile: new Map(), byDir: new Map(), notes: [] };
    let bad = 0;
    let dropped = 0;
    for (const e of raw.slice(0, COMPILE_DB_MAX_ENTRIES) as unknown[]) {
      if (!e || typeof e !== 'object') {
        bad++;
        continue;
      }
      const { directory, file, command, arguments: args } = e as Record<string, unknown>;
      if (typeof directory !== 'string' || typeof file !== 'string') {
        bad++;
        continue;
      }
      let argv: string[];
      if (Array.isArray(args) && args.every((x) => typeof x === 'string')) argv = args as string[];
      else if (typeof command === 'string' && command.length <= 256 * 1024) argv = splitCommand(command);
      else {
        bad++;
        continue;
      }
      const dir = resolve(dirname(abs), directory);
      // Build systems write the path as they saw it: the real one or the one through a symlink.
      const target = resolve(dir, file);
      const rel = inside(repo, target) ?? inside(logical, target);
      if (rel === undefined) continue;
      const flags = reduceFlags(argv.slice(1));
      dropped += flags.dropped;
      const entry: DbEntry = { flags, directory: dir };
      if (!db.byFile.has(rel)) db.byFile.set(rel, entry);
      const d = posix.dirname(rel);
      if (!db.byDir.has(d)) db.byDir.set(d, entry);
      db.first ??= entry;
    }
    if (bad) db.notes.push(`${name}: ${bad} malformed entr${bad === 1 ? 'y' : 'ies'} ignored`);
    if (dropped) db.notes.push(`${name}: ${dropped} option(s) outside the safe vocabulary (-I -isystem -iquote -D -U -std -x) ignored`);
    if (dbCache.size >= 8) dbCache.delete(dbCache.keys().next().value!);
    dbCache.set(key, db);
    return { db, notes };
  }
  return { notes };
}

interface HeaderIndex {
  at: number;
  /** basename -> repo-relative paths */
  byName: Map<string, string[]>;
}
const indexCache = new Map<string, HeaderIndex>();

/** Header files of the repository by basename: a bounded walk that skips hidden dirs, node_modules and symlinks. */
async function headerIndex(repo: string): Promise<HeaderIndex> {
  const hit = indexCache.get(repo);
  if (hit && Date.now() - hit.at < INDEX_TTL_MS) return hit;
  const byName = new Map<string, string[]>();
  let budget = INDEX_MAX_DIRENTS;
  const queue: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  while (queue.length && budget > 0) {
    const { rel, depth } = queue.shift()!;
    let ents;
    try {
      ents = await readdir(join(repo, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const ent of ents) {
      if (--budget <= 0) break;
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        if (depth < INDEX_MAX_DEPTH && !ent.name.startsWith('.') && ent.name !== 'node_modules') queue.push({ rel: p, depth: depth + 1 });
      } else if (ent.isFile() && HEADER_EXT.test(ent.name)) {
        const list = byName.get(ent.name);
        if (list) list.push(p);
        else byName.set(ent.name, [p]);
      }
    }
  }
  const idx = { at: Date.now(), byName };
  if (indexCache.size >= 16) indexCache.delete(indexCache.keys().next().value!);
  indexCache.set(repo, idx);
  return idx;
}

let systemDirs: Promise<string[]> | undefined;

/**
 * The compiler's own include search list (`gcc -E -v`), once per daemon: a header found there is
 * the system's, and a same-named file in the repository (hiredis' adapters/poll.h) must not shadow it.
 */
function systemIncludeDirs(): Promise<string[]> {
  systemDirs ??= runTool('gcc', ['-xc', '-E', '-v', '-'], { timeoutMs: 10_000, input: '' })
    .then((r) => {
      const lines = r.stderr.split('\n');
      const start = lines.findIndex((l) => l.startsWith('#include <...> search starts here'));
      const end = lines.findIndex((l) => l.startsWith('End of search list'));
      const dirs = start >= 0 && end > start ? lines.slice(start + 1, end).map((l) => l.trim()).filter((l) => l.startsWith('/')) : [];
      return dirs.length ? dirs : ['/usr/local/include', '/usr/include'];
    })
    .catch(() => ['/usr/local/include', '/usr/include']);
  return systemDirs;
}

async function isSystemHeader(spec: string): Promise<boolean> {
  for (const d of await systemIncludeDirs()) {
    try {
      await stat(join(d, spec));
      return true;
    } catch {
      /* not in this one */
    }
  }
  return false;
}

const INCLUDE_RE = /^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]{1,255})[>"]/gm;

export function includesOf(source: string): Array<{ spec: string; quoted: boolean }> {
  const out: Array<{ spec: string; quoted: boolean }> = [];
  for (const m of source.matchAll(INCLUDE_RE)) {
    if (out.length >= 256) break;
    out.push({ spec: m[2].trim(), quoted: m[1] === '"' });
  }
  return out;
}

function commonPrefixLen(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return n;
}

/**
 * Include directories for a file without a build description: for each header it includes that
 * does not sit next to it, the directory that makes the include resolve (the candidate nearest to
 * the including file wins), following the headers found, a bounded number of them.
 */
async function inferIncludeDirs(repo: string, f: SourceFile, staged: ReadonlySet<string>): Promise<string[]> {
  const idx = await headerIndex(repo);
  const dirs: string[] = [];
  const seen = new Set<string>();
  const queue: Array<{ path: string; content: string }> = [{ path: f.path, content: f.content }];
  let followed = 0;
  while (queue.length && dirs.length < MAX_INCLUDE_DIRS) {
    const cur = queue.shift()!;
    const curDir = posix.dirname(cur.path);
    for (const inc of includesOf(cur.content)) {
      const spec = posix.normalize(inc.spec);
      if (spec.startsWith('/') || spec.startsWith('../') || spec === '..') continue;
      const exists = (p: string) => (idx.byName.get(posix.basename(p)) ?? []).includes(p) || staged.has(p);
      const local = curDir === '.' ? spec : `${curDir}/${spec}`;
      let found: string | undefined;
      if (inc.quoted && exists(local)) found = local;
      else if (await isSystemHeader(spec)) continue;
      else {
        const cands = [...(idx.byName.get(posix.basename(spec)) ?? []), ...[...staged].filter((p) => posix.basename(p) === posix.basename(spec))].filter(
          (p) => p === spec || p.endsWith(`/${spec}`),
        );
        if (cands.length === 0) continue;
        cands.sort((a, b) => commonPrefixLen(b, f.path) - commonPrefixLen(a, f.path) || a.length - b.length);
        found = cands[0];
        const dir = found.slice(0, found.length - spec.length).replace(/\/$/, '');
        if (!dirs.includes(dir)) dirs.push(dir);
      }
      if (found && !seen.has(found) && followed < HEADERS_FOLLOWED) {
        seen.add(found);
        followed++;
        const got = await readRepoFile(repo, found, HEADER_MAX_BYTES);
        if (got.kind === 'ok') queue.push({ path: found, content: got.text });
      }
    }
  }
  return dirs.slice(0, MAX_INCLUDE_DIRS);
}

/** The build context for one analyzer run; cheap to create (the database and header index are cached). */
export async function buildContext(ctx: AnalyzeContext, tool: AnalyzerId): Promise<BuildContext> {
  const opts: AnalyzerOptions = analyzerArgs(ctx.config, tool);
  const logical = resolve(ctx.repoRoot ?? ctx.root);
  const repo = await realpath(logical).catch(() => logical);
  const { db, notes } = await loadDatabase(repo, logical);
  if (db) notes.push(...db.notes);
  const configured: string[] = [];
  for (const d of opts.includeDirs) {
    const rel = await confineDir(repo, join(repo, d));
    if (rel === undefined) notes.push(`includeDirs: "${d}" is not a directory inside the repository: ignored`);
    else configured.push(rel);
  }
  const staged = new Set(ctx.files.map((f) => f.path));
  const confineAll = async (dir: string, list: ReducedFlags['includes']) => {
    const out: FileBuild['includes'] = [];
    for (const inc of list) {
      const rel = await confineDir(repo, isAbsolute(inc.path) ? inc.path : resolve(dir, inc.path));
      if (rel !== undefined) out.push({ kind: inc.kind, dir: rel });
    }
    return out;
  };
  return {
    repo,
    snapshot: ctx.root,
    database: db?.rel,
    notes,
    async forFile(f: SourceFile): Promise<FileBuild> {
      const lang = f.language === 'cpp' ? 'c++' : 'c';
      const b: FileBuild = { includes: configured.map((dir) => ({ kind: 'I' as const, dir })), defines: [...opts.defines], undefs: [], std: opts.std, lang, origin: 'defaults' };
      const own = db?.byFile.get(f.path);
      const entry = own ?? db?.byDir.get(posix.dirname(f.path)) ?? db?.first;
      if (entry) {
        b.includes.push(...(await confineAll(entry.directory, entry.flags.includes)));
        b.defines.push(...entry.flags.defines);
        b.undefs.push(...entry.flags.undefs);
        if (entry.flags.std) b.std = entry.flags.std;
        if (own && entry.flags.lang) b.lang = entry.flags.lang;
        b.origin = own ? db!.rel : `${db!.rel} (flags of a neighbour)`;
      }
      if (!own) {
        const inferred = await inferIncludeDirs(repo, f, staged);
        if (inferred.length) b.origin = entry ? `${b.origin} + inferred` : 'inferred';
        for (const dir of inferred) if (!b.includes.some((i) => i.dir === dir)) b.includes.push({ kind: 'I', dir });
      }
      b.includes = b.includes.slice(0, MAX_INCLUDE_DIRS);
      return b;
    },
  };
}

/**
 * The snapshot directory that holds this file, from where the file actually is: ctx.root names
 * the snapshot too, but the file's own path is what the tool will read and resolve siblings from.
 */
export function snapshotOf(bc: BuildContext, f: SourceFile): string {
  const tail = `/${f.path}`;
  return f.absPath.endsWith(tail) ? f.absPath.slice(0, -tail.length) || '/' : bc.snapshot;
}

/** gcc >= 9 and clang >= 9 know the 2x/2b spellings; the 23 ones only newer releases. */
function compilerStd(std: Std): string {
  return std.replace(/^(c|gnu)23$/, '$12x').replace(/^(c\+\+|gnu\+\+)23$/, '$12b');
}

/**
 * gcc/clang flags for one file. Every word is a single option with its value joined (`-I/abs`),
 * so no word of the repository's can stand alone where an option or a file is expected. Each
 * include dir appears twice: the snapshot's copy (staged headers) first, then the work tree's.
 * The file's own work-tree directory is searched for quoted includes whose header is not staged.
 */
export function compilerFlags(ctx: BuildContext, f: SourceFile, b: FileBuild, snapshot = snapshotOf(ctx, f)): string[] {
  const out: string[] = ['-x', b.lang, `-std=${compilerStd(b.std ?? (b.lang === 'c++' ? 'gnu++17' : 'gnu11'))}`];
  const ownDir = posix.dirname(f.path);
  out.push(`-iquote${join(ctx.repo, ownDir === '.' ? '' : ownDir)}`);
  for (const inc of b.includes) {
    const flag = `-${inc.kind}`;
    if (snapshot !== ctx.repo) out.push(`${flag}${join(snapshot, inc.dir)}`);
    out.push(`${flag}${join(ctx.repo, inc.dir)}`);
  }
  for (const d of b.defines) out.push(`-D${d}`);
  for (const u of b.undefs) out.push(`-U${u}`);
  return out;
}

/** cppcheck knows fewer standards than the compilers; map to the nearest it has. */
function cppcheckStd(std: Std | undefined, lang: 'c' | 'c++'): string | undefined {
  if (!std) return undefined;
  if (lang === 'c') {
    if (/^(c|gnu)(89|90)$/.test(std)) return 'c89';
    if (/^(c|gnu)99$/.test(std)) return 'c99';
    return std.startsWith('c++') || std.startsWith('gnu++') ? undefined : 'c11';
  }
  const m = /^(?:c|gnu)\+\+(\w+)$/.exec(std);
  if (!m) return undefined;
  return { '98': 'c++03', '03': 'c++03', '11': 'c++11', '14': 'c++14', '17': 'c++17' }[m[1]] ?? 'c++20';
}

/** cppcheck's spelling of the same settings (it has no -isystem/-iquote: all become -I). */
export function cppcheckFlags(ctx: BuildContext, f: SourceFile, b: FileBuild, snapshot = snapshotOf(ctx, f)): string[] {
  const out: string[] = [`--language=${b.lang}`];
  const std = cppcheckStd(b.std, b.lang);
  if (std) out.push(`--std=${std}`);
  const ownDir = posix.dirname(f.path);
  const dirs = [join(ctx.repo, ownDir === '.' ? '' : ownDir)];
  for (const inc of b.includes) {
    if (snapshot !== ctx.repo) dirs.push(join(snapshot, inc.dir));
    dirs.push(join(ctx.repo, inc.dir));
  }
  // cppcheck wants the trailing slash on include paths it joins itself.
  for (const d of [...new Set(dirs)]) out.push(`-I${d.endsWith('/') ? d : `${d}/`}`);
  for (const d of b.defines) out.push(`-D${d}`);
  for (const u of b.undefs) out.push(`-U${u}`);
  return out;
}

/** The repo-relative path of a file as a command-line word that can never read as an option. */
export function asOperand(path: string): string {
  return path.startsWith('/') ? path : `./${path}`;
}
