// The endpoints the chart and the compose file probe exist in every role, as
// the image starts it (deploy/entrypoint.js <role>), and /readyz answers 200
// only when the role is ready: msg_server not before db_proxy answers. Needs
// the build (dist/) and MariaDB, Redis and NATS on 127.0.0.1 (scripts/test.sh).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envOf, helmTemplate, workloads, REPO_ROOT } from './support/k8s';
import { freePort } from '@tt/testkit';

jest.setTimeout(60_000);

const ENTRYPOINT = path.join(REPO_ROOT, 'deploy', 'entrypoint.js');
const id = randomBytes(4).toString('hex');
const common = { LOG_LEVEL: 'warn', ADMIN_HOST: '127.0.0.1', TT_SUBJECT_PREFIX: `ttdeploy${id}`, MYSQL_DATABASE: `tt_deploy_${id}`, PASSWORD_SCRYPT_N: '1024' };
const children: Array<{ role: string; child: ChildProcess; output: string[] }> = [];

function start(role: string, env: Record<string, string>) {
  const output: string[] = [];
  const child = spawn(process.execPath, [ENTRYPOINT, role], { env: { ...process.env, ...common, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  children.push({ role, child, output });
  return child;
}

async function status(port: number, urlPath: string): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${urlPath}`)).status;
  } catch {
    return 0;
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${children.map((c) => `--- ${c.role}\n${c.output.join('')}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The probe paths come from the chart, so a renamed endpoint fails here.
const probes = (() => {
  const out: Record<string, { live: string; ready: string }> = {};
  for (const w of workloads(helmTemplate()).values()) {
    const c = w.spec.template.spec.containers[0];
    out[c.args[0]] = { live: c.livenessProbe.httpGet.path, ready: c.readinessProbe.httpGet.path };
    expect(envOf(c).ADMIN_PORT).toBeDefined();
  }
  return out;
})();

beforeAll(() => {
  for (const role of ['db_proxy', 'msg_server', 'login_server', 'route_server']) {
    const script = path.join(REPO_ROOT, 'services', role, 'dist', 'main.js');
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`pnpm build\` first`);
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
  await new Promise<void>((resolve) => execFile('mariadb', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${common.MYSQL_DATABASE}`], () => resolve()));
});

test('route_server and login_server: /healthz and /readyz are 200 once connected to NATS', async () => {
  for (const role of ['route_server', 'login_server']) {
    const adminPort = await freePort();
    start(role, { ADMIN_PORT: String(adminPort), LOGIN_HTTP_HOST: '127.0.0.1', LOGIN_HTTP_PORT: String(await freePort()) });
    await until(async () => (await status(adminPort, probes[role].live)) === 200, `${role} ${probes[role].live}`);
    await until(async () => (await status(adminPort, probes[role].ready)) === 200, `${role} ${probes[role].ready}`);
    expect(await status(adminPort, '/metrics')).toBe(200);
  }
});

test('file_server: /healthz and /readyz are 200 once connected to NATS', async () => {
  const adminPort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-health-files-'));
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  {
    start('file_server', {
      ADMIN_PORT: String(adminPort),
      FILE_SERVER_HOST: '127.0.0.1',
      FILE_SERVER_PORT: String(await freePort()),
      FILE_SERVER_HTTP_HOST: '127.0.0.1',
      FILE_SERVER_HTTP_PORT: String(await freePort()),
      FILE_SERVER_RPC_HOST: '127.0.0.1',
      FILE_SERVER_RPC_PORT: String(await freePort()),
      FILE_SERVER_DATA_DIR: dataDir,
    });
    await until(async () => (await status(adminPort, probes.file_server!.live)) === 200, 'file_server /healthz');
    await until(async () => (await status(adminPort, probes.file_server!.ready)) === 200, 'file_server /readyz');
    expect(await status(adminPort, '/metrics')).toBe(200);
  }
});

test('msg_server is alive but not ready until db_proxy answers; db_proxy is ready with MySQL and Redis', async () => {
  const dbPort = await freePort();
  const msAdmin = await freePort();
  start('msg_server', { ADMIN_PORT: String(msAdmin), MSG_SERVER_HOST: '127.0.0.1', MSG_SERVER_PORT: String(await freePort()), DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, DB_PROXY_TIMEOUT_MS: '500' });
  await until(async () => (await status(msAdmin, probes.msg_server.live)) === 200, 'msg_server /healthz');
  // Alive, connected to NATS, but db_proxy is not there yet: not ready, repeatedly.
  for (let i = 0; i < 3; i++) {
    expect(await status(msAdmin, probes.msg_server.ready)).toBe(503);
    await new Promise((r) => setTimeout(r, 200));
  }
  const dbAdmin = await freePort();
  start('db_proxy', { ADMIN_PORT: String(dbAdmin), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort) });
  await until(async () => (await status(dbAdmin, probes.db_proxy.ready)) === 200, 'db_proxy /readyz');
  expect(await status(dbAdmin, probes.db_proxy.live)).toBe(200);
  await until(async () => (await status(msAdmin, probes.msg_server.ready)) === 200, 'msg_server /readyz after db_proxy came up');
});

test('push_server is alive at once but not ready until db_proxy answers; it serves /metrics', async () => {
  const { JetStreamJobQueue, NatsBus } = await import('@tt/bus');
  const { clusterSubjects } = await import('@tt/proto');
  const dbPort = await freePort();
  const pushAdmin = await freePort();
  try {
    start('push_server', { ADMIN_PORT: String(pushAdmin), DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, DB_PROXY_TIMEOUT_MS: '500' });
    await until(async () => (await status(pushAdmin, probes.push_server.live)) === 200, 'push_server /healthz');
    for (let i = 0; i < 3; i++) {
      expect(await status(pushAdmin, probes.push_server.ready)).toBe(503);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await status(pushAdmin, '/metrics')).toBe(200);
    start('db_proxy', { ADMIN_PORT: String(await freePort()), DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort) });
    await until(async () => (await status(pushAdmin, probes.push_server.ready)) === 200, 'push_server /readyz after db_proxy came up');
  } finally {
    // The JetStream streams push_server created for this run's subject prefix.
    const bus = await NatsBus.connect({ servers: 'nats://127.0.0.1:4222', name: 'health-cleanup' });
    const s = clusterSubjects(common.TT_SUBJECT_PREFIX);
    await (await JetStreamJobQueue.open({ connection: bus.connection, stream: s.pushStream, subjectPrefix: s.pushJobs, manage: false })).destroy();
    await bus.close();
  }
});
