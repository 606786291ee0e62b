// The end-to-end suite against a cluster that is already running somewhere
// else (deploy/docker-compose.yml, service "integration"), instead of the
// processes deployment.ts starts. Selected by environment variables:
//
//   TT_E2E_LOGIN_URL     login_server's HTTP base URL, e.g. http://login-server:8080 (turns external mode on)
//   TT_E2E_MSG_SERVERS   the msg_servers clients may connect to directly: "host:port,host:port"
//   TT_MODE=cluster, MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE
//                        the cluster's store, for ttctl (creating users)
//   TT_E2E_READY_TIMEOUT_MS  how long to wait for the cluster to answer (default 60000)
//   TT_E2E_AUTH_JWT_SECRET   the cluster's AUTH_JWT_SECRET, to check the tokens it issues (optional)
//
// Only cluster mode can run this way, with the cluster's own configuration and
// no control over its processes: a test that needs standalone mode, its own
// settings (DeploymentOptions.env), a data directory or to stop a role must be
// skipped when isExternal() is true.
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Deployment, DeploymentOptions, Mode } from './deployment';

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const STORE_VARS = ['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_PASSWORD', 'MYSQL_DATABASE', 'PASSWORD_SCRYPT_N'] as const;

/** True when the suite runs against an external cluster (TT_E2E_LOGIN_URL is set). */
export function isExternal(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TT_E2E_LOGIN_URL);
}

/** Parses TT_E2E_MSG_SERVERS ("host:port,host:port"). */
export function parseMsgServers(spec: string): Array<{ host: string; port: number }> {
  const out: Array<{ host: string; port: number }> = [];
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(.+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`TT_E2E_MSG_SERVERS: "${item}" is not host:port`);
    out.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  return out;
}

function tcpOpen(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`external cluster: timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A Deployment for the running cluster the environment names. stop() leaves it
 * running; role() is refused (no process control).
 */
export async function startExternalDeployment(mode: Mode, opts: DeploymentOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Deployment> {
  const loginUrl = (env.TT_E2E_LOGIN_URL ?? '').replace(/\/+$/, '');
  if (!loginUrl) throw new Error('external cluster: TT_E2E_LOGIN_URL is not set');
  if (mode !== 'cluster') throw new Error(`external cluster: cannot run a ${mode}-mode test (skip it when isExternal())`);
  if (opts.env && Object.keys(opts.env).length > 0) {
    throw new Error(`external cluster: the cluster's configuration is fixed; a test that sets ${Object.keys(opts.env).join(', ')} must be skipped when isExternal()`);
  }
  if (opts.dataDir) throw new Error('external cluster: no data directory to reuse (standalone only)');
  const all = parseMsgServers(env.TT_E2E_MSG_SERVERS ?? '');
  const wanted = opts.msgServers ?? 1;
  if (all.length < wanted) throw new Error(`external cluster: the test wants ${wanted} msg_servers, TT_E2E_MSG_SERVERS names ${all.length}`);
  const msgServers: Deployment['msgServers'] = all.slice(0, wanted);

  const storeEnv: NodeJS.ProcessEnv = { TT_MODE: 'cluster' };
  for (const name of STORE_VARS) if (env[name] !== undefined) storeEnv[name] = env[name];

  const ttctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'packages/ttctl/dist/main.js'), ...args], { env: { ...env, LOG_LEVEL: 'warn', ...storeEnv } });
    return stdout;
  };

  const timeoutMs = Number(env.TT_E2E_READY_TIMEOUT_MS ?? 60_000);
  for (const ms of all) await waitFor(() => tcpOpen(ms.host, ms.port), timeoutMs, `msg_server ${ms.host}:${ms.port}`);
  // login_server must know every msg_server of the cluster before clients ask it.
  await waitFor(
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < all.length * 4; i++) {
        const res = await fetch(`${loginUrl}/msg_server`);
        const body = (await res.json()) as { code: number; priorIP?: string; port?: string };
        if (body.code === 0) seen.add(`${body.priorIP}:${body.port}`);
      }
      return seen.size >= all.length;
    },
    timeoutMs,
    'login_server to hand out every msg_server',
  );

  return {
    mode: 'cluster',
    loginUrl,
    msgServers,
    // Clients find file_servers through msg_server (IMFileRsp addresses) and login_server (msfsPrior).
    fileServers: [],
    processes: [],
    storeEnv,
    authSecret: env.TT_E2E_AUTH_JWT_SECRET || undefined,
    ttctl,
    addUser: async (name, password, ...extra) => {
      const out = await ttctl('user', 'add', name, '--password', password, ...extra);
      const m = /id (\d+)/.exec(out);
      if (!m) throw new Error(`unexpected ttctl output: ${out}`);
      return Number(m[1]);
    },
    role: (name) => {
      throw new Error(`external cluster: no control over ${name} (skip this test when isExternal())`);
    },
    stop: async () => {},
    logs: () => `(external cluster at ${loginUrl}: read its logs there, e.g. docker compose -f deploy/docker-compose.yml logs)`,
  };
}
