// The cache reads of the logins of one turn of the event loop leave as one
// MGET; each login gets its own keys' values, and a failed read fails each.
import { MemoryCache } from '@tt/cache';
import { CacheReadBatcher } from './domain/users';

function counted(cache: MemoryCache) {
  const calls: string[][] = [];
  return { calls, mget: (keys: readonly string[]) => (calls.push([...keys]), cache.mget(keys)) };
}

describe('CacheReadBatcher', () => {
  let cache: MemoryCache;
  beforeEach(async () => {
    cache = new MemoryCache();
    for (let i = 1; i <= 50; i++) await cache.set(`auth:${i}`, `v${i}`);
  });
  afterEach(() => cache.close());

  it('fifty logins in one turn read the cache once, each its own values in order', async () => {
    const c = counted(cache);
    const batcher = new CacheReadBatcher(c);
    const reads = Array.from({ length: 50 }, (_, i) => batcher.mget([`auth:${i + 1}`, `lt:a:user${i + 1}`, `auth:${50 - i}`]));
    const values = await Promise.all(reads);
    expect(values[0]).toEqual(['v1', null, 'v50']);
    expect(values[49]).toEqual(['v50', null, 'v1']);
    expect(values.every((v, i) => v[0] === `v${i + 1}` && v[1] === null && v[2] === `v${50 - i}`)).toBe(true);
    expect(c.calls).toHaveLength(1);
    expect(c.calls[0]).toHaveLength(150);
  });

  it('reads of later turns are separate MGETs; a lone one is passed through as is', async () => {
    const c = counted(cache);
    const batcher = new CacheReadBatcher(c);
    expect(await batcher.mget(['auth:1'])).toEqual(['v1']);
    expect(await batcher.mget(['auth:2', 'auth:3'])).toEqual(['v2', 'v3']);
    expect(c.calls).toEqual([['auth:1'], ['auth:2', 'auth:3']]);
  });

  it('a failed read fails every login that shared it (each then fails open as before)', async () => {
    const batcher = new CacheReadBatcher({ mget: () => Promise.reject(new Error('redis down')) });
    const reads = [batcher.mget(['a']), batcher.mget(['b', 'c'])];
    for (const r of reads) await expect(r).rejects.toThrow('redis down');
  });
});
