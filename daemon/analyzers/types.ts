import type { Config, AnalyzerId } from '../../shared/config.js';
import type { Finding, Language } from '../../shared/findings.js';

/** One file of the staged snapshot, as an analyzer sees it. */
export interface SourceFile {
  /** Repo-relative path, forward slashes; findings must use it. */
  path: string;
  /** Where the staged content was written inside the snapshot directory. */
  absPath: string;
  language: Language;
  content: string;
  /** The staged blob id, when the content came from git (cache key for per-file results). */
  blob?: string;
}

export interface AnalyzeContext {
  /** The snapshot directory: staged versions of the changed files at their repo-relative paths. */
  root: string;
  files: SourceFile[];
  config: Config;
  /** The user's work tree, for include paths only: analyzed content always comes from the snapshot. */
  repoRoot?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Every file of the check in the analyzer's languages, `files` included. Where some files were
   * answered from the cache, `files` holds only the rest; an analyzer that follows imports between
   * files reads the others from here (and never from disk).
   */
  peers?: SourceFile[];
}

/** What one analyzer run produced. A file the tool was given but did not really analyze is listed in notAnalyzed, never silently "ok". */
export interface AnalyzerRun {
  findings: Finding[];
  /** Files given to the tool that it could not analyze (missing header, fatal parse error, per-file time bound), one line each. */
  notAnalyzed: Array<{ path: string; reason: string }>;
  /** One line when part of the analysis is still running in the background (CodeQL, a per-file time bound). */
  pending?: string;
}

export interface ProbeResult {
  available: boolean;
  version?: string;
  /** Why it is not available, or which binary it found. */
  detail?: string;
}

export interface Analyzer {
  id: AnalyzerId;
  /** Short human name for reports. */
  title: string;
  languages: readonly Language[];
  /** 'file': run once per file, results cacheable by blob; 'snapshot': once per check over all files. */
  granularity: 'file' | 'snapshot';
  /** Whether it runs when the repo config does not mention it. */
  defaultEnabled: boolean;
  /**
   * True for analyzers that read `SourceFile.content` in the daemon's process and never open
   * `absPath`: the snapshot need not be on disk for them. Every other analyzer gets the snapshot
   * written completely before it starts.
   */
  inProcess?: boolean;
  /** Finds the tool and its version. Cached by the registry for the daemon's life. */
  probe(): Promise<ProbeResult>;
  /**
   * Findings with repo-relative paths, and the files it could not analyze. Throws
   * ToolTimeoutError / ToolMissingError / Error only when the whole run failed.
   */
  analyze(ctx: AnalyzeContext): Promise<AnalyzerRun>;
  /**
   * For a file-granularity analyzer whose result for a file also depends on other files of the
   * check (imports it follows): per file, a digest of those files. It becomes part of the file's
   * cache key, so a change to a dependency is never answered with a stale result.
   */
  dependencies?(files: SourceFile[]): Promise<Map<string, string>>;
}

export class ToolMissingError extends Error {
  override name = 'ToolMissingError';
}

export class ToolTimeoutError extends Error {
  override name = 'ToolTimeoutError';
}
