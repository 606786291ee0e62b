// NatsBus against a private nats-server of this test (never the shared one on :4222)
// that requires TLS, a client certificate and a user name and password.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestPki, freePort, startPrivateServer, type PrivateServer, type TestPki } from '@tt/testkit';
import { NatsBus } from './index';

const NATS_SERVER = fs.existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
const read = (file: string) => fs.readFileSync(file);

let dir: string;
let pki: TestPki;
let nats: PrivateServer;
let url: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nats-tls-'));
  pki = await createTestPki(dir);
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  const conf = path.join(dir, 'nats.conf');
  fs.writeFileSync(
    conf,
    [
      `listen: "127.0.0.1:${port}"`,
      `tls { cert_file: "${pki.serverCertFile}", key_file: "${pki.serverKeyFile}", ca_file: "${pki.caFile}", verify: true, timeout: 2 }`,
      `authorization { user: "tt", password: "s3cret" }`,
    ].join('\n'),
  );
  nats = await startPrivateServer(NATS_SERVER, ['-c', conf], /Server is ready/);
}, 30_000);

afterAll(async () => {
  await nats?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const clientTls = () => ({ ca: read(pki.caFile), cert: read(pki.clientCertFile), key: read(pki.clientKeyFile) });
const connect = (options: Partial<Parameters<typeof NatsBus.connect>[0]>) => NatsBus.connect({ servers: url, name: 'tls-test', connectTimeoutMs: 3000, ...options });

test('with the CA, a client certificate and the password, the bus publishes and subscribes over TLS', async () => {
  const a = await connect({ user: 'tt', pass: 's3cret', tls: clientTls() });
  const b = await connect({ user: 'tt', pass: 's3cret', tls: clientTls() });
  try {
    const got = new Promise<string>((resolve) => b.subscribe('tt.tls.hello', (data) => resolve(Buffer.from(data).toString())));
    await b.flush();
    a.publish('tt.tls.hello', Buffer.from('over TLS'));
    expect(await got).toBe('over TLS');
    expect(a.connection.info?.tls_required).toBe(true);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a wrong password is refused with an authorization error', async () => {
  await expect(connect({ user: 'tt', pass: 'wrong', tls: clientTls() })).rejects.toThrow(/authorization/i);
});

test('a server certificate from another CA, or no client certificate, is refused', async () => {
  const strangerCa = { ca: read(pki.otherCaFile), cert: read(pki.clientCertFile), key: read(pki.clientKeyFile) };
  await expect(connect({ user: 'tt', pass: 's3cret', tls: strangerCa })).rejects.toThrow(/certificate/i);
  // Without a client certificate the server drops the connection after the handshake: the client sees no answer.
  await expect(connect({ user: 'tt', pass: 's3cret', tls: { ca: read(pki.caFile) }, connectTimeoutMs: 1000 })).rejects.toBeTruthy();
});
