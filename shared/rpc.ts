/** A JSON-RPC error with its code, raised by handlers and re-raised by the client on an error response. */
export class RpcError extends Error {
  constructor(
    public readonly code: number,
    message: string,
    public readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}
