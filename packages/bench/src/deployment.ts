// The deployment a run measures: one the harness starts itself (--start
// standalone|cluster, fresh data dir or database, unique subject prefix,
// stopped afterwards) or a running one (--login-url). Loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '@tt/storage';
import { deleteJobStreams } from '@tt/bus';
import { clusterSubjects } from '@tt/proto';
import { freePorts, standaloneListeners } from '@tt/testkit';
import { storeConfigFromEnv } from './users';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Settings a started deployment gets unless --server-env overrides them. */
export const BENCH_SERVER_DEFAULTS = {
  LOG_LEVEL: 'warn',
  /** Bench senders must not be throttled by the per-user limit (default 20/s). */
  MSG_SERVER_MSG_RATE_LIMIT: '1000000',
  /** Lowest the config allows; only used by the server for unknown-user dummy checks (see README). */
  PASSWORD_SCRYPT_N: '1024',
};

/** Throws unless the host is a loopback address (127.0.0.0/8, localhost): a benchmark never targets anything else. */
export function assertLoopback(host: string, what: string): void {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return;
  if (net.isIPv4(h) && h.startsWith('127.')) return;
  throw new Error(`${what} ${host} is not a loopback address: the benchmark only targets 127.0.0.0/8`);
}

export function assertLoopbackUrl(url: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} ${url} is not a URL`);
  }
  if (u.protocol !== 'http:') throw new Error(`${what} ${url}: only http:// is supported`);
  assertLoopback(u.hostname, what);
  return u;
}

export interface RoleProcess {
  role: string;
  child: ChildProcess;
  adminUrl: string;
  tail: string[];
}

export interface Deployment {
  mode: 'standalone' | 'cluster' | 'external';
  started: boolean;
  loginUrl: string;
  /** Admin endpoints of the msg_server(s) (standalone: the one process). */
  adminUrls: string[];
  /** Env for the store (ttctl rules): where bench users are created. */
  storeEnv: NodeJS.ProcessEnv;
  /** Settings the started processes got (or what is known of an external one). */
  settings: Record<string, string>;
  processes: RoleProcess[];
  /** Listener ports known beyond login_server's answers (a started standalone: file_server's client port). */
  ports?: { fileServer?: number };
  stop(): Promise<void>;
  logs(): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, abort?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = abort?.();
    if (why) throw new Error(`${what}: ${why}`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Node flags that make a role write a CPU profile named after it into dir when it exits. */
function profileArgs(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

function startRole(role: string, script: string, env: NodeJS.ProcessEnv, adminPort: number, cpuProfDir?: string): RoleProcess {
  const args = [...profileArgs(cpuProfDir, role), path.join(REPO_ROOT, script)];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString());
    if (tail.length > 200) tail.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`spawn failed: ${err.message}\n`)));
  return { role, child, adminUrl: `http://127.0.0.1:${adminPort}`, tail };
}

function stopRole(p: RoleProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
    p.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.child.kill('SIGTERM');
  });
}

/** Processes still running when the harness exits abnormally are killed, never left behind. */
const live = new Set<RoleProcess>();
let exitHookInstalled = false;
function track(p: RoleProcess): void {
  live.add(p);
  p.child.once('exit', () => live.delete(p));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const r of live) r.child.kill('SIGKILL');
    });
  }
}

async function isReady(adminUrl: string): Promise<boolean> {
  const res = await fetch(`${adminUrl}/readyz`);
  await res.arrayBuffer();
  return res.status === 200;
}

function exitedRole(processes: RoleProcess[]): string | undefined {
  const dead = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  return dead ? `${dead.role} exited (${dead.child.exitCode ?? dead.child.signalCode})` : undefined;
}

