// Starts the product the way an operator does (real processes, real ports)
// for end-to-end tests: standalone mode, or cluster mode against the real
// MariaDB, Redis and NATS on this machine.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { deleteJobStreams } from '@tt/bus';
import { clusterSubjects } from '@tt/proto';
import { isExternal, startExternalDeployment } from './external';
export { isExternal } from './external';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const execFileAsync = promisify(execFile);

export type Mode = 'standalone' | 'cluster';

import { freePort, standaloneListeners } from '@tt/testkit';

export { freePort };

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function isReady(adminPort: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
  return res.status === 200;
}

export interface RoleProcess {
  role: string;
  script: string;
  child: ChildProcess;
  adminPort: number;
  output: string[];
  env: NodeJS.ProcessEnv;
}

function startRole(role: string, script: string, env: NodeJS.ProcessEnv, output: string[] = []): RoleProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 500) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { role, script, child, adminPort: Number(env.ADMIN_PORT), output, env };
}

/** Stops a role's process (SIGTERM, or SIGKILL to simulate a crash) and waits for it to exit. */
export function stopRole(p: RoleProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    p.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.child.kill(signal);
  });
}

/** Starts a stopped role again with the same environment and waits until it is ready. */
export async function restartRole(p: RoleProcess): Promise<void> {
  p.child = startRole(p.role, p.script, p.env, p.output).child;
  await waitUntil(() => isReady(p.adminPort), 30_000, `${p.role} to be ready again`);
}

export interface Deployment {
  mode: Mode;
  loginUrl: string;
  /** msg_server addresses, in start order. */
  msgServers: Array<{ host: string; port: number; process?: RoleProcess; /** The WebSocket front's URL (seed 003). */ wsUrl?: string; /** The tcp12 front's port (seed 001), same host. */ tcp12Port?: number; /** The MSync front (seed 002): its WebSocket URL and TCP port. */ msyncUrl?: string; msyncTcpPort?: number; /** The OMTP front's port (seed 004), same host. */ omtpPort?: number }>;
  processes: RoleProcess[];
  /** Env that points ttctl (and the storage layer) at this deployment's store. */
  storeEnv: NodeJS.ProcessEnv;
  /** file_servers: the client TCP address, the image store's URL and the data directory, in start order. */
  fileServers: Array<{ host: string; port: number; httpUrl: string; dataDir?: string; process?: RoleProcess }>;
  ttctl(...args: string[]): Promise<string>;
  /** Creates a user and returns its id. */
  addUser(name: string, password: string, ...extra: string[]): Promise<number>;
  /**
   * The secret login_server signs access tokens with (AUTH_JWT_SECRET; standalone
   * without one: the jwt-secret file of its data directory). Undefined against an
   * external cluster unless TT_E2E_AUTH_JWT_SECRET names it.
   */
  authSecret?: string;
  /** The first process of a role. */
  role(name: string): RoleProcess;
  stop(): Promise<void>;
  logs(): string;
}

export interface DeploymentOptions {
  msgServers?: number;
  /** Cluster: db_proxy replicas (msg_servers balance over all of them). */
  dbProxies?: number;
  /** Cluster: route_server replicas (one NATS queue group). */
  routeServers?: number;
  /** Cluster: file_server replicas (each with its own data directory); default 1. */
  fileServers?: number;
  env?: NodeJS.ProcessEnv;
  /** Cluster: extra env of the msg_servers only (e.g. support/inspector.ts's INSPECT_ENV). */
  msgServerEnv?: NodeJS.ProcessEnv;
  /** Standalone: reuse this data directory (and keep it on stop). */
  dataDir?: string;
}

const FAST_TEST_ENV = { LOG_LEVEL: 'warn', PASSWORD_SCRYPT_N: '1024' };

export async function startDeployment(mode: Mode, opts: DeploymentOptions = {}): Promise<Deployment> {
  if (isExternal()) return startExternalDeployment(mode, opts);
  return mode === 'standalone' ? startStandalone(opts) : startCluster(opts);
}

