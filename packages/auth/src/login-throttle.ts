import { createHash } from 'node:crypto';

/** The cache operations the throttle needs (a subset of @tt/cache's Cache: Redis in cluster mode, in-process otherwise). */
export interface ThrottleCache {
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(...keys: string[]): Promise<number>;
  incrBy(key: string, n: number): Promise<number>;
  expire(key: string, seconds: number): Promise<boolean>;
}

/** LOGIN_THROTTLE_*: failures are counted per account and per source address; 0 failures = that count is off. */
export interface LoginThrottleSettings {
  /** Failures of one account allowed without a wait (LOGIN_THROTTLE_ACCOUNT_FAILURES). */
  accountFailures: number;
  /** Failures from one address allowed without a wait; higher, for offices behind one NAT (LOGIN_THROTTLE_ADDRESS_FAILURES). */
  addressFailures: number;
  /** A count is forgotten after this long without a new failure (LOGIN_THROTTLE_WINDOW_S). */
  windowSeconds: number;
  /** The first wait; it doubles with every further failure (LOGIN_THROTTLE_BASE_DELAY_MS). */
  baseDelayMs: number;
  /** The longest wait (LOGIN_THROTTLE_MAX_DELAY_MS). */
  maxDelayMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = { accountFailures: 5, addressFailures: 50, windowSeconds: 900, baseDelayMs: 1000, maxDelayMs: 300_000 };

export type ThrottleReason = 'account' | 'address';

export interface LoginThrottleHooks {
  now?: () => number;
  /** A key crossed its free allowance (once per key per window): log it. account is clipped to 64 characters. */
  onThrottleStart?: (event: { reason: ThrottleReason; account: string; address: string; failures: number; waitMs: number }) => void;
  /** An attempt was refused without checking the password. */
  onRefused?: (reason: ThrottleReason) => void;
  /** A password check failed (counted). */
  onFailure?: () => void;
  /** The cache failed: the throttle lets the attempt through (fail open, as the success cache does). */
  onError?: (err: unknown) => void;
}

/** Who is logging in: the account name as typed and the client's source address ('' when unknown). */
export interface LoginSubject {
  account: string;
  address: string;
}

/** The wait after `failures` failures: none within the allowance, then base, 2·base, 4·base … up to max. */
export function backoffDelayMs(failures: number, allowance: number, settings: Pick<LoginThrottleSettings, 'baseDelayMs' | 'maxDelayMs'>): number {
  if (allowance <= 0 || failures < allowance) return 0;
  const doublings = Math.min(failures - allowance, 40);
  return Math.min(settings.baseDelayMs * 2 ** doublings, settings.maxDelayMs);
}

interface Scope {
  reason: ThrottleReason;
  allowance: number;
  countKey: string;
  untilKey: string;
  /** Failures when the state was read. */
  loaded: number;
  /** This attempt's number once it has been counted (0: not counted). */
  counted: number;
}

/** A refusal: wait this long, because of this key. */
export interface ThrottleWait {
  waitMs: number;
  reason: ThrottleReason;
}

/** An IPv4 address as IPv4 even when the socket reports it IPv6-mapped. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Back-off for failed log-ins, per account and per source address, with its
 * state in a shared cache so every replica agrees. One attempt goes like this:
 *
 *   const attempt = throttle.begin(subject);
 *   attempt.load(await cache.mget(attempt.keys));   // may share the read with other keys
 *   if (attempt.wait) refuse;                       // no password check, no oracle
 *   await attempt.count() → refuse if it raced others past the allowance
 *   …check the password… then attempt.succeeded() / attempt.failed() / attempt.abandoned()
 *
 * A correct password found in the success cache skips count(): when the account has
 * no failures the whole attempt costs the one read.
 */
/** What one attempt needs of its throttle. */
interface ThrottleContext {
  cache: ThrottleCache;
  settings: LoginThrottleSettings;
  hooks: LoginThrottleHooks;
  now: () => number;
}

export class LoginThrottle {
  private readonly ctx: ThrottleContext;