async function waitDeploymentReady(d: Deployment, msgServerCount: number): Promise<void> {
  try {
    for (const p of d.processes) await waitUntil(() => isReady(p.adminUrl), 60_000, `${p.role} to be ready`, () => exitedRole(d.processes));
    await waitUntil(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < msgServerCount * 4; i++) {
          const body = (await (await fetch(`${d.loginUrl}/msg_server`)).json()) as { code: number; port?: string };
          if (body.code === 0) seen.add(String(body.port));
        }
        return seen.size === msgServerCount;
      },
      30_000,
      'login_server to know every msg_server',
      () => exitedRole(d.processes),
    );
  } catch (err) {
    const logs = d.logs();
    await d.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

export interface StartOptions {
  msgServers?: number;
  /** Extra environment for every started process (overrides the bench defaults). */
  env?: Record<string, string>;
  /** Keep the data directory / database after stop. */
  keep?: boolean;
  /** Every started process writes a CPU profile (`node --cpu-prof`) here when it stops. */
  cpuProfDir?: string;
  log?: (line: string) => void;
}

export async function startStandalone(opts: StartOptions = {}): Promise<Deployment> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-bench-'));
  const listeners = await standaloneListeners();
  const settings: Record<string, string> = { ...BENCH_SERVER_DEFAULTS, ...opts.env };
  // The WebSocket front on a free port too (its default, 8081, may be taken or used by another run).
  const listenerEnv: Record<string, string | undefined> = listeners.env;
  const wsPort = listenerEnv.MSG_SERVER_WS_PORT ?? settings.MSG_SERVER_WS_PORT ?? String((await freePorts(1))[0]);
  const env = { ...settings, ...listeners.env, MSG_SERVER_WS_PORT: wsPort, TT_DATA_DIR: dataDir, TT_SUBJECT_PREFIX: `ttbench${randomBytes(4).toString('hex')}` };
  const { login: loginPort, admin: adminPort } = listeners.ports;
  const proc = startRole('standalone', 'services/standalone/dist/main.js', env, adminPort, opts.cpuProfDir);
  track(proc);
  const d: Deployment = {
    mode: 'standalone',
    started: true,
    loginUrl: `http://127.0.0.1:${loginPort}`,
    adminUrls: [proc.adminUrl],
    storeEnv: { TT_MODE: 'standalone', TT_DATA_DIR: dataDir },
    settings: { ...settings, TT_DATA_DIR: opts.keep ? dataDir : '(temporary)' },
    processes: [proc],
    ports: { fileServer: listeners.ports.fileServer },
    logs: () => `--- standalone\n${proc.tail.join('')}`,
    stop: async () => {
      await stopRole(proc);
      if (!opts.keep) fs.rmSync(dataDir, { recursive: true, force: true });
      else opts.log?.(`kept data directory ${dataDir}`);
    },
  };
  await waitDeploymentReady(d, 1);
  return d;
}

