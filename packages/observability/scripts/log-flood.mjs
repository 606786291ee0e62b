#!/usr/bin/env node
// Log volume under a flood of bad frames: starts a standalone server (LOG_LEVEL=info, JSON lines), opens
// connections that each send unparsable login bodies and then a broken frame, and reports the bytes the
// server wrote to stdout per minute next to the events its metrics counted. Bounded in time and frames;
// 127.0.0.1 only.
//
//   node packages/observability/scripts/log-flood.mjs [--root <repo>] [--seconds 20] [--parallel 4] [--frames 200] [--keep-log file]
//
// --root runs another checkout's build (e.g. the commit before a change) with the same load.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const bounded = (name, fallback, min, max) => {
  const n = Number(option(name, fallback));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number in ${min}..${max}`);
  return n;
};
const root = path.resolve(option('root', path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')));
const seconds = bounded('seconds', 20, 1, 120);
const parallel = bounded('parallel', 4, 1, 32);
const framesPerConnection = bounded('frames', 200, 1, 10_000);
const keepLog = option('keep-log', '');
const MAX_CONNECTIONS = 100_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** A TeamTalk PDU: 16-byte header (length, version 1, flag, service, command, seq, reserved), then the body. */
function pdu(serviceId, commandId, body) {
  const out = Buffer.alloc(16 + body.length);
  out.writeUInt32BE(out.length, 0);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(serviceId, 8);
  out.writeUInt16BE(commandId, 10);
  out.set(body, 16);
  return out;
}
// CID_LOGIN_REQ_USERLOGIN (taken before login) with a body protobuf cannot read (0xff: wire type 7).
const badLogin = pdu(0x0001, 0x0103, Buffer.alloc(24, 0xff));
// A header whose length is shorter than the header itself.
const brokenFrame = Buffer.from([0, 0, 0, 3, 0, 1, 0, 0, 0, 1, 1, 3, 0, 0, 0, 0]);

const portNames = ['LOGIN_HTTP_PORT', 'MSG_SERVER_PORT', 'MSG_SERVER_WS_PORT', 'MSG_SERVER_TCP12_PORT', 'MSG_SERVER_OMTP_PORT', 'MSG_SERVER_MSYNC_WS_PORT', 'MSG_SERVER_MSYNC_TCP_PORT', 'DB_PROXY_PORT', 'ADMIN_PORT', 'FILE_SERVER_PORT', 'FILE_SERVER_HTTP_PORT', 'FILE_SERVER_RPC_PORT'];
const env = { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', PASSWORD_SCRYPT_N: '1024', STANDALONE_BIND_HOST: '127.0.0.1', MSG_SERVER_HOST: '127.0.0.1' };
for (const name of portNames) env[name] = String(await freePort());
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-log-flood-'));
env.TT_DATA_DIR = dataDir;

const server = spawn(process.execPath, [path.join(root, 'services/standalone/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let counting = false;
let bytes = 0;
let lines = 0;
let ready;
const isReady = new Promise((resolve) => (ready = resolve));
server.stdout.on('data', (chunk) => {
  if (!counting && chunk.includes('standalone server ready')) ready();
  if (!counting) return;
  if (keepLog) fs.appendFileSync(keepLog, chunk);
  bytes += chunk.length;
  for (const b of chunk) if (b === 10) lines++;
});
server.stderr.on('data', (chunk) => process.stderr.write(chunk));
const timeout = setTimeout(() => {
  console.error('the server did not start in 60 s');
  server.kill('SIGKILL');
  process.exit(1);
}, 60_000);
await isReady;
clearTimeout(timeout);

/** A counter's value: the sum of its series that carry `label` (e.g. reason="bad_body"). */
const metric = async (name, label = '') => {
  const text = await (await fetch(`http://127.0.0.1:${env.ADMIN_PORT}/metrics`)).text();
  const series = text.split('\n').filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label));
  return series.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
};
const badBodiesBefore = await metric('tt_msg_server_pdus_dropped_total', 'reason="bad_body"');
const brokenBefore = await metric('tt_msg_server_frame_errors_total');

/** One connection: its bad bodies, then a broken frame; resolves when the server has closed it. */
const oneConnection = () =>
  new Promise((resolve) => {
    const socket = net.connect(Number(env.MSG_SERVER_PORT), '127.0.0.1');
    socket.on('connect', () => {
      socket.write(Buffer.concat([...Array(framesPerConnection).fill(badLogin), brokenFrame]));
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', resolve);
    socket.setTimeout(10_000, () => socket.destroy());
  });

counting = true;
const started = Date.now();
const deadline = started + seconds * 1000;
let connections = 0;
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (Date.now() < deadline && connections < MAX_CONNECTIONS) {
      connections++;
      await oneConnection();
    }
  }),
);
// The summaries of the last window, and lines still on their way.
await new Promise((r) => setTimeout(r, 1500));
counting = false;
const elapsedMin = (Date.now() - started) / 60_000;
const badBodies = (await metric('tt_msg_server_pdus_dropped_total', 'reason="bad_body"')) - badBodiesBefore;
const brokenFrames = (await metric('tt_msg_server_frame_errors_total')) - brokenBefore;

server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
fs.rmSync(dataDir, { recursive: true, force: true });

const perMinute = (n) => Math.round(n / elapsedMin);
console.log(
  JSON.stringify(
    {
      root,
      seconds: Number((elapsedMin * 60).toFixed(1)),
      connections,
      badBodies,
      brokenFrames,
      eventsPerMinute: perMinute(badBodies + brokenFrames),
      logLines: lines,
      logBytes: bytes,
      logBytesPerMinute: perMinute(bytes),
      logLinesPerMinute: perMinute(lines),
    },
    null,
    2,
  ),
);
