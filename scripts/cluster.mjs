#!/usr/bin/env node
// Cluster mode on one machine: every role a separate process against the
// MariaDB/MySQL, Redis and NATS the environment points at.
//   node scripts/cluster.mjs [--msg-servers N]   (pnpm cluster -- --msg-servers N)
// msg_server i listens on 8000+i (admin 9200+i); the others on their defaults.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).filter((a) => a !== '--');
const i = args.indexOf('--msg-servers');
const count = i >= 0 ? Number(args[i + 1]) : 1;
if (!Number.isInteger(count) || count < 1 || count > 64) {
  console.error('usage: pnpm cluster [--msg-servers N]   (1 <= N <= 64)');
  process.exit(2);
}
const basePort = Number(process.env.MSG_SERVER_PORT ?? 8000);

const children = [];
function start(role, env) {
  const child = spawn(process.execPath, [path.join(root, 'services', role, 'dist', 'main.js')], { env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`cluster: ${role} exited (${signal ?? code})`);
  });
  children.push(child);
}

start('db_proxy', {});
start('route_server', {});
start('login_server', {});
for (let n = 0; n < count; n++) {
  start('msg_server', {
    MSG_SERVER_PORT: String(basePort + n),
    MSG_SERVER_ID: process.env.MSG_SERVER_ID ? `${process.env.MSG_SERVER_ID}-${n + 1}` : `msg_server-${n + 1}`,
    ADMIN_PORT: String(9200 + n),
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
