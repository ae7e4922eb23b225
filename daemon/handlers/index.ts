import type { Handler } from './types.js';

/**
 * Every request the daemon answers besides `hello` (which the server handles itself, before any
 * other request). One module per request or family; each adds its entries here.
 */
export const handlers: Record<string, Handler<any, any>> = {};

export function registerHandlers(entries: Record<string, Handler<any, any>>): void {
  Object.assign(handlers, entries);
}
