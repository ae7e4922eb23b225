import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findHandler, registerHandlers } from '../../daemon/handlers/index.js';
import { defineHandler, type Handler } from '../../daemon/handlers/types.js';

/* Handlers whose modules load on first use (the daemon's start-up): one import, retried after a failure. */

const echo = defineHandler({
  params: z.object({ x: z.number() }),
  result: z.object({ x: z.number() }),
  async handle(p) {
    return p;
  },
});

describe('lazily loaded handlers', () => {
  it('imports once for concurrent first requests, then finds the handler itself', async () => {
    let imports = 0;
    registerHandlers({
      'test.lazy-once': async () => {
        imports++;
        await new Promise((r) => setTimeout(r, 20));
        return echo as Handler<any, any>;
      },
    });
    const entry = findHandler('test.lazy-once');
    expect(typeof entry).toBe('function');
    const load = entry as () => Promise<Handler<any, any>>;
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(echo);
    expect(b).toBe(echo);
    expect(imports).toBe(1);
    expect(findHandler('test.lazy-once')).toBe(echo);
  });

  it('tries the import again after it failed', async () => {
    let attempts = 0;
    registerHandlers({
      'test.lazy-retry': async () => {
        attempts++;
        if (attempts === 1) throw new Error('module not readable');
        return echo as Handler<any, any>;
      },
    });
    const load = findHandler('test.lazy-retry') as () => Promise<Handler<any, any>>;
    await expect(load()).rejects.toThrow('module not readable');
    expect(typeof findHandler('test.lazy-retry')).toBe('function');
    await expect((findHandler('test.lazy-retry') as () => Promise<Handler<any, any>>)()).resolves.toBe(echo);
    expect(attempts).toBe(2);
    expect(findHandler('test.lazy-retry')).toBe(echo);
  });

  it('keeps handlers given directly as they are, and knows no inherited names', () => {
    registerHandlers({ 'test.direct': echo as Handler<any, any> });
    expect(findHandler('test.direct')).toBe(echo);
    expect(findHandler('constructor')).toBeUndefined();
    expect(findHandler('__proto__')).toBeUndefined();
  });
});
