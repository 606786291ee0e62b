// tests/e2e/support/external.ts, which the compose "integration" service uses to
// run the end-to-end suite against an already running cluster: here against a
// cluster of real processes started through the image's entry point, addressed
// only by the TT_E2E_* and MYSQL_* variables the compose file sets.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { verifyToken } from '@tt/auth';
import { TeamTalkClient } from '@tt/client';
import { isExternal, parseMsgServers, startExternalDeployment } from '../e2e/support/external';
import { REPO_ROOT } from './support/k8s';
import { freePort } from '@tt/testkit';

jest.setTimeout(60_000);

const id = randomBytes(4).toString('hex');
const database = `tt_ext_${id}`;
const common = { LOG_LEVEL: 'warn', ADMIN_HOST: '127.0.0.1', TT_SUBJECT_PREFIX: `ttext${id}`, MYSQL_DATABASE: database, PASSWORD_SCRYPT_N: '1024', MSG_SERVER_REPORT_INTERVAL_MS: '500' };
const children: ChildProcess[] = [];
let env: NodeJS.ProcessEnv;
let wsPorts: number[];
// As in deploy/docker-compose.yml: one token secret for login_server and every msg_server.
const authJwtSecret = randomBytes(32).toString('base64url');

function start(role: string, extra: Record<string, string>) {
  children.push(spawn(process.execPath, [path.join(REPO_ROOT, 'deploy', 'entrypoint.js'), role], { env: { ...process.env, ...common, ...extra }, stdio: 'ignore' }));
}

beforeAll(async () => {
  const dbPort = await freePort();
  const loginPort = await freePort();
  const ms = [await freePort(), await freePort()];
  wsPorts = [await freePort(), await freePort()];
  start('db_proxy', { ADMIN_PORT: String(await freePort()), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort) });
  start('route_server', { ADMIN_PORT: String(await freePort()) });
  start('login_server', { ADMIN_PORT: String(await freePort()), LOGIN_HTTP_HOST: '127.0.0.1', LOGIN_HTTP_PORT: String(loginPort), DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, AUTH_JWT_SECRET: authJwtSecret });
  for (const [i, port] of ms.entries()) {
    // Each msg_server its own WebSocket port too, like msg-server-1/-2 in the compose file.
    start('msg_server', {
      ADMIN_PORT: String(await freePort()),
      MSG_SERVER_HOST: '127.0.0.1',
      MSG_SERVER_PORT: String(port),
      MSG_SERVER_WS_PORT: String(wsPorts[i]),
      // Its own tcp12, MSync and OMTP ports too (the defaults, 8082-8085, would be taken by the first one, or by anything else on the host).
      MSG_SERVER_TCP12_PORT: String(await freePort()),
      MSG_SERVER_MSYNC_WS_PORT: String(await freePort()),
      MSG_SERVER_MSYNC_TCP_PORT: String(await freePort()),
      MSG_SERVER_OMTP_PORT: String(await freePort()),
      MSG_SERVER_ID: `ext-ms-${i}`,
      DB_PROXY_ADDR: `127.0.0.1:${dbPort}`,
      AUTH_JWT_SECRET: authJwtSecret,
    });
  }
  // What deploy/docker-compose.yml gives the integration service, with this cluster's addresses.
  env = {
    ...process.env,
    TT_E2E_LOGIN_URL: `http://127.0.0.1:${loginPort}/`,
    TT_E2E_MSG_SERVERS: ms.map((p) => `127.0.0.1:${p}`).join(','),
    TT_E2E_AUTH_JWT_SECRET: authJwtSecret,
    TT_E2E_READY_TIMEOUT_MS: '30000',
    TT_MODE: 'cluster',
    MYSQL_HOST: '127.0.0.1',
    MYSQL_DATABASE: database,
    PASSWORD_SCRYPT_N: '1024',
  };
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await new Promise<void>((resolve) => execFile('mariadb', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${database}`], () => resolve()));
});

test('TT_E2E_LOGIN_URL switches external mode on; TT_E2E_MSG_SERVERS is parsed', () => {
  expect(isExternal({})).toBe(false);
  expect(isExternal({ TT_E2E_LOGIN_URL: 'http://login-server:8080' })).toBe(true);
  expect(parseMsgServers('msg-server-1:8000, msg-server-2:8001,[::1]:9000')).toEqual([
    { host: 'msg-server-1', port: 8000 },
    { host: 'msg-server-2', port: 8001 },
    { host: '::1', port: 9000 },
  ]);
  expect(() => parseMsgServers('msg-server-1')).toThrow(/not host:port/);
});

test('a Deployment for the running cluster: users through ttctl, login through login_server, both msg_servers', async () => {
  const d = await startExternalDeployment('cluster', { msgServers: 2 }, env);
  expect(d.loginUrl).toBe(env.TT_E2E_LOGIN_URL!.replace(/\/$/, ''));
  expect(d.msgServers).toHaveLength(2);
  expect(d.processes).toEqual([]);
  const aliceId = await d.addUser('ext_alice', 'secret');
  expect(aliceId).toBeGreaterThan(0);
  const viaLogin = await TeamTalkClient.connectVia(d.loginUrl);
  try {
    expect((await viaLogin.login({ userName: 'ext_alice', password: 'secret' })).resultCode).toBe(0);
  } finally {
    viaLogin.close();
  }
  for (const ms of d.msgServers) {
    const c = await TeamTalkClient.connect({ host: ms.host, port: ms.port });
    try {
      expect((await c.login({ userName: 'ext_alice', password: 'secret' })).resultCode).toBe(0);
    } finally {
      c.close();
    }
  }
  // The WebSocket side: a token from login_server, signed with the shared secret, and a WebSocket front to use it on.
  expect(d.authSecret).toBe(authJwtSecret);
  const tokenRes = await fetch(`${d.loginUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'ext_alice', password: 'secret' }) });
  const token = (await tokenRes.json()) as { code: number; token: string; uid: number };
  expect(tokenRes.status).toBe(200);
  expect(token.uid).toBe(aliceId);
  expect((await verifyToken(token.token, authJwtSecret)).userId).toBe(aliceId);
  const wsUrls = new Set<string>();
  for (let i = 0; i < 8; i++) wsUrls.add(((await (await fetch(`${d.loginUrl}/msg_server?protocol=ws`)).json()) as { url: string }).url);
  expect([...wsUrls].every((u) => wsPorts.some((p) => u === `ws://127.0.0.1:${p}/ws`))).toBe(true);
  expect(() => d.role('msg_server')).toThrow(/no control/);
  await d.stop(); // leaves the cluster running
  expect(children.every((c) => c.exitCode === null)).toBe(true);
});

test('what an external cluster cannot do is refused with a reason', async () => {
  await expect(startExternalDeployment('standalone', {}, env)).rejects.toThrow(/cannot run a standalone-mode test/);
  await expect(startExternalDeployment('cluster', { env: { DB_PROXY_TIMEOUT_MS: '1500' } }, env)).rejects.toThrow(/DB_PROXY_TIMEOUT_MS must be skipped/);
  await expect(startExternalDeployment('cluster', { msgServers: 3 }, env)).rejects.toThrow(/wants 3 msg_servers/);
});
