// The log-in back-off (@tt/auth's LoginThrottle) as db_proxy runs it: the policy on a fake
// clock over both real cache adapters (in-process and Redis), then ValidateUser's handler
// over a real SQLite store, counting the cache calls an honest reconnect costs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backoffDelayMs, LoginThrottle, type LoginThrottleSettings, type ThrottleReason } from '@tt/auth';
import { MemoryCache, RedisCache, type Cache } from '@tt/cache';
import type { IM } from '@tt/proto';
import { openStore, type Store } from '@tt/storage';
import { createDbProxyHandlers } from './handlers';
import { md5 } from './testing';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisPrefix = `test:${process.pid}:${randomBytes(6).toString('hex')}:`;
// Every key the throttle writes has a TTL (at most the window): what the Redis runs leave behind is gone within a minute.
const SETTINGS: LoginThrottleSettings = { accountFailures: 3, addressFailures: 5, windowSeconds: 60, baseDelayMs: 1000, maxDelayMs: 4000 };


test('the wait: none within the allowance, then doubling up to the cap; 0 failures allowed = off', () => {
  const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, 3, SETTINGS));
  expect(waits).toEqual([0, 0, 1000, 2000, 4000, 4000, 4000]);
  expect(backoffDelayMs(1000, 0, SETTINGS)).toBe(0);
});

const adapters: Array<{ name: string; open(now: () => number): Promise<Cache> }> = [
  { name: 'MemoryCache', open: async (now) => new MemoryCache({ now }) },
  { name: 'RedisCache', open: () => RedisCache.connect({ url: REDIS_URL, keyPrefix: redisPrefix, name: 'login-throttle-test' }) },
];

describe.each(adapters)('LoginThrottle over $name', (adapter) => {
  let now: number;
  let cache: Cache;
  let started: Array<{ reason: ThrottleReason; account: string }>;
  let refused: ThrottleReason[];
  let n = 0;
  const throttle = (settings = SETTINGS) =>
    new LoginThrottle(cache, settings, { now: () => now, onThrottleStart: (e) => started.push({ reason: e.reason, account: e.account }), onRefused: (r) => refused.push(r) }, `lt:t${++n}`);

  beforeEach(async () => {
    now = 1_700_000_000_000;
    cache = await adapter.open(() => now);
    started = [];
    refused = [];
  });
  afterEach(() => cache.close());

  /** One whole attempt whose password is `right` or not: 'ok', 'wrong', or the refusal's wait. */
  async function attempt(t: LoginThrottle, account: string, address: string, right: boolean): Promise<'ok' | 'wrong' | number> {
    const a = await t.check({ account, address });
    const wait = a.wait ?? (await a.count());
    if (wait) return wait.waitMs;
    if (right) await a.succeeded();
    else await a.failed();
    return right ? 'ok' : 'wrong';
  }

  test('after the free failures each attempt waits, doubling; a refused attempt is not counted; a success forgives', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) expect(await attempt(t, 'alice', '10.0.0.1', false)).toBe('wrong');
    expect(started).toEqual([{ reason: 'account', account: 'alice' }]);
    // During the wait even the right password is refused, and the refusals do not lengthen it.
    expect(await attempt(t, 'alice', '10.0.0.1', true)).toBe(1000);
    now += 400;
    expect(await attempt(t, 'ALICE', '10.0.0.2', false)).toBe(600);
    expect(refused).toEqual(['account', 'account']);
    now += 600;
    expect(await attempt(t, 'alice', '10.0.0.1', false)).toBe('wrong');
    expect(await attempt(t, 'alice', '10.0.0.1', true)).toBe(2000);
    now += 2000;
    expect(await attempt(t, 'alice', '10.0.0.1', true)).toBe('ok');
    // Forgiven: three more free failures before the next wait.
    for (let i = 0; i < 2; i++) expect(await attempt(t, 'alice', '10.0.0.3', false)).toBe('wrong');
    expect(await attempt(t, 'alice', '10.0.0.4', true)).toBe('ok');
    expect(started).toHaveLength(1);
  });

  test('an address has its own, higher allowance across accounts; other addresses are not affected', async () => {
    const t = throttle();
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) expect(await attempt(t, name, '::ffff:10.9.9.9', false)).toBe('wrong');
    expect(started).toEqual([{ reason: 'address', account: 'a5' }]);
    expect(await attempt(t, 'carol', '10.9.9.9', true)).toBe(1000);
    expect(refused).toEqual(['address']);
    expect(await attempt(t, 'carol', '10.1.1.1', true)).toBe('ok');
    now += 1000;
    expect(await attempt(t, 'carol', '10.9.9.9', true)).toBe('ok');
  });

  test('parallel guesses beyond the allowance: one goes ahead at a time', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) expect(await attempt(t, 'bob', '10.0.0.1', false)).toBe('wrong');
    now += 1000;
    const burst = await Promise.all(Array.from({ length: 10 }, () => t.check({ account: 'bob', address: '10.0.0.1' }).then(async (a) => a.wait ?? (await a.count()))));
    expect(burst.filter((w) => w === undefined)).toHaveLength(1);
  });

  test('an attempt that could not be checked does not count', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i++) {
      const a = await t.check({ account: 'dave', address: '10.0.0.1' });
      expect(a.wait ?? (await a.count())).toBeUndefined();
      await a.abandoned();
    }
    expect(await attempt(t, 'dave', '10.0.0.1', true)).toBe('ok');
    expect(started).toEqual([]);
  });

  test('0 failures allowed turns a count off', async () => {
    const t = throttle({ ...SETTINGS, accountFailures: 0, addressFailures: 0 });
    expect(t.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect(await attempt(t, 'erin', '10.0.0.1', false)).toBe('wrong');
    expect(await attempt(t, 'erin', '10.0.0.1', true)).toBe('ok');
  });
});

