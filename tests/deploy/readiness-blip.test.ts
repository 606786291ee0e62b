// No readiness cascade (issue 18): a 5 s MySQL blip in cluster mode leaves
// db_proxy and msg_server ready (readiness means "can serve clients"), keeps
// connected clients connected, answers logins that cannot be served with
// TeamTalk's own REFUSE_REASON_NO_DB_SERVER, and everything works again after.
//
// The shared MariaDB on 127.0.0.1 is never touched: db_proxy reaches it through
// a TCP forwarder this test owns, and the blip is the forwarder cutting every
// connection and refusing new ones for 5 s. Roles run as the image starts them
// (deploy/entrypoint.js <role>); needs the build (dist/) and MariaDB, Redis
// and NATS on 127.0.0.1.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { TeamTalkClient } from '@tt/client';
import { freePort } from '@tt/testkit';
import { REPO_ROOT } from './support/k8s';

jest.setTimeout(90_000);

const { ResultType } = IM.BaseDefine;
const ENTRYPOINT = path.join(REPO_ROOT, 'deploy', 'entrypoint.js');
const id = randomBytes(4).toString('hex');
const DATABASE = `tt_blip_${id}`;
const common = { LOG_LEVEL: 'warn', ADMIN_HOST: '127.0.0.1', TT_SUBJECT_PREFIX: `ttblip${id}`, MYSQL_USER: 'root', MYSQL_PASSWORD: '', MYSQL_DATABASE: DATABASE, PASSWORD_SCRYPT_N: '1024', REDIS_URL: 'redis://127.0.0.1:6379', NATS_URL: 'nats://127.0.0.1:4222' };
const children: Array<{ role: string; child: ChildProcess; output: string[] }> = [];

