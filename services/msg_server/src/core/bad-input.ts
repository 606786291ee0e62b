import { RpcError, RpcStatus } from '@tt/rpc';
import { clip } from '@tt/observability';

/**
 * A request the client got wrong (an unknown session type, an id that names nothing, an over-long field): its
 * answer is the front's "bad request", its log line is info (throttled), never an internal error.
 */
export class BadInput extends Error {
  override readonly name = 'BadInput';
}

/** db_proxy's verdicts on what a request carried, as opposed to the server failing. */
const CLIENT_STATUSES: ReadonlySet<number> = new Set([RpcStatus.INVALID_ARGUMENT, RpcStatus.NOT_FOUND, RpcStatus.PERMISSION_DENIED, RpcStatus.ALREADY_EXISTS]);

/** What the client did wrong, fit for a log line (clipped: it may quote the client's input), or undefined for a server failure. */
export function badInputOf(err: unknown): string | undefined {
  if (err instanceof BadInput) return clip(err.message);
  if (err instanceof RpcError && CLIENT_STATUSES.has(err.code)) return clip(err.message);
  return undefined;
}
