/**
 * Key-value operations an IM data layer needs: read-through caching of rows (get/set/mget/del with TTL),
 * counters (incrBy: message ids, sequence numbers) and hashes of counters (unread counts per session).
 * Values are strings; callers serialise. Redis semantics throughout: a set without TTL clears an earlier TTL,
 * incrBy/hincrBy keep one, a missing key reads as null / {} / 0.
 * TTLs are seconds and may be fractional (millisecond precision).
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** One result per key, null where missing (or not a string value). */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Removes keys of any type; returns how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Adds n (an integer, may be negative) to an integer value, from 0 when missing; returns the new value. */
  incrBy(key: string, n: number): Promise<number>;
  /** Sets a TTL on an existing key (a non-positive one deletes it); false when the key does not exist. */
  expire(key: string, seconds: number): Promise<boolean>;
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<void>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  /** Returns how many fields existed; a hash left empty disappears. */
  hdel(key: string, ...fields: string[]): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hincrBy(key: string, field: string, n: number): Promise<number>;
  /** true when the backend answers; never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export type CacheErrorCode =
  /** The backend cannot be reached (down, reconnecting, timed out): the caller may fall back to the source. */
  | 'UNAVAILABLE'
  /** The key holds the other kind of value (string vs hash). */
  | 'WRONGTYPE'
  /** incrBy/hincrBy on a value that is not an integer, or that would overflow. */
  | 'NOT_INTEGER'
  /** Any other error the backend reported. */
  | 'COMMAND';

export class CacheError extends Error {
  override readonly name = 'CacheError';
  constructor(
    readonly code: CacheErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function assertTtl(ttlSeconds: number): void {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError(`ttlSeconds must be a positive number, got ${ttlSeconds}`);
  }
}

export function assertIncrement(n: number): void {
  if (!Number.isSafeInteger(n)) throw new TypeError(`increment must be a safe integer, got ${n}`);
}

/** TTL seconds to whole milliseconds, at least 1. */
export function ttlMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}
