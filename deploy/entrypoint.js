#!/usr/bin/env node
// The container image's entry point: picks the role to run and starts it in
// this same process (so SIGTERM reaches the role's own drain/shutdown code).
//
//   <image> [role] [args…]     role: standalone (default), login_server, msg_server,
//                              db_proxy, route_server, push_server, file_server, ttctl
//   TT_ROLE=<role> <image>     the same, chosen by environment
//   <image> probe <port> [/path]   exits 0 when http://127.0.0.1:<port><path> answers 200
//                                  (compose health checks; default path /readyz)
//
// Before a role starts, "{ordinal}", "{hostname}", "{podIP}" and "{hostIP}" in
// MSG_SERVER_ID, MSG_SERVER_ADVERTISE_IP, MSG_SERVER_ADVERTISE_IP2,
// MSG_SERVER_ADVERTISE_PORT, MSG_SERVER_WS_ADVERTISE_PORT,
// MSG_SERVER_TCP12_ADVERTISE_PORT and MSG_SERVER_OMTP_ADVERTISE_PORT are replaced
// (ordinal: the number ending the host name, as in a StatefulSet pod
// "teamtalk-msg-server-3"; podIP: $POD_IP; hostIP: $HOST_IP, the node's), and
// the ports may be a sum such as "30000+{ordinal}" (also the port of
// FILE_SERVER_HTTP_PUBLIC_URL: "http://files.example.com:31700+{ordinal}"). This is how each msg_server pod of a StatefulSet
// advertises its own address (TeamTalk, WebSocket, tcp12 and OMTP fronts) to login_server. The same goes for FILE_SERVER_ID, FILE_SERVER_ADVERTISE_IP,
// FILE_SERVER_ADVERTISE_PORT, FILE_SERVER_HTTP_PUBLIC_URL and
// FILE_SERVER_RPC_ADVERTISE: each file_server pod of its StatefulSet keeps its
// own name (offline file records point at it) and tells clients its own address.
// Config itself stays plain environment variables (docs/CONFIG.md).
'use strict';
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

const APP_ROOT = path.resolve(__dirname, '..');

const ROLES = {
  standalone: 'services/standalone/dist/main.js',
  login_server: 'services/login_server/dist/main.js',
  msg_server: 'services/msg_server/dist/main.js',
  db_proxy: 'services/db_proxy/dist/main.js',
  route_server: 'services/route_server/dist/main.js',
  push_server: 'services/push_server/dist/main.js',
  file_server: 'services/file_server/dist/main.js',
  ttctl: 'packages/ttctl/dist/main.js',
};

const TEMPLATED = [
  'MSG_SERVER_ID',
  'MSG_SERVER_ADVERTISE_IP',
  'MSG_SERVER_ADVERTISE_IP2',
  'MSG_SERVER_ADVERTISE_PORT',
  'MSG_SERVER_WS_ADVERTISE_PORT',
  'MSG_SERVER_TCP12_ADVERTISE_PORT',
  'MSG_SERVER_OMTP_ADVERTISE_PORT',
  'FILE_SERVER_ID',
  'FILE_SERVER_ADVERTISE_IP',
  'FILE_SERVER_ADVERTISE_PORT',
  'FILE_SERVER_HTTP_PUBLIC_URL',
  'FILE_SERVER_RPC_ADVERTISE',
];
const SUMMABLE = ['MSG_SERVER_ADVERTISE_PORT', 'MSG_SERVER_WS_ADVERTISE_PORT', 'MSG_SERVER_TCP12_ADVERTISE_PORT', 'MSG_SERVER_OMTP_ADVERTISE_PORT', 'FILE_SERVER_ADVERTISE_PORT'];

function normalizeRole(name) {
  return String(name).trim().toLowerCase().replace(/-/g, '_');
}

/** Expands the placeholders of one value; throws when one cannot be resolved. */
function expand(name, value, ctx) {
  let out = value.replace(/\{(ordinal|hostname|podIP|hostIP)\}/g, (_m, key) => {
    if (key === 'hostname') return ctx.hostname;
    if (key === 'podIP' || key === 'hostIP') {
      const ip = ctx[key];
      if (!ip) throw new Error(`${name} uses {${key}} but ${key === 'podIP' ? 'POD_IP' : 'HOST_IP'} is not set`);
      return ip;
    }
    const m = /-(\d+)$/.exec(ctx.hostname);
    if (!m) throw new Error(`${name} uses {ordinal} but the host name "${ctx.hostname}" does not end in -<number>`);
    return m[1];
  });
  if (SUMMABLE.includes(name) && /^\s*\d+(\s*\+\s*\d+)+\s*$/.test(out)) {
    out = String(out.split('+').reduce((sum, part) => sum + Number(part), 0));
  }
  if (name === 'FILE_SERVER_HTTP_PUBLIC_URL') {
    out = out.replace(/:(\d+(?:\+\d+)+)(?=\/|$)/, (_m, sum) => `:${sum.split('+').reduce((s, part) => s + Number(part), 0)}`);
  }
  return out;
}

/**
 * Decides what to run: the role's script, the argv it should see and the
 * environment changes. Pure, for tests.
 */
function resolveLaunch(argv, env, hostname = os.hostname()) {
  let args = [...argv];
  let role = env.TT_ROLE ? normalizeRole(env.TT_ROLE) : 'standalone';
  if (args.length > 0 && (args[0] === 'probe' || normalizeRole(args[0]) in ROLES)) role = normalizeRole(args.shift());
  if (role === 'probe') {
    const [port, urlPath = '/readyz'] = args;
    if (!/^\d+$/.test(port ?? '')) throw new Error('usage: probe <port> [/path]');
    return { role, url: `http://127.0.0.1:${port}${urlPath.startsWith('/') ? urlPath : `/${urlPath}`}` };
  }
  if (!(role in ROLES)) throw new Error(`unknown role "${role}"; one of: ${Object.keys(ROLES).join(', ')}`);
  const ctx = { hostname, podIP: env.POD_IP, hostIP: env.HOST_IP };
  const envChanges = {};
  for (const name of TEMPLATED) {
    const value = env[name];
    if (value && value.includes('{')) envChanges[name] = expand(name, value, ctx);
  }
  return { role, script: ROLES[role], args, envChanges };
}

function probe(url) {
  const timer = setTimeout(() => process.exit(1), 4000);
  fetch(url)
    .then((res) => process.exit(res.status === 200 ? 0 : 1))
    .catch(() => process.exit(1))
    .finally(() => clearTimeout(timer));
}

function main() {
  let launch;
  try {
    launch = resolveLaunch(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`entrypoint: ${err.message}\n`);
    process.exit(2);
  }
  if (launch.role === 'probe') return probe(launch.url);
  const script = path.join(APP_ROOT, launch.script);
  if (!fs.existsSync(script)) {
    process.stderr.write(`entrypoint: role ${launch.role} is not in this image (${launch.script} missing)\n`);
    process.exit(2);
  }
  Object.assign(process.env, launch.envChanges);
  process.argv = [process.argv[0], script, ...launch.args];
  require(script);
}

module.exports = { resolveLaunch, ROLES };

if (require.main === module) main();