export async function startCluster(opts: StartOptions = {}): Promise<Deployment> {
  const count = opts.msgServers ?? 1;
  const id = randomBytes(4).toString('hex');
  const database = `tt_bench_${id}`;
  const settings: Record<string, string> = { ...BENCH_SERVER_DEFAULTS, ...opts.env };
  // One access-token secret for login_server and every msg_server (WebSocket logins).
  const common = { AUTH_JWT_SECRET: randomBytes(32).toString('base64url'), ...settings, TT_SUBJECT_PREFIX: `ttbench${id}`, ADMIN_HOST: '127.0.0.1', MYSQL_DATABASE: database };
  // Then `count` for each msg_server's tcp12 front (its default, 8082, would collide between them),
  // and 2 × `count` for each one's MSync front (WebSocket, TCP; defaults 8083/8084, the same).
  const allPorts = await freePorts(6 + 7 * count);
  const ports = allPorts.slice(0, 6 + 3 * count);
  const tcp12Ports = allPorts.slice(6 + 3 * count, 6 + 4 * count);
  const msyncPorts = allPorts.slice(6 + 4 * count, 6 + 6 * count);
  // And `count` for each one's OMTP front (default 8085).
  const omtpPorts = allPorts.slice(6 + 6 * count);
  const [dbPort, dbAdmin, routeAdmin, loginPort, loginAdmin, pushAdmin] = ports;
  const processes: RoleProcess[] = [];
  const add = (p: RoleProcess) => {
    track(p);
    processes.push(p);
    return p;
  };
  add(startRole('db_proxy', 'services/db_proxy/dist/main.js', { ...common, DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort), ADMIN_PORT: String(dbAdmin) }, dbAdmin, opts.cpuProfDir));
  add(startRole('route_server', 'services/route_server/dist/main.js', { ...common, ADMIN_PORT: String(routeAdmin) }, routeAdmin, opts.cpuProfDir));
  add(startRole('login_server', 'services/login_server/dist/main.js', { ...common, LOGIN_HTTP_HOST: '127.0.0.1', LOGIN_HTTP_PORT: String(loginPort), DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, ADMIN_PORT: String(loginAdmin) }, loginAdmin, opts.cpuProfDir));
  // Every role runs, as in production: msg_server queues a push job per message for recipients without a phone online.
  add(startRole('push_server', 'services/push_server/dist/main.js', { ...common, DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, ADMIN_PORT: String(pushAdmin) }, pushAdmin, opts.cpuProfDir));
  const msgAdmins: string[] = [];
  for (let i = 0; i < count; i++) {
    const port = ports[6 + 3 * i];
    const admin = ports[7 + 3 * i];
    const wsPort = settings.MSG_SERVER_WS_PORT === '0' ? '0' : String(ports[8 + 3 * i]);
    const p = add(
      startRole(
        `msg_server-${i + 1}`,
        'services/msg_server/dist/main.js',
        { ...common, MSG_SERVER_HOST: '127.0.0.1', MSG_SERVER_PORT: String(port), MSG_SERVER_WS_PORT: wsPort, MSG_SERVER_TCP12_PORT: settings.MSG_SERVER_TCP12_PORT === '0' ? '0' : String(tcp12Ports[i]), MSG_SERVER_MSYNC_WS_PORT: settings.MSG_SERVER_MSYNC_WS_PORT === '0' ? '0' : String(msyncPorts[2 * i]), MSG_SERVER_MSYNC_TCP_PORT: settings.MSG_SERVER_MSYNC_TCP_PORT === '0' ? '0' : String(msyncPorts[2 * i + 1]), MSG_SERVER_OMTP_PORT: settings.MSG_SERVER_OMTP_PORT === '0' ? '0' : String(omtpPorts[i]), MSG_SERVER_ID: `bench-ms${i + 1}`, DB_PROXY_ADDR: `127.0.0.1:${dbPort}`, ADMIN_PORT: String(admin) },
        admin,
        opts.cpuProfDir,
      ),
    );
    msgAdmins.push(p.adminUrl);
  }
  const storeEnv: NodeJS.ProcessEnv = { TT_MODE: 'cluster', MYSQL_DATABASE: database };
  for (const k of ['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_PASSWORD']) {
    const v = settings[k] ?? process.env[k];
    if (v !== undefined) storeEnv[k] = v;
  }
  const d: Deployment = {
    mode: 'cluster',
    started: true,
    loginUrl: `http://127.0.0.1:${loginPort}`,
    adminUrls: msgAdmins,
    storeEnv,
    settings: { ...settings, MYSQL_DATABASE: database, msgServers: String(count) },
    processes,
    logs: () => processes.map((p) => `--- ${p.role}\n${p.tail.join('')}`).join('\n'),
    stop: async () => {
      // msg_servers first (they drain their clients), then the rest.
      await Promise.all(processes.filter((p) => p.role.startsWith('msg_server')).map(stopRole));
      await Promise.all(processes.map(stopRole));
      if (opts.keep) {
        opts.log?.(`kept database ${database} and the push job streams of ${common.TT_SUBJECT_PREFIX}`);
        return;
      }
      await deleteJobStreams(settings.NATS_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222', clusterSubjects(common.TT_SUBJECT_PREFIX).pushStream, clusterSubjects(common.TT_SUBJECT_PREFIX).pushJobs).catch((err) => opts.log?.(`could not delete the push streams: ${(err as Error).message}`));
      await deleteJobStreams(settings.NATS_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222', clusterSubjects(common.TT_SUBJECT_PREFIX).webhookStream, clusterSubjects(common.TT_SUBJECT_PREFIX).webhookJobs).catch((err) => opts.log?.(`could not delete the webhook streams: ${(err as Error).message}`));
      const db = await openDatabase(storeConfigFromEnv(storeEnv)).catch(() => undefined);
      if (db) {
        await db.execute(`DROP DATABASE IF EXISTS \`${database}\``).catch((err) => opts.log?.(`could not drop ${database}: ${(err as Error).message}`));
        await db.close();
      }
    },
  };
  await waitDeploymentReady(d, count);
  return d;
}

/** A deployment the harness did not start. */
export function externalDeployment(loginUrl: string, adminUrls: string[], storeEnv: NodeJS.ProcessEnv): Deployment {
  assertLoopbackUrl(loginUrl, 'login URL');
  for (const a of adminUrls) assertLoopbackUrl(a, 'admin URL');
  const mode = storeEnv.TT_MODE === 'cluster' ? 'cluster' : 'standalone';
  return {
    mode: 'external',
    started: false,
    loginUrl: loginUrl.replace(/\/+$/, ''),
    adminUrls,
    storeEnv,
    settings: { store: mode },
    processes: [],
    logs: () => '',
    stop: async () => {},
  };
}


