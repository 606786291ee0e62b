import { MemoryCache } from './index';

test('TTL follows the clock', async () => {
  let now = 1_000_000;
  const cache = new MemoryCache({ now: () => now });
  await cache.set('a', '1', 10);
  await cache.hset('h', 'f', '1');
  await cache.expire('h', 5);
  now += 4_999;
  expect(await cache.get('a')).toBe('1');
  expect(await cache.hget('h', 'f')).toBe('1');
  now += 1;
  expect(await cache.hget('h', 'f')).toBeNull();
  expect(cache.size).toBe(1);
  now += 5_000;
  expect(await cache.get('a')).toBeNull();
  expect(cache.size).toBe(0);
  await cache.close();
});

test('maxEntries evicts the least recently used key', async () => {
  const cache = new MemoryCache({ maxEntries: 3 });
  await cache.set('a', '1');
  await cache.set('b', '2');
  await cache.hset('c', 'f', '3');
  await cache.get('a'); // a is now the most recent; b the least
  await cache.set('d', '4');
  expect(await cache.mget(['a', 'b', 'd'])).toEqual(['1', null, '4']);
  expect(await cache.hgetall('c')).toEqual({ f: '3' });
  await cache.incrBy('e', 1); // evicts a (c and d were touched after it)
  expect(cache.size).toBe(3);
  expect(await cache.get('a')).toBeNull();
  await cache.close();
});

test('rejects a bad maxEntries', () => {
  expect(() => new MemoryCache({ maxEntries: 0 })).toThrow(TypeError);
});
