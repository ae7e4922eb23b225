/*
 * The protocol's constants, kept free of any schema library so the hook can import them without
 * paying for one at start-up.
 */

export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  VersionMismatch: -32000,
  HelloRequired: -32001,
  ConfigError: -32002,
  ShuttingDown: -32003,
} as const;

/** Header that carries the per-user token on the WebSocket upgrade request. */
export const TOKEN_HEADER = 'x-reflexgen-token';
