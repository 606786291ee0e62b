import { MemoryCache, readThrough } from './index';

test('miss loads and caches; hit skips the loader; concurrent misses share one load', async () => {
  const cache = new MemoryCache();
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return 'row';
  };
  const results = await Promise.all([1, 2, 3].map(() => readThrough(cache, 'user:1', 60, load)));
  expect(results).toEqual(['row', 'row', 'row']);
  expect(loads).toBe(1);
  expect(await readThrough(cache, 'user:1', 60, load)).toBe('row');
  expect(loads).toBe(1);
  expect(await readThrough(cache, 'user:2', 60, async () => null)).toBeNull();
  expect(await cache.get('user:2')).toBeNull(); // null is not cached
  await cache.close();
});

test('a failing cache is bypassed', async () => {
  const cache = new MemoryCache();
  await cache.close();
  const errors: unknown[] = [];
  expect(await readThrough(cache, 'k', 60, async () => 'from-db', { onCacheError: (e) => errors.push(e) })).toBe('from-db');
  expect(errors).toHaveLength(1);
});

test('a failing load propagates and is not cached', async () => {
  const cache = new MemoryCache();
  await expect(readThrough(cache, 'k', 60, async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
  expect(await readThrough(cache, 'k', 60, async () => 'ok')).toBe('ok');
  await cache.close();
});
