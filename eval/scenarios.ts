import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../shared/errors.js';
import { cweId, type Language } from '../shared/findings.js';
import type { Scenario } from './types.js';

const LANGS: Record<string, { language: Language; ext: string }> = {
  py: { language: 'python', ext: 'py' },
  c: { language: 'c', ext: 'c' },
  cpp: { language: 'cpp', ext: 'cpp' },
};

function readScenario(root: string, dir: string): Scenario {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${join(dir, 'info.json')}: not readable JSON (${(err as Error).message})`);
  }
  const lang = LANGS[String(info.language ?? '')];
  if (!lang) throw new UserError(`${join(dir, 'info.json')}: unsupported language "${String(info.language)}"`);
  const part = (name: string) => {
    const p = join(dir, `${name}.${lang.ext}`);
    if (!existsSync(p)) throw new UserError(`scenario ${dir} lacks ${name}.${lang.ext}`);
    return readFileSync(p, 'utf8');
  };
  const id = relative(root, dir).split(/[\\/]/).join('/') || String(info.scenario);
  const cweDir = id.includes('/') ? id.split('/')[0] : String(info.cwe ?? '').toLowerCase();
  return {
    id,
    cwe: cweId(String(info.cwe ?? cweDir)),
    cweDir,
    name: String(info.scenario ?? id),
    language: lang.language,
    prompt: part('file_context') + part('func_context'),
    description: String(info.description ?? ''),
    checkQl: String(info.check_ql ?? ''),
  };
}

/**
 * Every folder under `root` holding an info.json is a scenario; `root` may also be one scenario, or
 * one CWE folder. `only` keeps the ids (`cwe-089/0-py`) or CWE folders (`cwe-089`) listed.
 */
export function loadScenarios(root: string, only?: string[]): Scenario[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`--scenarios: ${root} is not a directory`);
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (existsSync(join(d, 'info.json'))) return void found.push(d);
    if (depth > 3) return;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) if (e.isDirectory()) walk(join(d, e.name), depth + 1);
  };
  walk(root, 0);
  // A scenario folder given directly is named relative to its parent's parent, as it would be from the benchmark root.
  const base = found.length === 1 && found[0] === root ? join(root, '..', '..') : root;
  let scenarios = found.map((d) => readScenario(base, d));
  if (only?.length) {
    const unknown = only.filter((o) => !scenarios.some((s) => s.id === o || s.cweDir === o));
    if (unknown.length) throw new UserError(`--only: no scenario ${unknown.join(', ')} under ${root}`);
    scenarios = scenarios.filter((s) => only.includes(s.id) || only.includes(s.cweDir));
  }
  if (!scenarios.length) throw new UserError(`--scenarios: no scenario (a folder with info.json) under ${root}`);
  return scenarios;
}
