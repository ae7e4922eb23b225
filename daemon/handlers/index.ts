import type { Handler } from './types.js';

/**
 * Every request the daemon answers besides `hello` (which the server handles itself, before any
 * other request). One module per request or family; each adds its entries here.
 *
 * A Map, not an object: a method name comes from the client, and on a plain object `__proto__`,
 * `constructor`, `toString` or `hasOwnProperty` would find something that is not a handler.
 */
const table = new Map<string, Handler<any, any>>();

export function registerHandlers(entries: Record<string, Handler<any, any>>): void {
  for (const [name, handler] of Object.entries(entries)) table.set(name, handler);
}

/** The handler registered under exactly this name, or undefined. */
export function findHandler(method: string): Handler<any, any> | undefined {
  return table.get(method);
}

export function handlerNames(): string[] {
  return [...table.keys()];
}
