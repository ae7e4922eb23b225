// Run by storage.test.ts under vite-node: adds entries until it is killed, acknowledging each one.
import { KnowledgeBase } from '../../knowledge/index.js';

const dir = process.argv[2];
const kb = await KnowledgeBase.open({ dir, compactEveryMs: 0 });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const e = await kb.add({
    id: `manual:crash-${i}`,
    title: `crash test entry ${i}`,
    cwe: ['CWE-787'],
    language: 'c',
    lesson: `lesson number ${i} `.repeat(40),
    secureCode: `int f${i}(void) { return ${i}; }`,
  });
  process.stdout.write(`ok ${e.id}\n`);
}
