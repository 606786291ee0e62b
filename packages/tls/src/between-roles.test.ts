import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '@tt/config';
import { createTestPki, type TestPki } from '@tt/testkit';
import { grpcTlsSettings, mysqlTlsSettings, natsConnectionSettings, redisConnectionSettings } from './index';

let dir: string;
let pki: TestPki;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'between-roles-'));
  pki = await createTestPki(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const grpc = (over: Partial<Parameters<typeof grpcTlsSettings>[0]>) => ({ GRPC_TLS_CERT_FILE: '', GRPC_TLS_KEY_FILE: '', GRPC_TLS_CA_FILE: '', GRPC_TLS_SERVER_NAME: '', ...over });
const nats = (over: Partial<Parameters<typeof natsConnectionSettings>[0]>) => ({ NATS_USER: '', NATS_PASSWORD: '', NATS_TOKEN: '', NATS_CREDS_FILE: '', NATS_TLS_CA_FILE: '', NATS_TLS_CERT_FILE: '', NATS_TLS_KEY_FILE: '', ...over });

/** The problems a start-up with these settings would print. */
function problems(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('gRPC TLS settings', () => {
  it('are off when nothing is set, and carry the files read when they are', () => {
    expect(grpcTlsSettings(grpc({}), { serves: true })).toBeUndefined();
    const tls = grpcTlsSettings(grpc({ GRPC_TLS_CERT_FILE: pki.serverCertFile, GRPC_TLS_KEY_FILE: pki.serverKeyFile, GRPC_TLS_CA_FILE: pki.caFile, GRPC_TLS_SERVER_NAME: 'db-proxy' }), { serves: true });
    expect(tls?.cert?.equals(fs.readFileSync(pki.serverCertFile))).toBe(true);
    expect(tls?.ca?.equals(fs.readFileSync(pki.caFile))).toBe(true);
    expect(tls?.serverName).toBe('db-proxy');
  });

  it('name the setting when half a configuration is given or a file is wrong', () => {
    expect(problems(() => grpcTlsSettings(grpc({ GRPC_TLS_CERT_FILE: pki.serverCertFile }), { serves: true }))).toMatch(/GRPC_TLS_CERT_FILE: .*needs its private key/);
    expect(problems(() => grpcTlsSettings(grpc({ GRPC_TLS_CA_FILE: pki.caFile }), { serves: true }))).toMatch(/serves gRPC: it needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE/);
    expect(grpcTlsSettings(grpc({ GRPC_TLS_CA_FILE: pki.caFile }), { serves: false })?.ca).toBeDefined();
    expect(problems(() => grpcTlsSettings(grpc({ GRPC_TLS_CERT_FILE: pki.serverCertFile, GRPC_TLS_KEY_FILE: pki.clientKeyFile }), { serves: true }))).toMatch(/does not belong to the certificate/);
    expect(problems(() => grpcTlsSettings(grpc({ GRPC_TLS_CA_FILE: path.join(dir, 'missing.pem') }), { serves: false }))).toMatch(/GRPC_TLS_CA_FILE: cannot read .*ENOENT/);
    expect(problems(() => grpcTlsSettings(grpc({ GRPC_TLS_SERVER_NAME: 'db-proxy' }), { serves: false }))).toMatch(/gRPC TLS is off/);
  });
});

describe('NATS settings', () => {
  it('pass user and password, and require TLS once a CA is given', () => {
    const s = natsConnectionSettings(nats({ NATS_USER: 'tt', NATS_PASSWORD: 'pw', NATS_TLS_CA_FILE: pki.caFile }));
    expect(s).toMatchObject({ user: 'tt', pass: 'pw', token: undefined });
    expect(s.tls?.ca).toBeDefined();
    expect(natsConnectionSettings(nats({})).tls).toBeUndefined();
  });

  it('refuse a user without password, two ways of authenticating, or a file that is not a credentials file', () => {
    expect(problems(() => natsConnectionSettings(nats({ NATS_USER: 'tt' })))).toMatch(/NATS_USER and NATS_PASSWORD go together/);
    expect(problems(() => natsConnectionSettings(nats({ NATS_TOKEN: 't', NATS_USER: 'tt', NATS_PASSWORD: 'pw' })))).toMatch(/choose one NATS authentication/);
    expect(problems(() => natsConnectionSettings(nats({ NATS_CREDS_FILE: pki.caFile })))).toMatch(/not a NATS credentials file/);
  });
});

describe('Redis and MySQL settings', () => {
  it('Redis: a rediss:// url or a CA turns TLS on; a password apart is kept apart', () => {
    expect(redisConnectionSettings({ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: '', REDIS_TLS_CA_FILE: '' }).tls).toBeUndefined();
    expect(redisConnectionSettings({ REDIS_URL: 'rediss://r:6379', REDIS_PASSWORD: 'pw', REDIS_TLS_CA_FILE: '' })).toMatchObject({ password: 'pw', tls: {} });
    expect(redisConnectionSettings({ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: '', REDIS_TLS_CA_FILE: pki.caFile }).tls?.ca).toBeDefined();
    expect(problems(() => redisConnectionSettings({ REDIS_URL: 'http://r:6379', REDIS_PASSWORD: '', REDIS_TLS_CA_FILE: '' }))).toMatch(/redis:\/\/ or rediss:\/\//);
  });

  it('MySQL: off, on or verify; a CA only makes sense with verify', () => {
    expect(mysqlTlsSettings({ MYSQL_TLS: 'off', MYSQL_TLS_CA_FILE: '' })).toBeUndefined();
    expect(mysqlTlsSettings({ MYSQL_TLS: 'on', MYSQL_TLS_CA_FILE: '' })).toEqual({ mode: 'on', ca: undefined });
    expect(mysqlTlsSettings({ MYSQL_TLS: 'verify', MYSQL_TLS_CA_FILE: pki.caFile })?.ca).toBeDefined();
    expect(problems(() => mysqlTlsSettings({ MYSQL_TLS: 'on', MYSQL_TLS_CA_FILE: pki.caFile }))).toMatch(/only used with MYSQL_TLS=verify/);
  });
});
