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

/**
 * The largest WebSocket message either side accepts. Staged files normally travel as blob ids
 * (the daemon reads them from git), so only path checks and files outside the object store are
 * inline; 64 MiB holds far more than any commit worth analyzing in one go, and bounds what one
 * client can make the daemon buffer (a bigger frame closes that connection with code 1009).
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** While a request runs the daemon sends a `heartbeat` notification this often. */
export const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * A client waiting for an answer gives up after this long without any message from the daemon
 * (REFLEXGEN_SILENCE_TIMEOUT_MS overrides it): a stopped or wedged daemon cannot hold a commit.
 */
export const DEFAULT_SILENCE_TIMEOUT_MS = 15_000;