/** A TCP forwarder to MariaDB that the test can cut (existing connections reset, new ones refused) and restore. */
class Forwarder {
  readonly sockets = new Set<net.Socket>();
  cut = false;
  accepted = 0;
  private server = net.createServer((client) => {
    if (this.cut) return client.destroy();
    this.accepted++;
    const upstream = net.connect(3306, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  port = 0;
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  blip(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }
  restore(): void {
    this.cut = false;
  }
  close(): void {
    this.blip();
    this.server.close();
  }
}

function start(role: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  const output: string[] = [];
  const child = spawn(process.execPath, [ENTRYPOINT, role, ...args], { env: { ...process.env, ...common, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  children.push({ role, child, output });
  return child;
}

async function readyz(port: number): Promise<{ status: number; body: { details?: Record<string, unknown> } }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: r.status, body: (await r.json()) as { details?: Record<string, unknown> } };
  } catch {
    return { status: 0, body: {} };
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${children.map((c) => `--- ${c.role}\n${c.output.join('')}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const forwarder = new Forwarder();
let dbAdmin = 0;
let msAdmin = 0;
let msPort = 0;

beforeAll(async () => {
  await forwarder.listen();
  const dbPort = await freePort();
  dbAdmin = await freePort();
  msAdmin = await freePort();
  msPort = await freePort();
  // db_proxy reaches MariaDB only through the forwarder; the grace period is the chart's default (60 s).
  start('db_proxy', { ADMIN_PORT: String(dbAdmin), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort), MYSQL_HOST: '127.0.0.1', MYSQL_PORT: String(forwarder.port) });
  await until(async () => (await readyz(dbAdmin)).status === 200, 'db_proxy ready');
  start('msg_server', { ADMIN_PORT: String(msAdmin), MSG_SERVER_HOST: '127.0.0.1', MSG_SERVER_PORT: String(msPort), MSG_SERVER_WS_PORT: '0', MSG_SERVER_TCP12_PORT: '0', MSG_SERVER_MSYNC_WS_PORT: '0', MSG_SERVER_MSYNC_TCP_PORT: '0', MSG_SERVER_OMTP_PORT: '0', DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, DB_PROXY_TIMEOUT_MS: '1500' });
  await until(async () => (await readyz(msAdmin)).status === 200, 'msg_server ready');
  // Users, created straight in MariaDB (not through the forwarder) by the admin CLI.
  for (const user of ['alice', 'bob', 'carol']) {
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [ENTRYPOINT, 'ttctl', 'user', 'add', user, '--password', 'pw'], { env: { ...process.env, ...common, TT_MODE: 'cluster', MYSQL_HOST: '127.0.0.1', MYSQL_PORT: '3306' } }, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
    );
  }
});

afterAll(async () => {
  await Promise.all(
    children.map(
      ({ child }) =>
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
  forwarder.close();
  await new Promise<void>((resolve) => execFile('mariadb', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${DATABASE}`], () => resolve()));
});

test('a 5 s MySQL blip: db_proxy and msg_server stay ready, connected clients stay, logins are answered with TeamTalk codes, all works again after', async () => {
  const alice = await TeamTalkClient.connect({ host: '127.0.0.1', port: msPort });
  expect((await alice.login({ userName: 'alice', password: 'pw' })).resultCode).toBe(0);
  const bob0 = await TeamTalkClient.connect({ host: '127.0.0.1', port: msPort });
  expect((await bob0.login({ userName: 'bob', password: 'pw' })).resultCode).toBe(0);
  const bobId = bob0.userId!;
  bob0.close();
  expect((await alice.sendText(bobId, 'before the blip')).msgId).toBeGreaterThan(0);
  const accepted = forwarder.accepted;
  expect(accepted).toBeGreaterThan(0); // db_proxy really goes through the forwarder

  forwarder.blip();
  const blipStart = Date.now();
  const seen = { dbProxy: new Set<number>(), msgServer: new Set<number>(), databaseReportedDown: false };
  const logins: Record<string, number[]> = { bob: [], carol: [] };
  let loginAttempt: Promise<void> = Promise.resolve();
  while (Date.now() - blipStart < 5000) {
    const [db, ms] = await Promise.all([readyz(dbAdmin), readyz(msAdmin)]);
    seen.dbProxy.add(db.status);
    seen.msgServer.add(ms.status);
    const database = db.body.details?.database as { up?: boolean; withinGrace?: boolean } | true | undefined;
    if (database !== true && database?.up === false) {
      seen.databaseReportedDown = true;
      expect(database.withinGrace).toBe(true);
    }
    // New clients during the blip: answered (served, or TeamTalk's "no db server"), never left hanging.
    // bob logged in before (his password check is cached), carol never did.
    if (logins.carol.length < 3) {
      loginAttempt = loginAttempt.then(async () => {
        for (const user of ['bob', 'carol']) {
          const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: msPort });
          logins[user].push((await c.login({ userName: user, password: 'pw' })).resultCode);
          c.close();
        }
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await loginAttempt;
  expect({ dbProxy: [...seen.dbProxy], msgServer: [...seen.msgServer] }).toEqual({ dbProxy: [200], msgServer: [200] });
  expect(seen.databaseReportedDown).toBe(true); // the checks did see MySQL gone: ready by design, not by blindness
  expect(logins.carol.length).toBeGreaterThan(0);
  for (const code of [...logins.bob, ...logins.carol]) expect([ResultType.REFUSE_REASON_NONE, ResultType.REFUSE_REASON_NO_DB_SERVER]).toContain(code);
  expect(new Set(logins.carol)).toEqual(new Set([ResultType.REFUSE_REASON_NO_DB_SERVER])); // carol's first check needs MySQL
  // alice was never disconnected, and her connection still answers.
  expect(alice.closed).toBe(false);
  await alice.request(IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}).catch(() => undefined);
  expect(alice.closed).toBe(false);

  forwarder.restore();
  // Back: carol logs in and alice's messages are stored again (db_proxy's pool reconnects).
  await until(async () => (await readyz(dbAdmin)).body.details?.database === true, 'db_proxy sees MySQL again');
  await until(async () => {
    const carol = await TeamTalkClient.connect({ host: '127.0.0.1', port: msPort });
    const code = (await carol.login({ userName: 'carol', password: 'pw' })).resultCode;
    carol.close();
    return code === 0;
  }, 'carol logs in after the blip');
  expect((await alice.sendText(bobId, 'after the blip')).msgId).toBeGreaterThan(0);
  expect(forwarder.accepted).toBeGreaterThan(accepted);
  alice.close();
});

test('a dependency failing longer than READINESS_GRACE_MS does make db_proxy not ready, and ready again when it is back', async () => {
  const dbAdmin2 = await freePort();
  start('db_proxy', { ADMIN_PORT: String(dbAdmin2), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(await freePort()), MYSQL_HOST: '127.0.0.1', MYSQL_PORT: String(forwarder.port), READINESS_GRACE_MS: '1500' });
  await until(async () => (await readyz(dbAdmin2)).status === 200, 'second db_proxy ready');
  forwarder.blip();
  const t0 = Date.now();
  await until(async () => (await readyz(dbAdmin2)).status === 503, 'not ready after the grace period', 10_000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
  forwarder.restore();
  await until(async () => (await readyz(dbAdmin2)).status === 200, 'ready again');
});

test('a msg_server started before its db_proxy serves the first login as soon as db_proxy is up (no "no db server" while gRPC backs off)', async () => {
  const dbPort = await freePort();
  const dbAdmin3 = await freePort();
  const msAdmin3 = await freePort();
  const msPort3 = await freePort();
  start('msg_server', { ADMIN_PORT: String(msAdmin3), MSG_SERVER_HOST: '127.0.0.1', MSG_SERVER_PORT: String(msPort3), MSG_SERVER_WS_PORT: '0', MSG_SERVER_TCP12_PORT: '0', MSG_SERVER_MSYNC_WS_PORT: '0', MSG_SERVER_MSYNC_TCP_PORT: '0', MSG_SERVER_OMTP_PORT: '0', DB_PROXY_ADDR: `127.0.0.1:${dbPort}` });
  // msg_server has tried db_proxy and found nobody: its channel now waits between connection attempts.
  await until(async () => {
    const seen = (await readyz(msAdmin3)).body.details?.dbProxy;
    return seen !== undefined && seen !== true;
  }, 'msg_server to miss db_proxy');
  await new Promise((r) => setTimeout(r, 1500));
  start('db_proxy', { ADMIN_PORT: String(dbAdmin3), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort), MYSQL_HOST: '127.0.0.1', MYSQL_PORT: '3306' });
  // The login comes the moment db_proxy's gRPC port opens, as a client's would while a cluster starts.
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const probe = net.connect(dbPort, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve(true))).once('error', () => resolve(false));
    });
  await until(listening, 'db_proxy to listen');
  const alice = await TeamTalkClient.connect({ host: '127.0.0.1', port: msPort3 });
  try {
    expect((await alice.login({ userName: 'alice', password: 'pw' })).resultCode).toBe(ResultType.REFUSE_REASON_NONE);
  } finally {
    alice.close();
  }
});
