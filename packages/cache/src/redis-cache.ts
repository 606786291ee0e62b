import Redis, { type RedisOptions } from 'ioredis';
import { assertIncrement, assertTtl, CacheError, ttlMs, type Cache } from './types';

export type RedisCacheStatus = 'ready' | 'reconnecting' | 'error' | 'end';

export interface RedisCacheOptions {
  /** redis://[:password@]host[:port][/db], rediss:// for TLS; or host/port below. */
  url?: string;
  host?: string;
  port?: number;
  /** AUTH password; wins over one in the url. */
  password?: string;
  /** TLS (also implied by a rediss:// url): ca verifies the server (absent: the system CAs). */
  tls?: { ca?: Buffer };
  db?: number;
  /** Prepended to every key (e.g. 'tt:'), so several deployments or test runs can share one Redis. */
  keyPrefix?: string;
  /** Client name as CLIENT LIST shows it. */
  name?: string;
  /** Initial connect timeout, ms (default 5000). */
  connectTimeoutMs?: number;
  /** A command that gets no answer in this time fails with UNAVAILABLE, ms (default 2000). */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (100 ms, 200 ms, ... up to this), ms (default 2000). */
  maxReconnectDelayMs?: number;
  onStatus?: (status: RedisCacheStatus, detail?: string) => void;
}

function toCacheError(err: unknown): unknown {
  if (err instanceof CacheError || err instanceof TypeError) return err;
  const e = err as Error | undefined;
  if (e && e.name === 'ReplyError') {
    if (e.message.startsWith('WRONGTYPE')) return new CacheError('WRONGTYPE', e.message, { cause: err });
    if (/not an integer|out of range|overflow/i.test(e.message)) return new CacheError('NOT_INTEGER', e.message, { cause: err });
    return new CacheError('COMMAND', e.message, { cause: err });
  }
  // Not writable (offline), connection closed, command timeout, retries exhausted: all "Redis is not there".
  return new CacheError('UNAVAILABLE', e?.message ?? String(err), { cause: err });
}

/** ioredis prefers the url's password to the password option: drop the url's when the option is given. */
function urlWithoutPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  try {
    const u = new URL(url);
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

/**
 * Cache over Redis (ioredis).
 *
 * Failure behaviour, chosen so a Redis outage costs latency nowhere:
 * - enableOfflineQueue: false: while the connection is down, every command fails at once with UNAVAILABLE
 *   instead of waiting in a queue; callers fall back to the database (see readThrough) or fail the request.
 * - maxRetriesPerRequest: 0: a command in flight when the connection drops fails rather than being sent again
 *   after the reconnect (which could apply an INCRBY twice).
 * - commandTimeout: a hung server fails commands after commandTimeoutMs.
 * - The connection itself reconnects forever, backing off from 100 ms to maxReconnectDelayMs.
 * connect() resolves once the connection is ready and rejects (UNAVAILABLE) if the first attempt fails.
 */
export class RedisCache implements Cache {
  private constructor(
    /** The underlying client, for what the Cache interface does not cover. Keys through it get keyPrefix too. */
    readonly redis: Redis,
  ) {}

  static async connect(options: RedisCacheOptions = {}): Promise<RedisCache> {
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    const redisOptions: RedisOptions = {
      host: options.host,
      port: options.port,
      password: options.password,
      tls: options.tls ? { ca: options.tls.ca } : undefined,
      db: options.db,
      keyPrefix: options.keyPrefix,
      connectionName: options.name,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: (attempt) => Math.min(attempt * 100, maxDelay),
      // ioredis arms this timer (default 2 s, not unref'd) on disconnect even for a socket that is already gone,
      // e.g. after a failed first connect, which would hold the process open that long.
      disconnectTimeout: 200,
    };
    for (const k of Object.keys(redisOptions) as Array<keyof RedisOptions>) {
      if (redisOptions[k] === undefined) delete redisOptions[k];
    }
    const redis = options.url ? new Redis(urlWithoutPassword(options.url, options.password), redisOptions) : new Redis(redisOptions);
    const emit = (status: RedisCacheStatus, detail?: string) => {
      try {
        options.onStatus?.(status, detail);
      } catch {
        // a listener's failure is its own business
      }
    };
    // A listener for 'error' also keeps ioredis from printing "Unhandled error event".
    // The cause of a failed first connect (refused password, untrusted certificate) arrives as an 'error'
    // event; connect() itself only rejects with "Connection is closed".
    let firstError: Error | undefined;
    redis.on('error', (err: Error) => {
      firstError ??= err;
      emit('error', err.message);
    });
    redis.on('ready', () => emit('ready'));
    redis.on('reconnecting', (delay: number) => emit('reconnecting', `in ${delay} ms`));
    redis.on('end', () => emit('end'));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      const cause = firstError ?? err;
      const failed = toCacheError(cause);
      if (failed instanceof CacheError && cause !== err) throw new CacheError(failed.code, `cannot connect to Redis: ${failed.message}`, { cause });
      throw failed;
    }
    return new RedisCache(redis);
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw toCacheError(err);
    }
  }

  get(key: string): Promise<string | null> {
    return this.run(() => this.redis.get(key));
  }

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.run(() => this.redis.mget(...keys));
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds !== undefined) assertTtl(ttlSeconds);
    await this.run(() => (ttlSeconds === undefined ? this.redis.set(key, value) : this.redis.set(key, value, 'PX', ttlMs(ttlSeconds))));
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.run(() => this.redis.del(...keys));
  }

  async incrBy(key: string, n: number): Promise<number> {
    assertIncrement(n);
    return this.run(() => this.redis.incrby(key, n));
  }

  async expire(key: string, seconds: number): Promise<boolean> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new TypeError('seconds must be a finite number');
    const ms = seconds <= 0 ? 0 : ttlMs(seconds);
    return (await this.run(() => this.redis.pexpire(key, ms))) === 1;
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.run(() => this.redis.hget(key, field));
  }

  hset(key: string, field: string, value: string): Promise<void>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  async hset(key: string, fieldOrFields: string | Readonly<Record<string, string>>, value?: string): Promise<void> {
    if (typeof fieldOrFields === 'string') {
      await this.run(() => this.redis.hset(key, fieldOrFields, String(value)));
      return;
    }
    if (Object.keys(fieldOrFields).length === 0) return;
    await this.run(() => this.redis.hset(key, fieldOrFields as Record<string, string>));
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return this.run(() => this.redis.hdel(key, ...fields));
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.run(() => this.redis.hgetall(key));
  }

  async hincrBy(key: string, field: string, n: number): Promise<number> {
    assertIncrement(n);
    return this.run(() => this.redis.hincrby(key, field, n));
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.redis.disconnect();
  }
}
