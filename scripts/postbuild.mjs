// Writes dist/build-id.json: a hash of every built file, so a client can tell a daemon that runs other code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

await import('./gen-validators.mjs');
await import('./bundle-hook.mjs');
await import('./bundle-cli.mjs');

const dist = new URL('../dist/', import.meta.url).pathname;
const hash = createHash('sha256');
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(c|m)?js$/.test(e.name)) hash.update(relative(dist, p)).update(readFileSync(p));
  }
};
walk(dist);
writeFileSync(join(dist, 'build-id.json'), JSON.stringify({ id: hash.digest('hex').slice(0, 12) }) + '\n');
for (const bin of ['cli/main.js', 'cli/reflexgen.mjs', 'hook/main.js', 'hook/hook.cjs', 'hook/hook.mjs']) {
  const p = join(dist, bin);
  if (existsSync(p)) chmodSync(p, 0o755);
}