  constructor(
    cache: ThrottleCache,
    readonly settings: LoginThrottleSettings,
    hooks: LoginThrottleHooks = {},
    /** Key prefix: separate counts for separate kinds of accounts (users, operators). */
    private readonly prefix = 'lt:user',
  ) {
    this.ctx = { cache, settings, hooks, now: hooks.now ?? Date.now };
  }

  get enabled(): boolean {
    return this.settings.accountFailures > 0 || this.settings.addressFailures > 0;
  }

  /** An attempt whose state the caller reads (its `keys`, e.g. in one MGET with other keys) and hands to load(). */
  begin(subject: LoginSubject): LoginAttempt {
    const scopes: Scope[] = [];
    const account = subject.account.toLowerCase();
    if (this.settings.accountFailures > 0 && account) {
      // Long names (anything a client may send) are hashed so keys stay short.
      const id = account.length <= 64 ? account : createHash('sha256').update(account).digest('base64url');
      scopes.push(scope('account', this.settings.accountFailures, `${this.prefix}:a:${id}`));
    }
    const address = normalizeAddress(subject.address);
    if (this.settings.addressFailures > 0 && address) scopes.push(scope('address', this.settings.addressFailures, `${this.prefix}:ip:${address}`));
    return new LoginAttempt(this.ctx, scopes, { account: subject.account.slice(0, 64), address });
  }

  /** begin() and load() in one: reads the state itself (when there is no other read to share it with). */
  async check(subject: LoginSubject): Promise<LoginAttempt> {
    const attempt = this.begin(subject);
    const keys = attempt.keys;
    if (!keys.length) return attempt;
    const values = await this.ctx.cache.mget(keys).catch((err: unknown) => {
      this.cacheFailed(err);
      return keys.map(() => null);
    });
    attempt.load(values);
    return attempt;
  }

  /** The caller's read of the state failed: reported, and the attempt goes ahead as if there were no failures (fail open). */
  cacheFailed(err: unknown): void {
    this.ctx.hooks.onError?.(err);
  }
}

function scope(reason: ThrottleReason, allowance: number, key: string): Scope {
  return { reason, allowance, countKey: key, untilKey: `${key}:until`, loaded: 0, counted: 0 };
}

export class LoginAttempt {
  /** Set by load() or count() when the attempt must not go ahead. */
  wait: ThrottleWait | undefined;

  /** @internal LoginThrottle.begin() makes attempts. */
  constructor(
    private readonly ctx: ThrottleContext,
    private readonly scopes: Scope[],
    private readonly subject: LoginSubject,
  ) {}

  /** The cache keys to read for load(), in order. */
  get keys(): string[] {
    return this.scopes.flatMap((s) => [s.countKey, s.untilKey]);
  }

  /** Takes the values of `keys` (same order) and decides whether the attempt must wait. */
  load(values: ReadonlyArray<string | null>): ThrottleWait | undefined {
    const now = this.ctx.now();
    let wait: ThrottleWait | undefined;
    this.scopes.forEach((s, i) => {
      s.loaded = Math.max(0, Number(values[2 * i]) || 0);
      const until = Number(values[2 * i + 1]) || 0;
      if (until > now && (!wait || until - now > wait.waitMs)) wait = { waitMs: until - now, reason: s.reason };
    });
    return this.refuse(wait);
  }

  /**
   * Counts the attempt as a failure before the slow check, so parallel guesses
   * cannot all slip through before the first one fails: beyond the allowance
   * only one attempt per key goes ahead at a time.
   */
  async count(): Promise<ThrottleWait | undefined> {
    if (this.wait || !this.scopes.length) return this.wait;
    const { cache, settings } = this.ctx;
    const counted = await this.guard(() =>
      Promise.all(
        this.scopes.map(async (s) => {
          s.counted = await cache.incrBy(s.countKey, 1);
          if (s.counted === 1) await cache.expire(s.countKey, settings.windowSeconds);
        }),
      ),
    );
    if (!counted) return undefined;
    const raced = this.scopes.find((s) => s.counted > s.allowance && s.counted !== s.loaded + 1);
    if (!raced) return undefined;
    // Another attempt on this key is being checked right now: this one waits its turn.
    await this.abandoned();
    return this.refuse({ waitMs: Math.max(1, backoffDelayMs(raced.loaded, raced.allowance, settings)), reason: raced.reason });
  }

