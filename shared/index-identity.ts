import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';

/*
 * What a staged check's verdict depends on in git, read from files instead of git processes:
 * the index's entries (mode, object id, stage, flags and path of each, never the stat data git
 * refreshes on every command, so the rewrite `git commit` itself does before running the hook is
 * not a change) and the commit HEAD names. Anything unusual (split index, reftable, an unknown
 * version, a file that does not parse to its end) gives undefined, and callers fall back to git.
 */

export interface IndexIdentity {
  /** The commit HEAD points at, or `unborn:<ref>`. */
  head: string;
  /** SHA-256 over the entries' content fields. */
  entries: string;
  /** The file's last 32 bytes as read (git's checksum): ties this identity to a stamp of the same file. */
  checksum: string;
}

/** Index files of huge monorepos reach tens of MiB; beyond this the hook's git path is used. */
const MAX_INDEX_BYTES = 256 * 2 ** 20;
const MAX_REF_FILE_BYTES = 64 * 2 ** 20;

function readCapped(file: string, cap: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO where a ref or index should be cannot stall the daemon; fstat then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > cap) return undefined;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) return undefined;
      off += n;
    }
    return buf;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** git's offset varint (varint.c): each continuation adds one before shifting. */
function varint(buf: Buffer, pos: number): [number, number] | undefined {
  if (pos >= buf.length) return undefined;
  let c = buf[pos++];
  let val = c & 127;
  while (c & 128) {
    if (pos >= buf.length || val > 2 ** 40) return undefined;
    val += 1;
    c = buf[pos++];
    val = val * 128 + (c & 127);
  }
  return [val, pos];
}

/** Digest of the entries when the whole file parses with object ids of `hashLen` bytes. */
function digestEntries(buf: Buffer, hashLen: number): string | undefined {
  const version = buf.readUInt32BE(4);
  const count = buf.readUInt32BE(8);
  const h = createHash('sha256');
  h.update(`v${hashLen}\0`);
  let pos = 12;
  let prev = '';
  const end = buf.length - hashLen;
  for (let i = 0; i < count; i++) {
    const start = pos;
    const fixed = 40 + hashLen + 2;
    if (pos + fixed > end) return undefined;
    const flags = buf.readUInt16BE(pos + 40 + hashLen);
    let p = pos + fixed;
    let ext = 0;
    if (flags & 0x4000) {
      if (version < 3 || p + 2 > end) return undefined;
      ext = buf.readUInt16BE(p);
      p += 2;
    }
    let path: string;
    if (version === 4) {
      const v = varint(buf, p);
      if (!v) return undefined;
      const [strip, q] = v;
      const nul = buf.indexOf(0, q);
      if (nul < 0 || nul >= end || strip > prev.length) return undefined;
      path = prev.slice(0, prev.length - strip) + buf.toString('latin1', q, nul);
      pos = nul + 1;
    } else {
      const nul = buf.indexOf(0, p);
      if (nul < 0 || nul >= end) return undefined;
      path = buf.toString('latin1', p, nul);
      // Entries are NUL-padded to a multiple of 8 bytes, with at least one NUL.
      pos = start + ((nul - start + 8) & ~7);
    }
    // The flags carry the name's length (0xFFF for longer names): a cheap proof that the bytes line up.
    const nameLen = flags & 0xfff;
    if (nameLen !== Math.min(Buffer.byteLength(path, 'latin1'), 0xfff)) return undefined;
    prev = path;
    // mode (4 bytes at 24) and the object id; the stage bits of flags; intent-to-add and skip-worktree.
    h.update(buf.subarray(start + 24, start + 28));
    h.update(buf.subarray(start + 40, start + 40 + hashLen));
    h.update(Buffer.from([(flags >> 12) & 3, (ext >> 8) & 0xff]));
    h.update(path, 'latin1');
    h.update('\0');
  }
  // Extensions: 4-byte signature, 4-byte size; they must end exactly where the checksum starts.
  while (pos < end) {
    if (pos + 8 > end) return undefined;
    const sig = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32BE(pos + 4);
    if (!/^[A-Za-z]{4}$/.test(sig)) return undefined;
    // Lower case marks an extension a reader must understand: a split index (`link`) keeps entries
    // in another file, so this digest would miss them. A sparse index's `sdir` only marks directory
    // entries, which are hashed like the others.
    if (sig[0] >= 'a' && sig[0] <= 'z' && sig !== 'sdir') return undefined;
    pos += 8 + size;
  }
  return pos === end ? h.digest('hex') : undefined;
}

/** The content digest of an index file's entries, or undefined when it is not a format read here. */
export function indexEntriesDigest(buf: Buffer): string | undefined {
  if (buf.length < 12 + 20 || buf.toString('latin1', 0, 4) !== 'DIRC') return undefined;
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) return undefined;
  // The index does not say which hash the repository uses; only one length parses to the end.
  return digestEntries(buf, 20) ?? (buf.length >= 12 + 32 ? digestEntries(buf, 32) : undefined);
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function commonDir(gitDir: string): string {
  const f = readCapped(resolve(gitDir, 'commondir'), 4096);
  return f ? resolve(gitDir, f.toString('utf8').trim()) : gitDir;
}

/** HEAD as a commit id (or `unborn:<ref>`), following loose refs and packed-refs; undefined when unsure. */
export function resolveHead(gitDir: string): string | undefined {
  const common = commonDir(gitDir);
  // The reftable backend stores refs in binary tables: leave those to git.
  if (existsSync(resolve(common, 'reftable'))) return undefined;
  let content = readCapped(resolve(gitDir, 'HEAD'), 4096)?.toString('utf8').trim();
  for (let depth = 0; depth < 5 && content !== undefined; depth++) {
    if (OID.test(content)) return content;
    const m = /^ref: (refs\/[^\0\s]+)$/.exec(content);
    if (!m || m[1].split('/').some((c) => c === '..' || c === '.' || c === '')) return undefined;
    const ref = m[1];
    // Branches live in the common dir; per-worktree refs (refs/worktree, refs/bisect) in the git dir.
    const base = /^refs\/(worktree|bisect|rewritten)\//.test(ref) ? gitDir : common;
    const loose = readCapped(resolve(base, ref), 4096);
    if (loose) {
      content = loose.toString('utf8').trim();
      continue;
    }
    const packed = readCapped(resolve(common, 'packed-refs'), MAX_REF_FILE_BYTES)?.toString('utf8');
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`) && !l.startsWith('#') && !l.startsWith('^'));
    if (line) {
      const oid = line.slice(0, line.indexOf(' '));
      return OID.test(oid) ? oid : undefined;
    }
    return `unborn:${ref}`;
  }
  return undefined;
}

/** The identity of what `git commit` would record from this index on top of HEAD. */
export function indexIdentity(gitDir: string, indexFile: string): IndexIdentity | undefined {
  const head = resolveHead(gitDir);
  if (!head) return undefined;
  const buf = readCapped(indexFile, MAX_INDEX_BYTES);
  if (!buf) return undefined;
  const entries = indexEntriesDigest(buf);
  if (!entries) return undefined;
  return { head, entries, checksum: buf.subarray(buf.length - 32).toString('hex') };
}

export function sameIdentity(a: IndexIdentity | undefined, b: IndexIdentity | undefined): boolean {
  return !!a && !!b && a.head === b.head && a.entries === b.entries;
}
