import type { Handler } from './types.js';

/**
 * Every request the daemon answers besides `hello` (which the server handles itself, before any
 * other request). One module per request or family; each adds its entries here.
 *
 * A Map, not an object: a method name comes from the client, and on a plain object `__proto__`,
 * `constructor`, `toString` or `hasOwnProperty` would find something that is not a handler.
 */
const table = new Map<string, Handler<any, any> | HandlerLoader>();

/**
 * A handler whose module is imported on first use (or by the daemon's warm-up right after it
 * listens), so the socket answers before the analyzers' and the pipeline's modules are loaded.
 */
export type HandlerLoader = () => Promise<Handler<any, any>>;

export function registerHandlers(entries: Record<string, Handler<any, any> | HandlerLoader>): void {
  for (const [name, handler] of Object.entries(entries)) {
    if (typeof handler !== 'function') {
      table.set(name, handler);
      continue;
    }
    // One import per handler, however many requests wait for it; a failed import is tried again.
    let loading: Promise<Handler<any, any>> | undefined;
    const load: HandlerLoader = () =>
      (loading ??= handler().then(
        (h) => {
          table.set(name, h);
          return h;
        },
        (err: unknown) => {
          loading = undefined;
          throw err;
        },
      ));
    table.set(name, load);
  }
}

/** The handler registered under exactly this name (a loader while its module is not loaded yet), or undefined. */
export function findHandler(method: string): Handler<any, any> | HandlerLoader | undefined {
  return table.get(method);
}
