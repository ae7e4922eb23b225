/*
 * What reading a file a repository supplies may answer, and the wording of each refusal: shared by
 * the daemon's asynchronous reader (shared/repo-files.ts) and the client's synchronous one
 * (shared/repo-files-sync.ts), so both refuse the same files the same way.
 */

/** Why a file was refused, for callers that word it their own way; `reason` is a ready one-liner. */
export type RefusedBecause = 'symlink' | 'not-a-file' | 'too-large' | 'unreadable';

export type RepoFileRead =
  | { kind: 'absent' }
  | { kind: 'ok'; text: string; bytes: number; mtimeMs: number }
  | { kind: 'refused'; because: RefusedBecause; reason: string; code?: string };

export const REPO_FILE_CAPS = {
  config: 256 * 1024,
  knowledge: 4 * 1024 * 1024,
  baseline: 8 * 1024 * 1024,
  ignore: 64 * 1024,
} as const;

export function human(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(0)} MiB` : `${Math.round(n / 1024)} KiB`;
}

export const symlink = (rel: string): RepoFileRead => ({ kind: 'refused', because: 'symlink', reason: `${rel} is a symbolic link; RefleXGen reads only regular files from a repository` });
export const notAFile = (rel: string): RepoFileRead => ({ kind: 'refused', because: 'not-a-file', reason: `${rel} is not a regular file` });
export const unreadable = (rel: string, code: string | undefined, err: unknown): RepoFileRead => ({
  kind: 'refused',
  because: 'unreadable',
  reason: `${rel}: cannot be read (${code ?? (err as Error).message})`,
  ...(code ? { code } : {}),
});

export const tooLarge = (rel: string, size: number | undefined, maxBytes: number): RepoFileRead => ({
  kind: 'refused',
  because: 'too-large',
  reason: size === undefined ? `${rel} is over the ${human(maxBytes)} limit` : `${rel} is ${human(size)}, over the ${human(maxBytes)} limit`,
});
