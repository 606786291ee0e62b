import net from 'node:net';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { CacheError, RedisCache, type RedisCacheStatus } from './index';

const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `test:${process.pid}:${randomBytes(6).toString('hex')}:`;

/** A TCP relay to the real Redis whose connections the test can cut and refuse, to play an outage. */
function relay(): Promise<{ port: number; down(): void; up(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(REDIS.port || 6379), REDIS.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        down() {
          refusing = true;
          for (const s of sockets) s.destroy();
        },
        up() {
          refusing = false;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    );
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(async () => {
  const raw = new Redis(REDIS.href);
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length) await raw.del(...keys);
  raw.disconnect();
});

test('keyPrefix keeps deployments apart', async () => {
  const one = await RedisCache.connect({ host: REDIS.hostname, port: Number(REDIS.port || 6379), keyPrefix: `${prefix}one:` });
  const two = await RedisCache.connect({ url: REDIS.href, keyPrefix: `${prefix}two:` });
  try {
    await one.set('k', '1');
    expect(await two.get('k')).toBeNull();
    await two.set('k', '2');
    expect(await one.get('k')).toBe('1');
    const raw = new Redis(REDIS.href);
    expect(await raw.get(`${prefix}one:k`)).toBe('1');
    raw.disconnect();
  } finally {
    await one.close();
    await two.close();
  }
});

test('an outage fails commands at once (no offline queue), and the cache comes back by itself', async () => {
  const r = await relay();
  const statuses: RedisCacheStatus[] = [];
  const cache = await RedisCache.connect({
    host: '127.0.0.1',
    port: r.port,
    keyPrefix: prefix,
    maxReconnectDelayMs: 50,
    onStatus: (s) => void statuses.push(s),
  });
  try {
    await cache.set('outage', 'before');
    r.down();
    await waitFor(() => statuses.includes('reconnecting'));
    const started = Date.now();
    const err = await cache.get('outage').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(100);
    expect(await cache.ping()).toBe(false);
    r.up();
    await waitFor(() => cache.ping());
    expect(await cache.get('outage')).toBe('before');
  } finally {
    await cache.close();
    await r.close();
  }
});

test('connect rejects with UNAVAILABLE when Redis is not there', async () => {
  const free = net.createServer();
  const port = await new Promise<number>((res) => free.listen(0, '127.0.0.1', () => res((free.address() as net.AddressInfo).port)));
  await new Promise<void>((res) => free.close(() => res()));
  await expect(RedisCache.connect({ host: '127.0.0.1', port, connectTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
});
