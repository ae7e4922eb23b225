import type { Finding, Language } from '../../shared/findings.js';

/*
 * A repair removes a defect; it has no reason to make the program talk to the network, start
 * processes, evaluate code or load new modules. A model (or whoever controls its endpoint) could
 * slip exactly that into a "fix" that the analyzers pass, so a candidate that uses one of these
 * capabilities more often than the staged file did is rejected like any new finding, and the model
 * is told why. Ordinary imports stay allowed: a fix often needs one (hmac, shlex, html).
 */

const CAPABILITIES: Record<'python' | 'c' | 'js', Array<[string, RegExp]>> = {
  python: [
    ['network access', /\b(?:requests|httpx|aiohttp|urllib3?|http\.client|socket|ftplib|smtplib|paramiko)\b/g],
    ['process execution', /\b(?:subprocess|os\.(?:system|popen|exec\w*|spawn\w*|fork))\b/g],
    ['code evaluation', /\b(?:eval|exec|compile|__import__)\s*\(|\bimportlib\b/g],
  ],
  c: [
    ['network access', /\b(?:socket|connect|getaddrinfo|gethostbyname|curl_\w+)\s*\(/g],
    ['process execution', /\b(?:system|popen|fork|exec[lv]p?e?|posix_spawnp?)\s*\(/g],
    ['module loading', /\b(?:dlopen|dlsym)\s*\(/g],
  ],
  js: [
    ['network access', /\b(?:fetch|XMLHttpRequest|WebSocket)\b|\brequire\(\s*['"](?:node:)?(?:https?|net|tls|dgram|axios|node-fetch)['"]|\bfrom\s+['"](?:node:)?(?:https?|net|tls|dgram|axios|node-fetch)['"]/g],
    ['process execution', /\bchild_process\b|\b(?:exec|execSync|spawn|spawnSync|execFile|fork)\s*\(/g],
    ['code evaluation', /\beval\s*\(|\bnew\s+Function\s*\(|\bvm\.run\w*\s*\(|\bimport\s*\(/g],
  ],
};

function familyOf(language: Language): keyof typeof CAPABILITIES {
  return language === 'python' ? 'python' : language === 'c' || language === 'cpp' ? 'c' : 'js';
}

function count(re: RegExp, text: string): number {
  return text.match(re)?.length ?? 0;
}

/** Findings for every capability the candidate uses more often than the original did. */
export function capabilityFindings(language: Language, path: string, original: string, candidate: string): Finding[] {
  const out: Finding[] = [];
  for (const [what, re] of CAPABILITIES[familyOf(language)]) {
    const added = count(re, candidate) - count(re, original);
    if (added <= 0) continue;
    const lines = candidate.split('\n');
    const line = Math.max(1, lines.findIndex((l) => count(new RegExp(re.source, re.flags.replace('g', '')), l) > 0) + 1);
    out.push({
      tool: 'reflexgen-verify',
      ruleId: 'repair/new-capability',
      cwe: ['CWE-506'],
      severity: 'error',
      file: path,
      startLine: line,
      endLine: line,
      message: `the candidate adds ${what} that the staged code did not use; a repair must only remove the defect`,
    });
  }
  return out;
}
