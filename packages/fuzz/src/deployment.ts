// The deployment under fuzz: started here (standalone, or every cluster role
// against the local MariaDB/Redis/NATS), on free loopback ports, the way
// packages/bench and the e2e suite start one. Each process's output is
// counted (log bytes) and its RSS read from /proc.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { deleteJobStreams } from '@tt/bus';
import { clusterSubjects } from '@tt/proto';
import { freePorts, standaloneListeners } from '@tt/testkit';
import type { Endpoint } from './conn';
import { REPO_ROOT } from './protobuf-gen';
import type { Role, TargetName } from './targets/target';

const execFileAsync = promisify(execFile);

/** Settings every started process gets unless --server-env overrides them. */
export const FUZZ_SERVER_DEFAULTS: Record<string, string> = {
  // The operator API's per-address budget (600/min) would answer nearly every fuzz request with 429 before any handler.
  ADMIN_API_RATE_LIMIT: '0',
  PASSWORD_SCRYPT_N: '1024',
};

export interface ServerProcess {
  role: string;
  child: ChildProcess;
  adminUrl: string;
  /** Bytes the process wrote to stdout and stderr so far (its log). */
  logBytes: number;
  /** Log lines at level error or fatal so far, and the last few of them. */
  errorLines: number;
  lastErrors: string[];
  tail: string[];
}

export interface Deployment {
  mode: 'standalone' | 'cluster';
  loginUrl: string;
  endpoints: Record<TargetName, Endpoint>;
  processes: ServerProcess[];
  /** The processes serving a role (standalone: the one process). */
  processesOf(role: Role): ServerProcess[];
  /** `ttctl` against this deployment's store. */
  ttctl(...args: string[]): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where started processes' output is copied (--server-log), besides being counted. */
let logCopy: fs.WriteStream | undefined;
export function copyServerLogTo(file: string | undefined): void {
  logCopy?.end();
  logCopy = file ? fs.createWriteStream(file, { flags: 'w' }) : undefined;
}

function startProcess(role: string, script: string, env: Record<string, string>, adminPort: number): ServerProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: ServerProcess = { role, child, adminUrl: `http://127.0.0.1:${adminPort}`, logBytes: 0, errorLines: 0, lastErrors: [], tail: [] };
  const keep = (chunk: Buffer) => {
    p.logBytes += chunk.length;
    countErrors(p, chunk);
    logCopy?.write(chunk);
    p.tail.push(chunk.toString());
    if (p.tail.length > 100) p.tail.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`spawn failed: ${err.message}\n`)));
  live.add(p);
  child.once('exit', () => live.delete(p));
  return p;
}

const ERROR_LEVEL = /"level":(?:"error"|"fatal"|50|60)[,}]/;

/** pino writes one JSON object a line; a line split across chunks is rare and only ever missed, never miscounted. */
function countErrors(p: ServerProcess, chunk: Buffer): void {
  if (!chunk.includes('"level":')) return;
  for (const line of chunk.toString('utf8').split('\n')) {
    if (!ERROR_LEVEL.test(line)) continue;
    p.errorLines++;
    p.lastErrors.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (p.lastErrors.length > 5) p.lastErrors.shift();
  }
}

/** Processes still running when the fuzzer exits abnormally are killed, never left behind. */
const live = new Set<ServerProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

function stopProcess(p: ServerProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
    p.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.child.kill('SIGTERM');
  });
}

export function exited(p: ServerProcess): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

