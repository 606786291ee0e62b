import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { CacheError, MemoryCache, RedisCache, type Cache } from './index';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:${process.pid}:${randomBytes(6).toString('hex')}:`;

const impls: Array<{ name: string; create(): Promise<Cache> }> = [
  { name: 'MemoryCache', create: async () => new MemoryCache() },
  { name: 'RedisCache', create: () => RedisCache.connect({ url: REDIS_URL, keyPrefix: prefix, name: 'cache-contract-test' }) },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  // Remove whatever this run left in Redis.
  const raw = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await raw.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    raw.disconnect();
  }
});

describe.each(impls)('$name: Cache contract', (impl) => {
  let cache: Cache;
  let n = 0;
  let k: (name: string) => string; // keys unique per test
  beforeEach(async () => {
    cache = await impl.create();
    const t = ++n;
    k = (name) => `t${t}:${name}`;
  });
  afterEach(async () => {
    await cache.close();
  });

  const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof CacheError ? e.code : `other: ${String(e)}`));

  test('get / set / del / mget', async () => {
    expect(await cache.get(k('a'))).toBeNull();
    await cache.set(k('a'), 'A');
    await cache.set(k('b'), '');
    expect(await cache.get(k('a'))).toBe('A');
    expect(await cache.get(k('b'))).toBe('');
    await cache.set(k('a'), 'A2');
    expect(await cache.get(k('a'))).toBe('A2');
    await cache.hset(k('h'), 'f', 'v');
    expect(await cache.mget([k('a'), k('missing'), k('b'), k('h')])).toEqual(['A2', null, '', null]);
    expect(await cache.mget([])).toEqual([]);
    expect(await cache.del(k('a'), k('missing'), k('h'))).toBe(2);
    expect(await cache.del()).toBe(0);
    expect(await cache.get(k('a'))).toBeNull();
  });

  test('TTL: a key expires; a later set without TTL makes it persistent', async () => {
    await cache.set(k('short'), 'x', 0.1);
    await cache.set(k('kept'), 'x', 0.1);
    await cache.set(k('kept'), 'y');
    expect(await cache.get(k('short'))).toBe('x');
    await sleep(180);
    expect(await cache.get(k('short'))).toBeNull();
    expect(await cache.mget([k('short'), k('kept')])).toEqual([null, 'y']);
    expect(await cache.del(k('short'))).toBe(0);
  });

  test('expire', async () => {
    expect(await cache.expire(k('none'), 10)).toBe(false);
    await cache.set(k('e'), 'x');
    expect(await cache.expire(k('e'), 0.1)).toBe(true);
    await cache.hset(k('h'), 'f', '1');
    expect(await cache.expire(k('h'), 0.1)).toBe(true);
    await cache.set(k('gone'), 'x');
    expect(await cache.expire(k('gone'), 0)).toBe(true); // non-positive deletes
    expect(await cache.get(k('gone'))).toBeNull();
    await sleep(180);
    expect(await cache.get(k('e'))).toBeNull();
    expect(await cache.hgetall(k('h'))).toEqual({});
  });

  test('incrBy: counters from zero, keeps TTL, rejects non-integers and wrong types', async () => {
    expect(await cache.incrBy(k('c'), 1)).toBe(1);
    expect(await cache.incrBy(k('c'), 41)).toBe(42);
    expect(await cache.incrBy(k('c'), -50)).toBe(-8);
    expect(await cache.get(k('c'))).toBe('-8');
    await cache.set(k('s'), 'abc');
    expect(await code(cache.incrBy(k('s'), 1))).toBe('NOT_INTEGER');
    await cache.set(k('f'), '1.5');
    expect(await code(cache.incrBy(k('f'), 1))).toBe('NOT_INTEGER');
    await cache.hset(k('h'), 'f', '1');
    expect(await code(cache.incrBy(k('h'), 1))).toBe('WRONGTYPE');
    await cache.set(k('t'), '10', 0.1);
    expect(await cache.incrBy(k('t'), 5)).toBe(15);
    await sleep(180);
    expect(await cache.get(k('t'))).toBeNull();
    await expect(cache.incrBy(k('c'), 1.5)).rejects.toBeInstanceOf(TypeError);
  });

  test('hashes', async () => {
    expect(await cache.hgetall(k('h'))).toEqual({});
    expect(await cache.hget(k('h'), 'f')).toBeNull();
    await cache.hset(k('h'), 'a', '1');
    await cache.hset(k('h'), { b: '2', c: '3' });
    await cache.hset(k('h'), {});
    expect(await cache.hget(k('h'), 'b')).toBe('2');
    expect(await cache.hgetall(k('h'))).toEqual({ a: '1', b: '2', c: '3' });
    expect(await cache.hincrBy(k('h'), 'a', 9)).toBe(10);
    expect(await cache.hincrBy(k('h'), 'new', -2)).toBe(-2);
    expect(await cache.hincrBy(k('h2'), 'x', 3)).toBe(3);
    await cache.hset(k('h'), 'text', 'hello');
    expect(await code(cache.hincrBy(k('h'), 'text', 1))).toBe('NOT_INTEGER');
    expect(await cache.hdel(k('h'), 'a', 'nope', 'new', 'text')).toBe(3);
    expect(await cache.hdel(k('h'))).toBe(0);
    expect(await cache.hgetall(k('h'))).toEqual({ b: '2', c: '3' });
    expect(await cache.hdel(k('h'), 'b', 'c')).toBe(2);
    expect(await cache.del(k('h'))).toBe(0); // an emptied hash is gone
    await cache.set(k('s'), 'v');
    expect(await code(cache.hget(k('s'), 'f'))).toBe('WRONGTYPE');
    expect(await code(cache.hset(k('s'), 'f', 'v'))).toBe('WRONGTYPE');
    expect(await code(cache.get(k('h2')))).toBe('WRONGTYPE');
  });

  test('argument checks', async () => {
    await expect(cache.set(k('x'), 'v', 0)).rejects.toBeInstanceOf(TypeError);
    await expect(cache.set(k('x'), 'v', -1)).rejects.toBeInstanceOf(TypeError);
    await expect(cache.hincrBy(k('x'), 'f', Number.NaN)).rejects.toBeInstanceOf(TypeError);
  });

  test('ping, and after close: ping false, commands UNAVAILABLE', async () => {
    expect(await cache.ping()).toBe(true);
    await cache.close();
    expect(await cache.ping()).toBe(false);
    expect(await code(cache.get(k('x')))).toBe('UNAVAILABLE');
    expect(await code(cache.set(k('x'), 'v'))).toBe('UNAVAILABLE');
    await cache.close(); // idempotent
  });
});
