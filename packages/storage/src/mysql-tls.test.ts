// MysqlDatabase over TLS against a private MariaDB of this test (its own data
// directory and port, certificates generated here, cleartext refused). The
// shared MariaDB on :3306 has TLS off: it shows how a TLS client fails there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestPki, freePort, startPrivateServer, type PrivateServer, type TestPki } from '@tt/testkit';
import { openDatabase, type MysqlConfig } from './index';

const read = (file: string) => fs.readFileSync(file);

let dir: string;
let pki: TestPki;
let mariadb: PrivateServer;
let port: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-tls-'));
  pki = await createTestPki(dir);
  port = await freePort();
  const datadir = path.join(dir, 'data');
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', `--user=${os.userInfo().username}`], { stdio: 'ignore', timeout: 60_000 });
  mariadb = await startPrivateServer(
    'mariadbd',
    [
      '--no-defaults', `--datadir=${datadir}`, `--socket=${path.join(dir, 'mysqld.sock')}`, `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      '--bind-address=127.0.0.1', `--port=${port}`, `--user=${os.userInfo().username}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M',
      `--ssl-cert=${pki.serverCertFile}`, `--ssl-key=${pki.serverKeyFile}`, `--ssl-ca=${pki.caFile}`, '--require-secure-transport=ON',
    ],
    /ready for connections/,
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await mariadb?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (over: Partial<MysqlConfig>): MysqlConfig => ({ kind: 'mysql', host: '127.0.0.1', port, user: 'root', password: '', database: 'tls_test', connectionLimit: 2, connectTimeoutMs: 3000, ...over });

/** Opens the database and asks which cipher the session uses: the cipher, or the error. */
async function sessionCipher(over: Partial<MysqlConfig>): Promise<string | Error> {
  try {
    const db = await openDatabase(config(over));
    try {
      const rows = await db.query<{ Value: string }>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      return rows[0]?.Value ?? '';
    } finally {
      await db.close();
    }
  } catch (err) {
    return err as Error;
  }
}

test('MYSQL_TLS=verify: connects when the server certificate chains to the CA, over an encrypted session', async () => {
  expect(await sessionCipher({ tls: { mode: 'verify', ca: read(pki.caFile) } })).toMatch(/^TLS_|AES|CHACHA/);
});

test('MYSQL_TLS=verify refuses a server certificate from another CA; MYSQL_TLS=on accepts it, still encrypted', async () => {
  expect(String(await sessionCipher({ tls: { mode: 'verify', ca: read(pki.otherCaFile) } }))).toMatch(/certificate/);
  expect(await sessionCipher({ tls: { mode: 'on' } })).toMatch(/^TLS_|AES|CHACHA/);
});

test('a server that requires TLS refuses a cleartext client', async () => {
  // MariaDB 10.11 answers a cleartext log-in under require_secure_transport with "Access denied".
  expect(String(await sessionCipher({}))).toMatch(/insecure transport|Access denied/i);
});

test('a server without TLS (the shared MariaDB) is refused when TLS is asked for', async () => {
  const shared = await sessionCipher({ port: Number(process.env.MYSQL_PORT ?? 3306), tls: { mode: 'on' } });
  expect(String(shared)).toMatch(/does not support secure connection|SSL/i);
});