  /** The password was right: the account's failures are forgiven; this attempt no longer counts against the address. */
  async succeeded(): Promise<void> {
    const { cache } = this.ctx;
    await this.guard(() =>
      Promise.all(
        this.scopes.map(async (s) => {
          if (s.reason === 'account') {
            if (s.loaded > 0 || s.counted > 0) await cache.del(s.countKey, s.untilKey);
          } else if (s.counted > 0) await this.uncount(s);
        }),
      ),
    );
  }

  /** The password was wrong (or the account unknown or disabled): each key waits its back-off before the next attempt. */
  async failed(): Promise<void> {
    const { cache, settings, hooks } = this.ctx;
    hooks.onFailure?.();
    const now = this.ctx.now();
    await this.guard(() =>
      Promise.all(
        this.scopes.map(async (s) => {
          const failures = s.counted || (await cache.incrBy(s.countKey, 1));
          // Forgotten only after a whole window without failures.
          await cache.expire(s.countKey, settings.windowSeconds);
          const waitMs = backoffDelayMs(failures, s.allowance, settings);
          if (waitMs <= 0) return;
          await cache.set(s.untilKey, String(now + waitMs), waitMs / 1000);
          if (failures === s.allowance) hooks.onThrottleStart?.({ reason: s.reason, account: this.subject.account, address: this.subject.address, failures, waitMs });
        }),
      ),
    );
  }

  /** The password could not be checked (a storage error): the attempt does not count. */
  async abandoned(): Promise<void> {
    await this.guard(() => Promise.all(this.scopes.filter((s) => s.counted > 0).map((s) => this.uncount(s))));
  }

  private async uncount(s: Scope): Promise<void> {
    s.counted = 0;
    // The count may have expired meanwhile: never leave a negative count without a TTL behind.
    if ((await this.ctx.cache.incrBy(s.countKey, -1)) <= 0) await this.ctx.cache.del(s.countKey);
  }

  /** Cache failures never fail a log-in: reported, and the throttle steps aside. */
  private async guard(work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (err) {
      this.ctx.hooks.onError?.(err);
      return false;
    }
  }

  private refuse(wait: ThrottleWait | undefined): ThrottleWait | undefined {
    if (wait) {
      this.wait = wait;
      this.ctx.hooks.onRefused?.(wait.reason);
    }
    return wait;
  }
}

/** Whole seconds to tell a client (Retry-After), at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** The LOGIN_THROTTLE_* settings (@tt/config's loginThrottleSpec) as the throttle takes them. */
export function loginThrottleSettings(cfg: {
  LOGIN_THROTTLE_ACCOUNT_FAILURES: number;
  LOGIN_THROTTLE_ADDRESS_FAILURES: number;
  LOGIN_THROTTLE_WINDOW_S: number;
  LOGIN_THROTTLE_BASE_DELAY_MS: number;
  LOGIN_THROTTLE_MAX_DELAY_MS: number;
}): LoginThrottleSettings {
  return {
    accountFailures: cfg.LOGIN_THROTTLE_ACCOUNT_FAILURES,
    addressFailures: cfg.LOGIN_THROTTLE_ADDRESS_FAILURES,
    windowSeconds: cfg.LOGIN_THROTTLE_WINDOW_S,
    baseDelayMs: cfg.LOGIN_THROTTLE_BASE_DELAY_MS,
    maxDelayMs: Math.max(cfg.LOGIN_THROTTLE_MAX_DELAY_MS, cfg.LOGIN_THROTTLE_BASE_DELAY_MS),
  };
}
