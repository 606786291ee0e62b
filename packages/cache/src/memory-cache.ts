import { assertIncrement, assertTtl, CacheError, ttlMs, type Cache } from './types';

export interface MemoryCacheOptions {
  /** Bound on the number of keys; the least recently used key goes first. Default: unbounded. */
  maxEntries?: number;
  /** How often expired keys are swept out, ms (default 30000). They are invisible from their expiry on anyway. */
  sweepIntervalMs?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

type Entry =
  | { kind: 'string'; value: string; expiresAt?: number }
  | { kind: 'hash'; value: Map<string, string>; expiresAt?: number };

const INTEGER = /^-?(0|[1-9]\d*)$/;

function parseInteger(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new CacheError('NOT_INTEGER', 'value is not an integer or out of range');
  return n;
}

function addChecked(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new CacheError('NOT_INTEGER', 'increment or decrement would overflow');
  return sum;
}

/**
 * The in-process Cache for standalone mode and tests: Redis semantics, TTLs honoured (expired keys are never
 * seen), optional LRU bound on the number of keys. Map insertion order is the recency order.
 */
export class MemoryCache implements Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemoryCacheOptions = {}) {
    if (options.maxEntries !== undefined && !(Number.isInteger(options.maxEntries) && options.maxEntries > 0)) {
      throw new TypeError('maxEntries must be a positive integer');
    }
    this.maxEntries = options.maxEntries ?? Infinity;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  /** Live keys right now (expired ones not yet swept are not counted). */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  async get(key: string): Promise<string | null> {
    return this.readString(key, true);
  }

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    this.check();
    return keys.map((k) => this.readString(k, false));
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.check();
    if (ttlSeconds !== undefined) assertTtl(ttlSeconds);
    this.write(key, {
      kind: 'string',
      value: String(value),
      expiresAt: ttlSeconds === undefined ? undefined : this.now() + ttlMs(ttlSeconds),
    });
  }

  async del(...keys: string[]): Promise<number> {
    this.check();
    let n = 0;
    for (const k of keys) if (this.live(k) && this.entries.delete(k)) n++;
    return n;
  }

  async incrBy(key: string, n: number): Promise<number> {
    this.check();
    assertIncrement(n);
    const e = this.live(key);
    if (e && e.kind !== 'string') throw wrongType();
    const next = addChecked(parseInteger(e?.value), n);
    if (e) {
      e.value = String(next); // keeps the TTL, as INCRBY does
      this.touch(key, e);
    } else {
      this.write(key, { kind: 'string', value: String(next) });
    }
    return next;
  }

  async expire(key: string, seconds: number): Promise<boolean> {
    this.check();
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new TypeError('seconds must be a finite number');
    const e = this.live(key);
    if (!e) return false;
    if (seconds <= 0) this.entries.delete(key);
    else e.expiresAt = this.now() + ttlMs(seconds);
    return true;
  }

  async hget(key: string, field: string): Promise<string | null> {
    this.check();
    return this.readHash(key)?.get(field) ?? null;
  }

  hset(key: string, field: string, value: string): Promise<void>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  async hset(key: string, fieldOrFields: string | Readonly<Record<string, string>>, value?: string): Promise<void> {
    this.check();
    const pairs: Array<[string, string]> =
      typeof fieldOrFields === 'string' ? [[fieldOrFields, String(value)]] : Object.entries(fieldOrFields).map(([f, v]) => [f, String(v)]);
    if (pairs.length === 0) return;
    const hash = this.writableHash(key);
    for (const [f, v] of pairs) hash.set(f, v);
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    this.check();
    const hash = this.readHash(key);
    if (!hash) return 0;
    let n = 0;
    for (const f of fields) if (hash.delete(f)) n++;
    if (hash.size === 0) this.entries.delete(key);
    return n;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    this.check();
    return Object.fromEntries(this.readHash(key) ?? []);
  }

  async hincrBy(key: string, field: string, n: number): Promise<number> {
    this.check();
    assertIncrement(n);
    const hash = this.writableHash(key);
    const next = addChecked(parseInteger(hash.get(field)), n);
    hash.set(field, String(next));
    return next;
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private check(): void {
    if (this.closed) throw new CacheError('UNAVAILABLE', 'cache is closed');
  }

  /** The entry if present and not expired; drops it when expired. */
  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  private readString(key: string, strict: boolean): string | null {
    this.check();
    const e = this.live(key);
    if (!e) return null;
    if (e.kind !== 'string') {
      if (strict) throw wrongType();
      return null; // MGET reads other types as nil
    }
    this.touch(key, e);
    return e.value;
  }

  private readHash(key: string): Map<string, string> | undefined {
    const e = this.live(key);
    if (!e) return undefined;
    if (e.kind !== 'hash') throw wrongType();
    this.touch(key, e);
    return e.value;
  }

  private writableHash(key: string): Map<string, string> {
    const existing = this.readHash(key);
    if (existing) return existing;
    const value = new Map<string, string>();
    this.write(key, { kind: 'hash', value });
    return value;
  }

  private write(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  /** Drops expired entries; returns how many. */
  private sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }
}

function wrongType(): CacheError {
  return new CacheError('WRONGTYPE', 'operation against a key holding the wrong kind of value');
}
