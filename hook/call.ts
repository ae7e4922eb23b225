import type { MethodName, MethodParams, MethodResult } from '../shared/protocol.js';
import type { DaemonClient, ProgressHandler } from './client.js';

/**
 * A request typed by the one contract (`Methods` in shared/protocol.ts): the method name picks the
 * params a caller must send and the result it gets. Type-only imports: nothing loads at run time.
 */
export function call<M extends MethodName>(client: DaemonClient, method: M, params: MethodParams<M>, onProgress?: ProgressHandler): Promise<MethodResult<M>> {
  return client.request<MethodResult<M>>(method, params, onProgress);
}
