import { open } from 'node:fs/promises';

/*
 * SARIF written by a tool we ran (clang, CodeQL) is read whole and parsed as JSON: capped, so that
 * a run over a huge generated file cannot take the daemon's memory with it.
 */

export const MAX_SARIF_BYTES = 64 * 2 ** 20;

export class SarifTooLarge extends Error {
  override name = 'SarifTooLarge';
}

/** The file's text; SarifTooLarge over the cap; the fs error (ENOENT...) when it cannot be read. */
export async function readSarifText(file: string, cap = MAX_SARIF_BYTES): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size > cap) throw new SarifTooLarge(`its SARIF output (${(size / 2 ** 20).toFixed(0)} MiB) is over the ${(cap / 2 ** 20).toFixed(0)} MiB limit`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
