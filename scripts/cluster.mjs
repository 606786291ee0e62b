#!/usr/bin/env node
// Cluster mode on one machine: every role a separate process against the
// MariaDB/MySQL, Redis and NATS the environment points at.
//   node scripts/cluster.mjs [--msg-servers N] [--db-proxies N] [--route-servers N]
// msg_server i listens on 8000+i (admin 9200+i); db_proxy i on 10600+i (admin
// 9300+i) and every msg_server balances over all of them; route_server i has
// admin port 9400+i (its replicas share the work through a NATS queue group).
//   [--file-servers N]: file_server i serves clients on 8600+i, the image store
// on 8700+i, gRPC on 10700+i (admin 9500+i), files in ./data/files-<i+1>;
// login_server hands out the first one's image store (LOGIN_MSFS_URL).
//   [--push-servers N]: push_server replicas (admin 9105, or 9600+i for several);
// they share the push jobs of one JetStream stream, which the first creates.
// APNs/FCM stay off until the PUSH_* variables configure them (docs/CONFIG.md).
// login_server checks POST /auth/token passwords with db_proxy (DB_PROXY_ADDR);
// the access tokens it signs are verified by every msg_server with one secret:
// AUTH_JWT_SECRET from the environment, else a random one for this run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).filter((a) => a !== '--');
function countOf(flag) {
  const i = args.indexOf(flag);
  const n = i >= 0 ? Number(args[i + 1]) : 1;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error('usage: pnpm cluster [--msg-servers N] [--db-proxies N] [--route-servers N] [--file-servers N] [--push-servers N]   (1 <= N <= 64)');
    process.exit(2);
  }
  return n;
}
const count = countOf('--msg-servers');
const dbProxies = countOf('--db-proxies');
const routeServers = countOf('--route-servers');
const fileServers = countOf('--file-servers');
const pushServers = countOf('--push-servers');
const basePort = Number(process.env.MSG_SERVER_PORT ?? 8000);
// The WebSocket fronts: 8081, 8082, … (MSG_SERVER_WS_PORT=0 switches them off).
const wsBasePort = Number(process.env.MSG_SERVER_WS_PORT ?? 8081);
// The tcp12 fronts (seed 001): 8200, 8201, … — clear of the WebSocket range,
// which takes 8082 (tcp12's single-server default) from the second msg_server on (0 = off).
const tcp12BasePort = Number(process.env.MSG_SERVER_TCP12_PORT ?? 8200);
// The OMTP fronts (seed 004): 8250, 8251, … (0 = off).
const omtpBasePort = Number(process.env.MSG_SERVER_OMTP_PORT ?? 8250);
// The MSync fronts (seed 002): WebSocket 8300, 8301, …, TCP 8400, 8401, … (0 = off).
const msyncWsBasePort = Number(process.env.MSG_SERVER_MSYNC_WS_PORT ?? 8300);
const msyncTcpBasePort = Number(process.env.MSG_SERVER_MSYNC_TCP_PORT ?? 8400);

const children = [];
function start(role, env) {
  const child = spawn(process.execPath, [path.join(root, 'services', role, 'dist', 'main.js')], { env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`cluster: ${role} exited (${signal ?? code})`);
  });
  children.push(child);
}

const dbBasePort = Number(process.env.DB_PROXY_PORT ?? 10600);
const dbProxyAddr = process.env.DB_PROXY_ADDR ?? Array.from({ length: dbProxies }, (_, n) => `127.0.0.1:${dbBasePort + n}`).join(',');
for (let n = 0; n < dbProxies; n++) start('db_proxy', dbProxies === 1 ? {} : { DB_PROXY_PORT: String(dbBasePort + n), ADMIN_PORT: String(9300 + n) });
for (let n = 0; n < routeServers; n++) start('route_server', routeServers === 1 ? {} : { ADMIN_PORT: String(9400 + n) });
for (let n = 0; n < pushServers; n++) start('push_server', { ADMIN_PORT: String(pushServers === 1 ? 9105 : 9600 + n), DB_PROXY_ADDR: dbProxyAddr });
const fileHost = process.env.FILE_SERVER_ADVERTISE_IP ?? '127.0.0.1';
for (let n = 0; n < fileServers; n++) {
  start('file_server', {
    FILE_SERVER_ID: `file_server-${n + 1}`,
    FILE_SERVER_PORT: String(8600 + n),
    FILE_SERVER_HTTP_PORT: String(8700 + n),
    FILE_SERVER_RPC_PORT: String(10700 + n),
    FILE_SERVER_RPC_ADVERTISE: `127.0.0.1:${10700 + n}`,
    FILE_SERVER_DATA_DIR: process.env.FILE_SERVER_DATA_DIR ? `${process.env.FILE_SERVER_DATA_DIR}-${n + 1}` : path.join('data', `files-${n + 1}`),
    ADMIN_PORT: String(fileServers === 1 ? 9106 : 9500 + n),
  });
}
const authJwtSecret = process.env.AUTH_JWT_SECRET || randomBytes(32).toString('base64url');
start('login_server', { LOGIN_MSFS_URL: process.env.LOGIN_MSFS_URL || `http://${fileHost.split(',')[0]}:8700`, DB_PROXY_ADDR: dbProxyAddr, AUTH_JWT_SECRET: authJwtSecret });
for (let n = 0; n < count; n++) {
  start('msg_server', {
    MSG_SERVER_PORT: String(basePort + n),
    MSG_SERVER_WS_PORT: String(wsBasePort ? wsBasePort + n : 0),
    MSG_SERVER_TCP12_PORT: String(tcp12BasePort ? tcp12BasePort + n : 0),
    MSG_SERVER_OMTP_PORT: String(omtpBasePort ? omtpBasePort + n : 0),
    MSG_SERVER_MSYNC_WS_PORT: String(msyncWsBasePort ? msyncWsBasePort + n : 0),
    MSG_SERVER_MSYNC_TCP_PORT: String(msyncTcpBasePort ? msyncTcpBasePort + n : 0),
    MSG_SERVER_ID: process.env.MSG_SERVER_ID ? `${process.env.MSG_SERVER_ID}-${n + 1}` : `msg_server-${n + 1}`,
    ADMIN_PORT: String(9200 + n),
    DB_PROXY_ADDR: dbProxyAddr,
    AUTH_JWT_SECRET: authJwtSecret,
  });
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 35_000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
