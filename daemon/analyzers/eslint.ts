import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { ESLint as ESLintType, Linter } from 'eslint';
import type { Finding, Severity } from '../../shared/findings.js';
import { cweId } from '../../shared/findings.js';
import { stateDir } from '../../shared/paths.js';
import type { AnalyzeContext, Analyzer, AnalyzerRun, ProbeResult } from './types.js';
import { ToolMissingError, ToolTimeoutError } from './types.js';

/*
 * ESLint + eslint-plugin-security, in-process. Loading ESLint, the plugin and typescript-eslint's
 * parser costs about a second; doing it once per daemon is the whole point of running warm, so the
 * ESLint instance is a module-level promise. The config is built here (overrideConfigFile: true):
 * the user's own eslint config, plugins and parser versions must not change what the gate reports.
 *
 * Files are linted with lintText and a virtual path under a fixed base directory, because one
 * ESLint instance serves many repos and snapshot dirs, and ESLint ignores files outside its cwd.
 */

interface RuleInfo {
  cwe: number[];
  severity: Severity;
}

/**
 * Rule -> CWE and how loudly it should speak. The plugin's rules are pattern matchers without
 * taint; the ones that fire on most real code (object injection, non-literal RegExp, merely
 * importing child_process) are notes so they are reported without blocking.
 */
export const ESLINT_RULES: Record<string, RuleInfo> = {
  'detect-child-process': { cwe: [78], severity: 'error' },
  'detect-eval-with-expression': { cwe: [95], severity: 'error' },
  // Pattern-only auditing aids (their maintainers' words): any non-literal path or module name.
  // They stay visible as notes; the built-in taint rules block when request data reaches the call.
  'detect-non-literal-fs-filename': { cwe: [22], severity: 'note' },
  'detect-non-literal-require': { cwe: [829], severity: 'note' },
  'detect-unsafe-regex': { cwe: [1333], severity: 'warning' },
  'detect-non-literal-regexp': { cwe: [1333], severity: 'note' },
  'detect-object-injection': { cwe: [915], severity: 'note' },
  'detect-pseudoRandomBytes': { cwe: [338], severity: 'warning' },
  'detect-possible-timing-attacks': { cwe: [208], severity: 'note' },
  'detect-buffer-noassert': { cwe: [787], severity: 'error' },
  'detect-new-buffer': { cwe: [908], severity: 'warning' },
  'detect-no-csrf-before-method-override': { cwe: [352], severity: 'warning' },
  'detect-disable-mustache-escape': { cwe: [79], severity: 'error' },
  'detect-bidi-characters': { cwe: [451], severity: 'error' },
  'detect-invisible-characters': { cwe: [1007], severity: 'warning' },
};

