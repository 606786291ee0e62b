// RedisCache against a private redis-server of this test that wants a password,
// on a cleartext port and on a TLS port (certificates generated here).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestPki, freePorts, startPrivateServer, type PrivateServer, type TestPki } from '@tt/testkit';
import { RedisCache, type RedisCacheOptions } from './index';

const read = (file: string) => fs.readFileSync(file);

let dir: string;
let pki: TestPki;
let redis: PrivateServer;
let plainPort: number;
let tlsPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-tls-'));
  pki = await createTestPki(dir);
  [plainPort, tlsPort] = await freePorts(2);
  redis = await startPrivateServer(
    'redis-server',
    [
      '--bind', '127.0.0.1', '--port', String(plainPort), '--save', '', '--appendonly', 'no', '--dir', dir,
      '--requirepass', 's3cret',
      '--tls-port', String(tlsPort), '--tls-cert-file', pki.serverCertFile, '--tls-key-file', pki.serverKeyFile, '--tls-ca-cert-file', pki.caFile, '--tls-auth-clients', 'no',
    ],
    /Ready to accept connections/,
  );
}, 30_000);

afterAll(async () => {
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Connects, writes and reads one key: the value read back, or the error. */
async function roundTrip(options: RedisCacheOptions): Promise<string | Error> {
  let cache: RedisCache | undefined;
  try {
    cache = await RedisCache.connect({ connectTimeoutMs: 2000, ...options });
    await cache.set('greeting', 'hello');
    return (await cache.get('greeting')) ?? 'missing';
  } catch (err) {
    return err as Error;
  } finally {
    await cache?.close();
  }
}

describe('Redis with a password', () => {
  it('works with the password in the url or given apart, which wins over the url', async () => {
    expect(await roundTrip({ url: `redis://:s3cret@127.0.0.1:${plainPort}` })).toBe('hello');
    expect(await roundTrip({ url: `redis://127.0.0.1:${plainPort}`, password: 's3cret' })).toBe('hello');
    expect(await roundTrip({ url: `redis://:stale@127.0.0.1:${plainPort}`, password: 's3cret' })).toBe('hello');
  });

  it('refuses a client without the password or with a wrong one', async () => {
    expect(String(await roundTrip({ url: `redis://127.0.0.1:${plainPort}` }))).toMatch(/NOAUTH/);
    expect(String(await roundTrip({ url: `redis://127.0.0.1:${plainPort}`, password: 'wrong' }))).toMatch(/WRONGPASS/);
  });
});

describe('Redis over TLS', () => {
  it('works with a rediss:// url, or a redis:// url and a CA, when the server certificate chains to the CA', async () => {
    expect(await roundTrip({ url: `rediss://:s3cret@127.0.0.1:${tlsPort}`, tls: { ca: read(pki.caFile) } })).toBe('hello');
    expect(await roundTrip({ url: `redis://127.0.0.1:${tlsPort}`, password: 's3cret', tls: { ca: read(pki.caFile) } })).toBe('hello');
  });

  it('refuses a server whose certificate another CA signed, and the system CAs know nothing of it', async () => {
    expect(String(await roundTrip({ url: `rediss://:s3cret@127.0.0.1:${tlsPort}`, tls: { ca: read(pki.otherCaFile) } }))).toMatch(/certificate/);
    expect(String(await roundTrip({ url: `rediss://:s3cret@127.0.0.1:${tlsPort}` }))).toMatch(/certificate/);
  });
});