async function waitReady(d: Deployment): Promise<void> {
  const deadline = Date.now() + 60_000;
  const check = async (): Promise<boolean> => {
    for (const p of d.processes) {
      if (exited(p)) throw new Error(`${p.role} exited (${p.child.exitCode ?? p.child.signalCode})`);
      const res = await fetch(`${p.adminUrl}/readyz`).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.status !== 200) return false;
    }
    const res = await fetch(`${d.loginUrl}/msg_server`).catch(() => undefined);
    const body = (await res?.json().catch(() => undefined)) as { code?: number } | undefined;
    return body?.code === 0;
  };
  try {
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out after 60 s waiting for the deployment to be ready');
      await sleep(200);
    }
  } catch (err) {
    const logs = d.logs();
    await d.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

function makeTtctl(storeEnv: Record<string, string>, adminUrl: string) {
  return async (...args: string[]) => {
    const env = { ...process.env, LOG_LEVEL: 'warn', PASSWORD_SCRYPT_N: '1024', TT_ADMIN_URL: adminUrl, ...storeEnv };
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'packages/ttctl/dist/main.js'), ...args], { env });
    return stdout;
  };
}

export async function startStandalone(extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-fuzz-'));
  const { ports, env: listenerEnv } = await standaloneListeners();
  const env = { ...FUZZ_SERVER_DEFAULTS, ...listenerEnv, TT_DATA_DIR: dataDir, TT_SUBJECT_PREFIX: `ttfuzz${randomBytes(4).toString('hex')}`, ...extraEnv };
  const proc = startProcess('standalone', 'services/standalone/dist/main.js', env, ports.admin);
  const at = (port: number, p?: string): Endpoint => ({ host: '127.0.0.1', port, path: p });
  const d: Deployment = {
    mode: 'standalone',
    loginUrl: `http://127.0.0.1:${ports.login}`,
    endpoints: {
      teamtalk: at(ports.msgServer),
      ws: at(ports.msgServerWs, '/ws'),
      tcp12: at(ports.msgServerTcp12),
      'msync-ws': at(ports.msgServerMsyncWs, '/ws'),
      'msync-tcp': at(ports.msgServerMsyncTcp),
      omtp: at(ports.msgServerOmtp),
      file: at(ports.fileServer),
      'file-http': at(ports.fileServerHttp),
      'login-http': at(ports.login),
      'admin-api': at(ports.login),
    },
    processes: [proc],
    processesOf: () => [proc],
    ttctl: makeTtctl({ TT_MODE: 'standalone', TT_DATA_DIR: dataDir }, proc.adminUrl),
    logs: () => `--- standalone\n${proc.tail.join('')}`,
    stop: async () => {
      await stopProcess(proc);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await waitReady(d);
  return d;
}

/** Every role, one process each, against MariaDB/Redis/NATS on this machine (a fresh database, dropped on stop). */
export async function startCluster(extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const id = randomBytes(4).toString('hex');
  const database = `tt_fuzz_${id}`;
  const common = { ...FUZZ_SERVER_DEFAULTS, AUTH_JWT_SECRET: randomBytes(32).toString('base64url'), TT_SUBJECT_PREFIX: `ttfuzz${id}`, ADMIN_HOST: '127.0.0.1', MYSQL_DATABASE: database, ...extraEnv };
  const [dbPort, dbAdmin, routeAdmin, pushAdmin, filePort, fileHttp, fileRpc, fileAdmin, loginPort, loginAdmin, msgPort, msgWs, msgTcp12, msgMsyncWs, msgMsyncTcp, msgOmtp, msgAdmin] = await freePorts(17);
  const filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-fuzz-files-'));
  const db = `127.0.0.1:${dbPort}`;
  const processes = [
    startProcess('db_proxy', 'services/db_proxy/dist/main.js', { ...common, DB_PROXY_HOST: '127.0.0.1', DB_PROXY_PORT: String(dbPort), ADMIN_PORT: String(dbAdmin) }, dbAdmin),
    startProcess('route_server', 'services/route_server/dist/main.js', { ...common, ADMIN_PORT: String(routeAdmin) }, routeAdmin),
    startProcess('push_server', 'services/push_server/dist/main.js', { ...common, DB_PROXY_ADDR: db, ADMIN_PORT: String(pushAdmin) }, pushAdmin),
    startProcess('file_server', 'services/file_server/dist/main.js', { FILE_SERVER_REPORT_INTERVAL_MS: '500', ...common, FILE_SERVER_ID: 'fs1', FILE_SERVER_HOST: '127.0.0.1', FILE_SERVER_PORT: String(filePort), FILE_SERVER_ADVERTISE_IP: '127.0.0.1', FILE_SERVER_HTTP_HOST: '127.0.0.1', FILE_SERVER_HTTP_PORT: String(fileHttp), FILE_SERVER_RPC_HOST: '127.0.0.1', FILE_SERVER_RPC_PORT: String(fileRpc), FILE_SERVER_DATA_DIR: filesDir, ADMIN_PORT: String(fileAdmin) }, fileAdmin),
    startProcess('login_server', 'services/login_server/dist/main.js', { LOGIN_MSFS_URL: `http://127.0.0.1:${fileHttp}`, ...common, LOGIN_HTTP_HOST: '127.0.0.1', LOGIN_HTTP_PORT: String(loginPort), DB_PROXY_ADDR: db, ADMIN_PORT: String(loginAdmin) }, loginAdmin),
    startProcess('msg_server', 'services/msg_server/dist/main.js', { ...common, MSG_SERVER_HOST: '127.0.0.1', MSG_SERVER_PORT: String(msgPort), MSG_SERVER_WS_PORT: String(msgWs), MSG_SERVER_TCP12_PORT: String(msgTcp12), MSG_SERVER_MSYNC_WS_PORT: String(msgMsyncWs), MSG_SERVER_MSYNC_TCP_PORT: String(msgMsyncTcp), MSG_SERVER_OMTP_PORT: String(msgOmtp), MSG_SERVER_ID: 'fuzz-ms1', DB_PROXY_ADDR: db, MSG_SERVER_REPORT_INTERVAL_MS: '500', ADMIN_PORT: String(msgAdmin) }, msgAdmin),
  ];
  const at = (port: number, p?: string): Endpoint => ({ host: '127.0.0.1', port, path: p });
  const storeEnv: Record<string, string> = { TT_MODE: 'cluster', MYSQL_DATABASE: database };
  for (const k of ['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_PASSWORD']) if (process.env[k] !== undefined) storeEnv[k] = process.env[k]!;
  const d: Deployment = {
    mode: 'cluster',
    loginUrl: `http://127.0.0.1:${loginPort}`,
    endpoints: {
      teamtalk: at(msgPort),
      ws: at(msgWs, '/ws'),
      tcp12: at(msgTcp12),
      'msync-ws': at(msgMsyncWs, '/ws'),
      'msync-tcp': at(msgMsyncTcp),
      omtp: at(msgOmtp),
      file: at(filePort),
      'file-http': at(fileHttp),
      'login-http': at(loginPort),
      'admin-api': at(loginPort),
    },
    processes,
    processesOf: (role) => processes.filter((p) => p.role === role),
    ttctl: makeTtctl(storeEnv, `http://127.0.0.1:${msgAdmin}`),
    logs: () => processes.map((p) => `--- ${p.role}\n${p.tail.join('')}`).join('\n'),
    stop: async () => {
      await Promise.all(processes.filter((p) => p.role === 'msg_server').map(stopProcess));
      await Promise.all(processes.map(stopProcess));
      fs.rmSync(filesDir, { recursive: true, force: true });
      await execFileAsync('mariadb', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${database}`]).catch(() => undefined);
      const subjects = clusterSubjects(common.TT_SUBJECT_PREFIX);
      const nats = (common as Record<string, string>).NATS_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
      await deleteJobStreams(nats, subjects.pushStream, subjects.pushJobs).catch(() => undefined);
      await deleteJobStreams(nats, subjects.webhookStream, subjects.webhookJobs).catch(() => undefined);
    },
  };
  await waitReady(d);
  return d;
}

/** Resident set size of a process (VmRSS of /proc/<pid>/status), in bytes; undefined when it is gone. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
