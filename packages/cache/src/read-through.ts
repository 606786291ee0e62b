import type { Cache } from './types';

export interface ReadThroughOptions {
  /** Called when the cache fails (the value is then loaded from the source and not cached). */
  onCacheError?: (err: unknown) => void;
}

const inFlight = new WeakMap<Cache, Map<string, Promise<string | null>>>();

/**
 * Read-through: the cached value, or else load() (whose non-null result is cached for ttlSeconds).
 * Concurrent misses for the same key in this process share one load(). A failing cache is bypassed, never
 * fatal: the source answers. A load() failure propagates (and is not cached).
 */
export async function readThrough(
  cache: Cache,
  key: string,
  ttlSeconds: number,
  load: () => Promise<string | null>,
  options: ReadThroughOptions = {},
): Promise<string | null> {
  try {
    const hit = await cache.get(key);
    if (hit !== null) return hit;
  } catch (err) {
    options.onCacheError?.(err);
    return load();
  }
  let pending = inFlight.get(cache);
  if (!pending) {
    pending = new Map();
    inFlight.set(cache, pending);
  }
  const shared = pending.get(key);
  if (shared) return shared;
  const loading = (async () => {
    try {
      const value = await load();
      if (value !== null) {
        await cache.set(key, value, ttlSeconds).catch((err: unknown) => options.onCacheError?.(err));
      }
      return value;
    } finally {
      pending.delete(key);
    }
  })();
  pending.set(key, loading);
  return loading;
}
