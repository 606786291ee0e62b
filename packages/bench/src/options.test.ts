import { defaultSourceIps, parseOptions, parseSourceIps, UsageError } from './options';
import { assertLoopback, assertLoopbackUrl } from './deployment';

test('targets must be loopback', () => {
  expect(() => parseOptions(['connections', '--login-url', 'http://10.0.0.5:8080'])).toThrow(/not a loopback/);
  expect(() => parseOptions(['connections', '--login-url', 'http://example.com:8080'])).toThrow(UsageError);
  expect(() => parseOptions(['connections', '--login-url', 'http://127.0.0.1:8080', '--admin-url', 'http://192.168.1.2:9100'])).toThrow(/not a loopback/);
  expect(() => parseOptions(['connections', '--login-url', 'http://127.0.0.1:8080', '--msg-server', '8.8.8.8:8000'])).toThrow(/not a loopback/);
  expect(() => parseSourceIps('127.0.0.2,10.1.1.1')).toThrow(/not a loopback/);
  expect(() => assertLoopback('127.255.0.1', 'x')).not.toThrow();
  expect(() => assertLoopback('localhost', 'x')).not.toThrow();
  expect(() => assertLoopbackUrl('https://127.0.0.1', 'x')).toThrow(/http/);
});

test('a target, a scenario and sane numbers are required', () => {
  expect(() => parseOptions(['connections'])).toThrow(/no target/);
  expect(() => parseOptions(['--start', 'standalone'])).toThrow(/no scenario/);
  expect(() => parseOptions(['dance', '--start', 'standalone'])).toThrow(/unknown scenario/);
  expect(() => parseOptions(['connections', '--start', 'standalone', '--login-url', 'http://127.0.0.1:1'])).toThrow(/not both/);
  expect(() => parseOptions(['connections', '--start', 'standalone', '--count', '-1'])).toThrow(/--count/);
  expect(() => parseOptions(['connections', '--start', 'standalone', '--scrypt-n', '3000'])).toThrow(/power of two/);
  expect(() => parseOptions(['connections', '--start', 'standalone', '--bogus'])).toThrow(UsageError);
  expect(() => parseOptions(['connections', '--start', 'standalone', '--msg-servers', '2'])).toThrow(/cluster/);
});

test('defaults bound every run', () => {
  const o = parseOptions(['single-chat', '--start', 'standalone']);
  expect(o.common.durationS).toBe(60);
  expect(o.common.timeoutS).toBe(360);
  expect(o.singleChat).toMatchObject({ pairs: 10, messages: 1000, rate: 0, window: 16, warmupS: 0 });
  expect(parseOptions(['single-chat', '--start', 'cluster', '--warmup', '3']).singleChat.warmupS).toBe(3);
  expect(() => parseOptions(['single-chat', '--start', 'cluster', '--warmup', '-1'])).toThrow(/--warmup/);
  expect(o.common.scryptN).toBe(1024);
  const g = parseOptions(['group-chat', '--start', 'cluster', '--msg-servers', '2', '--members', '500', '--online', '0.2', '--server-env', 'LOG_LEVEL=info']);
  expect(g.groupChat).toMatchObject({ members: 500, online: 0.2 });
  expect(g.common.serverEnv).toEqual({ LOG_LEVEL: 'info' });
  expect(g.given.password).toBeUndefined();
});

test('source addresses: a count, a list, or enough for the connections', () => {
  expect(parseSourceIps('3')).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  expect(parseSourceIps('127.0.0.5, 127.0.0.9')).toEqual(['127.0.0.5', '127.0.0.9']);
  expect(defaultSourceIps(10)).toHaveLength(4);
  expect(defaultSourceIps(200_000).length).toBeGreaterThan(4);
});

test('--protocol: teamtalk by default, ws, tcp12, msync, omtp or mixed for the chat scenarios and connections', () => {
  expect(parseOptions(['single-chat', '--start', 'standalone']).common.protocol).toBe('teamtalk');
  expect(parseOptions(['single-chat', '--start', 'standalone', '--protocol', 'ws']).common.protocol).toBe('ws');
  expect(parseOptions(['group-chat', '--start', 'standalone', '--protocol', 'mixed']).common.protocol).toBe('mixed');
  expect(parseOptions(['connections', '--start', 'standalone', '--protocol', 'ws']).common.protocol).toBe('ws');
  expect(parseOptions(['group-chat', '--start', 'standalone', '--protocol', 'tcp12']).common.protocol).toBe('tcp12');
  expect(parseOptions(['single-chat', '--start', 'standalone', '--protocol', 'msync']).common.protocol).toBe('msync');
  expect(parseOptions(['connections', '--start', 'standalone', '--protocol', 'msync']).common.protocol).toBe('msync');
  expect(parseOptions(['group-chat', '--start', 'standalone', '--protocol', 'omtp']).common.protocol).toBe('omtp');
  expect(parseOptions(['connections', '--start', 'standalone', '--protocol', 'omtp']).common.protocol).toBe('omtp');
  expect(() => parseOptions(['single-chat', '--start', 'standalone', '--protocol', 'http'])).toThrow(/--protocol must be one of teamtalk, ws, tcp12, msync, omtp, mixed/);
  expect(() => parseOptions(['offline-sync', '--start', 'standalone', '--protocol', 'omtp'])).toThrow(/offline-sync/);
  expect(() => parseOptions(['offline-sync', '--start', 'standalone', '--protocol', 'tcp12'])).toThrow(/offline-sync/);
  expect(() => parseOptions(['offline-sync', '--start', 'standalone', '--protocol', 'msync'])).toThrow(/offline-sync/);
  expect(() => parseOptions(['offline-sync', '--start', 'standalone', '--protocol', 'ws'])).toThrow(/offline-sync/);
});
