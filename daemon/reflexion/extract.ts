/** Reading the model's free-form answers: fenced code, JSON verdicts, lessons. */

export interface CodeBlock {
  lang: string;
  code: string;
}

const LANG_TAGS: Record<string, string[]> = {
  python: ['python', 'py', 'python3'],
  c: ['c', 'h'],
  cpp: ['cpp', 'c++', 'cc', 'cxx', 'hpp'],
  javascript: ['javascript', 'js', 'jsx', 'mjs', 'node'],
  typescript: ['typescript', 'ts', 'tsx'],
};
const NOT_CODE = new Set(['json', 'text', 'txt', 'diff', 'patch', 'markdown', 'md', 'output', 'console', 'sh', 'bash', 'shell']);

/** Complete fenced blocks only: a block cut off by the token limit is not an answer. */
export function extractCodeBlocks(answer: string): CodeBlock[] {
  const lines = answer.replace(/\r\n/g, '\n').split('\n');
  const blocks: CodeBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/.exec(lines[i]);
    if (!open) {
      i++;
      continue;
    }
    const fence = open[1];
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j])) j++;
    if (j >= lines.length) break;
    blocks.push({ lang: open[2].toLowerCase(), code: lines.slice(i + 1, j).join('\n') });
    i = j + 1;
  }
  return blocks;
}

/**
 * The one block that holds code in the file's language. Models sometimes add a second block (a usage
 * example, a shell command); the tagged-as-this-language, then longest, block is the answer.
 */
export function pickCodeBlock(answer: string, language: string): string | undefined {
  const blocks = extractCodeBlocks(answer).filter((b) => b.code.trim() !== '');
  if (blocks.length <= 1) return blocks[0]?.code;
  const tags = LANG_TAGS[language] ?? [language];
  const tagged = blocks.filter((b) => tags.includes(b.lang));
  const pool = tagged.length ? tagged : blocks.filter((b) => !NOT_CODE.has(b.lang));
  const from = pool.length ? pool : blocks;
  return from.reduce((a, b) => (b.code.length > a.code.length ? b : a)).code;
}

/** The first JSON object in the answer, fenced or bare; undefined when there is none. */
export function parseJsonObject(answer: string): Record<string, unknown> | undefined {
  const candidates: string[] = [];
  for (const b of extractCodeBlocks(answer)) candidates.push(b.code);
  candidates.push(answer);
  for (const text of candidates) {
    const start = text.indexOf('{');
    if (start < 0) continue;
    // Scan for the matching brace, honouring strings, so trailing prose does not break JSON.parse.
    let depth = 0;
    let inStr = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inStr) {
        if (ch === '\\') i++;
        else if (ch === '"') inStr = false;
      } else if (ch === '"') inStr = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        try {
          const v: unknown = JSON.parse(text.slice(start, i + 1));
          if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
        } catch {
          /* try the next candidate */
        }
        break;
      }
    }
  }
  return undefined;
}

/** `TITLE: ...` and `LESSON: ...` lines outside code blocks. */
export function extractLesson(answer: string): { title?: string; lesson?: string } {
  let prose = answer;
  for (const b of extractCodeBlocks(answer)) prose = prose.replace(b.code, '');
  const title = /^\s*\**\s*TITLE\s*\**\s*:\s*\**\s*(.+)$/im.exec(prose)?.[1]?.replace(/\*+$/, '').trim();
  const lesson = /^\s*\**\s*LESSON\s*\**\s*:\s*\**\s*(.+)$/im.exec(prose)?.[1]?.replace(/\*+$/, '').trim();
  return { title: title || undefined, lesson: lesson || undefined };
}
