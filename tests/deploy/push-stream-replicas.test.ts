// PUSH_STREAM_REPLICAS (Helm value pushServer.streamReplicas) reaches the
// JetStream streams push_server creates: push_server started as the image
// starts it (deploy/entrypoint.js push_server) against the NATS on 127.0.0.1,
// with a subject prefix of its own; its streams are deleted afterwards. One
// NATS server holds one replica, so 3 replicas must be refused by NATS, which
// proves the setting is what push_server asks for. Needs the build (dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { freePort } from '@tt/testkit';
import { clusterSubjects } from '@tt/proto';
import { deleteJobStreams, NatsBus } from '@tt/bus';
import { REPO_ROOT } from './support/k8s';

jest.setTimeout(60_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ENTRYPOINT = path.join(REPO_ROOT, 'deploy', 'entrypoint.js');
const prefixes: string[] = [];
const children: ChildProcess[] = [];
let bus: NatsBus;
const jsm = () => bus.connection.jetstreamManager();

beforeAll(async () => {
  bus = await NatsBus.connect({ servers: [NATS_URL], name: 'push-stream-replicas-test' });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const p of prefixes) {
    const s = clusterSubjects(p);
    await deleteJobStreams(NATS_URL, s.pushStream, s.pushJobs).catch(() => undefined);
  }
  await bus.close();
});

/** Starts push_server with PUSH_STREAM_REPLICAS; resolves once its streams exist (ready: true; then stops it) or when it has exited. */
async function startPushServer(replicas: number): Promise<{ prefix: string; ready: boolean; exitCode: number | null; output: string }> {
  const prefix = `ttreplicas${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  const adminPort = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [ENTRYPOINT, 'push_server'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: String(adminPort), NATS_URL, TT_SUBJECT_PREFIX: prefix, DB_PROXY_ADDR: `127.0.0.1:${await freePort()}`, PUSH_STREAM_REPLICAS: String(replicas) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return { prefix, ready: false, exitCode: child.exitCode, output: output.join('') };
    // Ready (/readyz) also needs db_proxy, which is not running here: the dead-letter stream, created last, shows the streams are done.
    const ok = await (await jsm()).streams.info(`${clusterSubjects(prefix).pushStream}_DEAD`).then(() => true, () => false);
    if (ok) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return { prefix, ready: true, exitCode: child.exitCode, output: output.join('') };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`push_server neither became ready nor exited:\n${output.join('')}`);
}

test('push_server creates its job and dead-letter streams with PUSH_STREAM_REPLICAS replicas', async () => {
  const r = await startPushServer(1);
  expect({ ready: r.ready, output: r.ready ? '' : r.output }).toEqual({ ready: true, output: '' });
  const manager = await jsm();
  const stream = clusterSubjects(r.prefix).pushStream;
  expect((await manager.streams.info(stream)).config.num_replicas).toBe(1);
  expect((await manager.streams.info(`${stream}_DEAD`)).config.num_replicas).toBe(1);
});

test('3 replicas are asked of NATS: a single server refuses them and push_server does not start', async () => {
  const r = await startPushServer(3);
  expect(r.ready).toBe(false);
  expect(r.exitCode).not.toBe(0);
  expect(r.output).toMatch(/replicas/i);
});