/** CWE and severity of one plugin message; the message refines the two rules that report two different things. */
export function eslintRuleInfo(ruleId: string, message: string): { cwe: string[]; severity: Severity } | undefined {
  const name = ruleId.replace(/^security\//, '');
  const info = ESLINT_RULES[name];
  if (!info) return undefined;
  let severity = info.severity;
  let cwe = info.cwe;
  // `require('child_process')` alone is an import, not an injection; exec with a non-literal is.
  if (name === 'detect-child-process' && /^Found require\(/.test(message)) severity = 'note';
  if (name === 'detect-buffer-noassert' && /\.read/.test(message)) cwe = [125];
  return { cwe: cwe.map((n) => cweId(n)), severity };
}

const JS_FILES = ['**/*.js', '**/*.mjs', '**/*.cjs', '**/*.jsx'];
const TS_FILES = ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.tsx'];

interface Engine {
  eslint: ESLintType;
  version: string;
  typescript: boolean;
}

let engine: Promise<Engine> | undefined;
// ESLint resolves `cwd`-relative paths; a stable dir that exists keeps it from touching the repo.
const BASE = join(stateDir(), 'eslint-virtual');

async function load(): Promise<Engine> {
  let eslintMod: typeof import('eslint');
  let plugin: unknown;
  try {
    eslintMod = await import('eslint');
    // The plugin ships no types; a string specifier keeps tsc from demanding them.
    const spec: string = 'eslint-plugin-security';
    plugin = ((await import(spec)) as { default?: unknown }).default;
  } catch (err) {
    throw new ToolMissingError(`eslint / eslint-plugin-security not installed: ${(err as Error).message}`);
  }
  const rules: Linter.RulesRecord = {};
  for (const name of Object.keys(ESLINT_RULES)) rules[`security/${name}`] = 'warn';

  const config: Linter.Config[] = [
    {
      files: [...JS_FILES, ...TS_FILES],
      plugins: { security: plugin as never },
      languageOptions: { ecmaVersion: 'latest', sourceType: 'module', parserOptions: { ecmaFeatures: { jsx: true } } },
      linterOptions: { reportUnusedDisableDirectives: 'off', noInlineConfig: false },
      rules,
    },
    { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  ];
  // typescript-eslint needs the `typescript` package at runtime; without it JS still works.
  let typescript = false;
  try {
    const tseslint = (await import('typescript-eslint')).default;
    config.push({ files: TS_FILES, languageOptions: { parser: tseslint.parser as Linter.Parser } });
    typescript = true;
  } catch {
    typescript = false;
  }
  const eslint = new eslintMod.ESLint({
    cwd: BASE,
    overrideConfigFile: true,
    overrideConfig: config,
    // An `// eslint-disable` in the user's code must not silence a security gate.
    allowInlineConfig: false,
    cache: false,
  });
  return { eslint, version: eslintMod.ESLint.version, typescript };
}

function getEngine(): Promise<Engine> {
  if (!engine) {
    engine = load();
    engine.catch(() => {
      engine = undefined; // allow a retry after `npm install`
    });
  }
  return engine;
}

function pluginVersion(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    return (req('eslint-plugin-security/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new ToolTimeoutError(`eslint did not finish within ${ms} ms`)), ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('eslint cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const eslintAnalyzer: Analyzer = {
  id: 'eslint',
  title: 'ESLint (eslint-plugin-security)',
  languages: ['javascript', 'typescript'],
  granularity: 'file',
  defaultEnabled: true,
  inProcess: true,

  async probe(): Promise<ProbeResult> {
    try {
      const e = await getEngine();
      const pv = pluginVersion();
      return {
        available: true,
        version: `${e.version}${pv ? ` + eslint-plugin-security ${pv}` : ''}`,
        detail: e.typescript ? 'in-process; TypeScript via typescript-eslint' : 'in-process; TypeScript files skipped (typescript-eslint or typescript not installed)',
      };
    } catch (err) {
      return { available: false, detail: (err as Error).message };
    }
  },

  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    const e = await getEngine();
    const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
    const files = ctx.files.filter((f) => {
      if (f.language === 'javascript' || (f.language === 'typescript' && e.typescript)) return true;
      notAnalyzed.push({ path: f.path, reason: 'TypeScript needs typescript-eslint and typescript, which are not installed' });
      return false;
    });
    const run = async (): Promise<AnalyzerRun> => {
      const out: Finding[] = [];
      for (const f of files) {
        const results = await e.eslint.lintText(f.content, { filePath: join(BASE, f.path), warnIgnored: false });
        for (const r of results) {
          for (const m of r.messages) {
            // A fatal parse error means no rule saw the file: that is "not analyzed", not "clean".
            if (m.fatal) {
              notAnalyzed.push({ path: f.path, reason: `could not parse: line ${m.line ?? '?'}: ${m.message}` });
              continue;
            }
            if (!m.ruleId) continue;
            const info = eslintRuleInfo(m.ruleId, m.message);
            if (!info) continue;
            out.push({
              tool: 'eslint',
              ruleId: m.ruleId,
              cwe: info.cwe,
              severity: info.severity,
              file: f.path,
              startLine: Math.max(1, m.line || 1),
              endLine: Math.max(m.line || 1, m.endLine ?? m.line ?? 1),
              message: m.message,
            });
          }
        }
      }
      return { findings: out, notAnalyzed };
    };
    return withTimeout(run(), ctx.timeoutMs, ctx.signal);
  },
};
