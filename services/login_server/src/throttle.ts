interface Window {
  count: number;
  resetAt: number;
}

/**
 * Failed logins per key (IP and account name) in fixed windows: after `limit`
 * failures within `windowMs` the key is refused until its window ends, so the
 * token endpoint cannot be used to guess passwords quickly. An attempt counts
 * as a failure until it succeeds, so parallel guesses are held to the limit too.
 */
export class FailureThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Records an attempt; returns 0 when it may go ahead, else the ms until the key is allowed again. */
  attempt(key: string): number {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (!w && this.windows.size >= this.maxKeys) this.sweep(now);
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    if (w.count >= this.limit) return w.resetAt - now;
    w.count += 1;
    return 0;
  }

  /** The attempt was good: the key's failures are forgiven. */
  succeeded(key: string): void {
    this.windows.delete(key);
  }

  /** The attempt could not be judged (db_proxy unreachable): it does not count. */
  forget(key: string): void {
    const w = this.windows.get(key);
    if (w && w.count > 0) w.count -= 1;
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    // Still full (a flood of distinct names): drop the oldest windows rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      let n = Math.ceil(this.maxKeys / 10);
      for (const k of this.windows.keys()) {
        if (n-- <= 0) break;
        this.windows.delete(k);
      }
    }
  }
}
