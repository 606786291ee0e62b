/** A message as a subscription handler sees it. */
export interface BusMsg {
  /** The concrete subject the message was published to (never a wildcard). */
  readonly subject: string;
  /** Where a reply goes, when the publisher made a request. */
  readonly reply?: string;
  /** Answers a request. Returns false when the message carries no reply subject (or the bus is closed). */
  respond(data: Uint8Array): boolean;
}

export interface BusSubscription {
  readonly subject: string;
  readonly queue?: string;
  /** Stops deliveries; messages not yet handed to the handler are dropped. Idempotent. */
  unsubscribe(): void;
}

/**
 * Called with each message, in arrival order. A returned promise is not awaited before the next message is
 * handed over (handlers run concurrently when they are async); a throw or rejection goes to `onError`.
 */
export type BusHandler = (data: Uint8Array, msg: BusMsg) => void | Promise<void>;

export interface SubscribeOptions {
  /** Queue group: each message goes to exactly one member of the group. */
  queue?: string;
}

export interface RequestOptions {
  /** Defaults to the bus's `requestTimeoutMs` (5000 unless configured). */
  timeoutMs?: number;
}

/**
 * Subject-based messaging (NATS subject syntax: `.`-separated tokens, `*` matches one token, `>` the rest).
 *
 * Delivery is at-most-once: nothing is stored for a subscriber that is not there. The durable work queue
 * (JetStream) is a separate interface beside this one, `JobQueue` (jobs/types.ts), not an extension of it.
 */
export interface MessageBus {
  /** Fire and forget; the bus copies data, so the caller may reuse its buffer at once. Throws BusError('CLOSED') once the bus is closed; TypeError for an invalid subject. */
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: BusHandler, opts?: SubscribeOptions): BusSubscription;
  /** One request, first reply wins. Rejects with BusError NO_RESPONDERS / TIMEOUT / CLOSED / DISCONNECTED. */
  request(subject: string, data: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  /** Resolves once everything published before the call has been handed on (NATS: a server round trip). */
  flush(): Promise<void>;
  isConnected(): boolean;
  /** Graceful: stops subscriptions, lets queued messages and running handlers finish, then closes. */
  close(): Promise<void>;
}

export type BusErrorCode = 'NO_RESPONDERS' | 'TIMEOUT' | 'CLOSED' | 'DISCONNECTED';

export class BusError extends Error {
  override readonly name = 'BusError';
  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where a handler's failure is reported. */
export type BusErrorHandler = (err: unknown, context: { subject: string; queue?: string }) => void;

export interface BusBaseOptions {
  /** Reports handler throws/rejections. Defaults to a line on stderr. */
  onError?: BusErrorHandler;
  /** Default request timeout, ms (5000). */
  requestTimeoutMs?: number;
  /** How long close() waits for running async handlers, ms (5000). */
  closeTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