async function startStandalone(opts: DeploymentOptions): Promise<Deployment> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-'));
  const listeners = await standaloneListeners();
  const { login: loginPort, msgServer: msgPort, msgServerWs: wsPort, msgServerTcp12: tcp12Port, msgServerMsyncWs: msyncWsPort, msgServerMsyncTcp: msyncTcpPort, msgServerOmtp: omtpPort, fileServer: filePort, fileServerHttp: fileHttpPort } = listeners.ports;
  const env = { ...FAST_TEST_ENV, ...listeners.env, TT_DATA_DIR: dataDir, ...opts.env };
  const proc = startRole('standalone', 'services/standalone/dist/main.js', env);
  const storeEnv = { TT_MODE: 'standalone', TT_DATA_DIR: dataDir, PASSWORD_SCRYPT_N: '1024' };
  const fileServers = [{ host: '127.0.0.1', port: filePort, httpUrl: `http://127.0.0.1:${fileHttpPort}`, dataDir: path.join(dataDir, 'files'), process: proc }];
  const deployment = makeDeployment('standalone', `http://127.0.0.1:${loginPort}`, [{ host: '127.0.0.1', port: msgPort, process: proc, wsUrl: `ws://127.0.0.1:${wsPort}/ws`, tcp12Port, msyncUrl: `ws://127.0.0.1:${msyncWsPort}/ws`, msyncTcpPort, omtpPort }], [proc], storeEnv, async () => {
    if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }, fileServers);
  await waitReady(deployment);
  deployment.authSecret = opts.env?.AUTH_JWT_SECRET || fs.readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  return deployment;
}