describe('ValidateUser with the back-off (real SQLite store, in-process cache)', () => {
  let dir: string;
  let store: Store;
  let calls: string[];
  let validate: (name: string, password: string, ip?: string) => Promise<IM.DbProxy.IValidateRsp>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tt-dbproxy-throttle-'));
    store = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { scrypt: { N: 1024 } });
    await store.users.create({ name: 'alice', passwordMd5Hex: md5('right') });
    await store.users.create({ name: 'bob', passwordMd5Hex: md5('bobpw') });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    const inner = new MemoryCache();
    calls = [];
    // Every cache call is a Redis round trip in cluster mode: record them.
    const cache = new Proxy(inner, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (...args: unknown[]) => (calls.push(String(prop)), v.apply(target, args)) : v;
      },
    });
    const throttle = new LoginThrottle(cache, { ...SETTINGS, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const handlers = createDbProxyHandlers(store, cache, 'test', { passwordCheckCacheTtlSeconds: 3600, loginThrottle: throttle });
    validate = (name, password, ip = '10.0.0.1') => handlers.validateUser({ userName: name, password: md5(password), clientIp: ip } as IM.DbProxy.ValidateReq) as Promise<IM.DbProxy.IValidateRsp>;
  });

  test('an honest reconnect (cached password, no failures) costs one cache read, as before the throttle', async () => {
    expect((await validate('alice', 'right')).resultCode).toBe(0);
    calls.length = 0;
    expect((await validate('alice', 'right')).resultCode).toBe(0);
    expect(calls).toEqual(['mget']);
  });

  test('wrong passwords are answered, then refused (result 2, retry_after_ms) without a password check; other accounts log in', async () => {
    for (let i = 0; i < 3; i++) expect(await validate('alice', `guess${i}`)).toMatchObject({ resultCode: 1 });
    calls.length = 0;
    const refused = await validate('alice', 'right');
    expect(refused).toMatchObject({ resultCode: 2, resultString: 'too many failed log-ins, retry in 60 s' });
    expect(refused.retryAfterMs).toBeGreaterThan(59_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.userInfo).toBeUndefined();
    // Refused on the read alone: nothing counted, no KDF, no success cached.
    expect(calls).toEqual(['mget']);
    expect((await validate('nobody', 'x', '10.0.0.7')).resultCode).toBe(1);
    expect((await validate('bob', 'bobpw')).resultCode).toBe(0);
  });

  test('with the cache down, log-ins are still checked (the throttle steps aside and says so)', async () => {
    const down = new MemoryCache();
    await down.close(); // every call now fails UNAVAILABLE, as Redis does when it is unreachable
    const errors: unknown[] = [];
    const throttle = new LoginThrottle(down, SETTINGS, { onError: (err) => errors.push(err) });
    const handlers = createDbProxyHandlers(store, down, 'test', { passwordCheckCacheTtlSeconds: 3600, loginThrottle: throttle });
    const check = (password: string) => handlers.validateUser({ userName: 'alice', password: md5(password), clientIp: '10.0.0.1' } as IM.DbProxy.ValidateReq);
    for (let i = 0; i < 5; i++) expect((await check('wrong')).resultCode).toBe(1);
    expect((await check('right')).resultCode).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
  });
});