async function startCluster(opts: DeploymentOptions): Promise<Deployment> {
  const id = randomBytes(4).toString('hex');
  const database = `tt_e2e_${id}`;
  const common = {
    ...FAST_TEST_ENV,
    // One access-token secret for login_server and every msg_server.
    AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
    TT_SUBJECT_PREFIX: `tte2e${id}`,
    ADMIN_HOST: '127.0.0.1',
    MYSQL_DATABASE: database,
    ...opts.env,
  };
  const processes: RoleProcess[] = [];
  const dbPorts: number[] = [];
  for (let i = 0; i < (opts.dbProxies ?? 1); i++) {
    const dbPort = await freePort();
    dbPorts.push(dbPort);
    processes.push(startRole('db_proxy', 'services/db_proxy/dist/main.js', { ...common, DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort), ADMIN_PORT: String(await freePort()) }));
  }
  const dbProxyAddr = dbPorts.map((p) => `127.0.0.1:${p}`).join(',');
  for (let i = 0; i < (opts.routeServers ?? 1); i++) {
    processes.push(startRole('route_server', 'services/route_server/dist/main.js', { ...common, ADMIN_PORT: String(await freePort()) }));
  }
  // push_server (creates the JetStream stream of push jobs; PUSH_* settings come through opts.env).
  processes.push(startRole('push_server', 'services/push_server/dist/main.js', { ...common, DB_PROXY_ADDR: dbProxyAddr, ADMIN_PORT: String(await freePort()) }));
  const fileServers: Deployment['fileServers'] = [];
  for (let i = 0; i < (opts.fileServers ?? 1); i++) {
    const [port, httpPort, rpcPort] = [await freePort(), await freePort(), await freePort()];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-files-'));
    const fsProc = startRole('file_server', 'services/file_server/dist/main.js', {
      FILE_SERVER_REPORT_INTERVAL_MS: '500',
      ...common,
      FILE_SERVER_ID: `fs${i + 1}`,
      FILE_SERVER_HOST: '127.0.0.1',
      FILE_SERVER_PORT: String(port),
      FILE_SERVER_ADVERTISE_IP: '127.0.0.1',
      FILE_SERVER_HTTP_HOST: '127.0.0.1',
      FILE_SERVER_HTTP_PORT: String(httpPort),
      FILE_SERVER_RPC_HOST: '127.0.0.1',
      FILE_SERVER_RPC_PORT: String(rpcPort),
      FILE_SERVER_DATA_DIR: dataDir,
      ADMIN_PORT: String(await freePort()),
    });
    processes.push(fsProc);
    fileServers.push({ host: '127.0.0.1', port, httpUrl: `http://127.0.0.1:${httpPort}`, dataDir, process: fsProc });
  }
  const loginPort = await freePort();
  const login = startRole('login_server', 'services/login_server/dist/main.js', { LOGIN_MSFS_URL: fileServers[0]?.httpUrl ?? '', ...common, LOGIN_HTTP_HOST: '127.0.0.1', LOGIN_HTTP_PORT: String(loginPort), DB_PROXY_ADDR: dbProxyAddr, ADMIN_PORT: String(await freePort()) });
  processes.push(login);
  const msgServers: Deployment['msgServers'] = [];
  for (let i = 0; i < (opts.msgServers ?? 1); i++) {
    const [port, wsPort, tcp12Port, msyncWsPort, msyncTcpPort, omtpPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const ms = startRole('msg_server', 'services/msg_server/dist/main.js', {
      ...common,
      MSG_SERVER_HOST: '127.0.0.1',
      MSG_SERVER_PORT: String(port),
      MSG_SERVER_WS_PORT: String(wsPort),
      MSG_SERVER_TCP12_PORT: String(tcp12Port),
      MSG_SERVER_OMTP_PORT: String(omtpPort),
      MSG_SERVER_MSYNC_WS_PORT: String(msyncWsPort),
      MSG_SERVER_MSYNC_TCP_PORT: String(msyncTcpPort),
      MSG_SERVER_ID: `ms${i + 1}`,
      DB_PROXY_ADDR: dbProxyAddr,
      MSG_SERVER_REPORT_INTERVAL_MS: '500',
      ADMIN_PORT: String(await freePort()),
      ...opts.msgServerEnv,
    });
    processes.push(ms);
    msgServers.push({ host: '127.0.0.1', port, process: ms, wsUrl: `ws://127.0.0.1:${wsPort}/ws`, tcp12Port, msyncUrl: `ws://127.0.0.1:${msyncWsPort}/ws`, msyncTcpPort, omtpPort });
  }
  const storeEnv = { TT_MODE: 'cluster', MYSQL_DATABASE: database, PASSWORD_SCRYPT_N: '1024' };
  const deployment = makeDeployment('cluster', `http://127.0.0.1:${loginPort}`, msgServers, processes, storeEnv, async () => {
    await execFileAsync('mariadb', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${database}`]).catch(() => {});
    const subjects = clusterSubjects(common.TT_SUBJECT_PREFIX);
    await deleteJobStreams(opts.env?.NATS_URL ?? 'nats://127.0.0.1:4222', subjects.pushStream, subjects.pushJobs).catch(() => {});
    await deleteJobStreams(opts.env?.NATS_URL ?? 'nats://127.0.0.1:4222', subjects.webhookStream, subjects.webhookJobs).catch(() => {});
    for (const f of fileServers) if (f.dataDir) fs.rmSync(f.dataDir, { recursive: true, force: true });
  }, fileServers);
  deployment.authSecret = common.AUTH_JWT_SECRET;
  await waitReady(deployment);
  return deployment;
}

function makeDeployment(mode: Mode, loginUrl: string, msgServers: Deployment['msgServers'], processes: RoleProcess[], storeEnv: NodeJS.ProcessEnv, cleanup: () => Promise<void>, fileServers: Deployment['fileServers'] = []): Deployment {
  const ttctl = async (...args: string[]) => {
    // notify goes through a msg_server's admin port (the first one's).
    const adminPort = msgServers[0]?.process?.adminPort;
    const adminEnv = adminPort ? { TT_ADMIN_URL: `http://127.0.0.1:${adminPort}` } : {};
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'packages/ttctl/dist/main.js'), ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...storeEnv, ...adminEnv } });
    return stdout;
  };
  return {
    mode,
    loginUrl,
    msgServers,
    fileServers,
    processes,
    storeEnv,
    ttctl,
    addUser: async (name, password, ...extra) => {
      const out = await ttctl('user', 'add', name, '--password', password, ...extra);
      const m = /id (\d+)/.exec(out);
      if (!m) throw new Error(`unexpected ttctl output: ${out}`);
      return Number(m[1]);
    },
    logs: () => processes.map((p) => `--- ${p.role}\n${p.output.join('')}`).join('\n'),
    role: (name) => {
      const p = processes.find((x) => x.role === name);
      if (!p) throw new Error(`no ${name} in this deployment`);
      return p;
    },
    stop: async () => {
      await Promise.all(processes.map((p) => stopRole(p)));
      await cleanup();
    },
  };
}

async function waitReady(d: Deployment): Promise<void> {
  try {
    for (const p of d.processes) {
      await waitUntil(() => {
        if (p.child.exitCode !== null) throw new Error(`${p.role} exited with ${p.child.exitCode}`);
        return isReady(p.adminPort);
      }, 30_000, `${p.role} to be ready`);
    }
    // login_server must know every msg_server before clients ask it.
    await waitUntil(async () => {
      const seen = new Set<number>();
      for (let i = 0; i < d.msgServers.length * 4; i++) {
        const res = await fetch(`${d.loginUrl}/msg_server`);
        const body = (await res.json()) as { code: number; port?: string };
        if (body.code === 0) seen.add(Number(body.port));
      }
      return seen.size === d.msgServers.length;
    }, 45_000, 'login_server to know every msg_server');
  } catch (err) {
    const logs = d.logs();
    await d.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

/** The modes a suite runs in: both locally; only cluster against an external (compose) cluster. */
export const MODES: Mode[] = isExternal() ? ['cluster'] : ['standalone', 'cluster'];

/** For suites that start, stop or reconfigure processes themselves: skipped against an external cluster. */
export const describeLocal: jest.Describe = isExternal() ? describe.skip : describe;
