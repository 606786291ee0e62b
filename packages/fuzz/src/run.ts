// A fuzz run: start (or take) a deployment, create the users and operators
// the logged-in connections need, then one phase per target, each followed by
// the checks: every process alive and healthy, the fuzzed port still answers
// a fresh connection, a fresh TeamTalk client logs in and a message
// round-trips, RSS within bounds of the idle RSS, and the log volume.
import { TeamTalkClient } from '@tt/client';
import { IM } from '@tt/proto';
import * as http from 'node:http';
import { CHECK_ADDRESS, connect } from './conn';
import { exited, rssBytes, startCluster, startStandalone, type Deployment, type ServerProcess } from './deployment';
import { runPhase, type PhaseStats } from './drive';
import { adminApiTarget, fileHttpTarget, loginHttpTarget, routesOf } from './targets/http';
import { fileTarget, omtpTarget, tcp12Target, teamtalkTarget } from './targets/binary';
import { msyncTarget, wsTarget } from './targets/websocket';
import type { FuzzUser, JsonSchema, Target, TargetContext, TargetName } from './targets/target';

export interface FuzzOptions {
  seed: number;
  /** Frames per target. */
  frames: number;
  /** Longest phase per target, in seconds. */
  seconds: number;
  connections: number;
  batch: number;
  targets: readonly TargetName[];
  mode: 'standalone' | 'cluster';
  /** Fail when RSS after a phase is more than this above the RSS before it (MiB). */
  rssGrowthMiB: number;
  /** Fail when RSS during a phase peaks more than this above the idle RSS (MiB). */
  rssPeakMiB: number;
  /** Extra settings for the started processes. */
  serverEnv?: Record<string, string>;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface TargetResult {
  target: TargetName;
  stats: PhaseStats;
  framesPerSecond: number;
  rssIdle?: number;
  rssBefore?: number;
  rssPeak?: number;
  rssAfter?: number;
  logBytes: number;
  logBytesPerMinute: number;
  /** Log lines at level error or fatal during the phase (a handler threw, a promise was left unhandled, ...). */
  errorLines: number;
  failures: string[];
}

export interface FuzzResult {
  seed: number;
  mode: 'standalone' | 'cluster';
  targets: TargetResult[];
  failures: string[];
  passed: boolean;
}

const MiB = 1024 * 1024;
const PASSWORD = 'fuzz-password-1';
/** Users that log in on fuzz connections, users that are only named in frames, and the two the liveness check uses. */
const SESSION_USERS = 6;
const HINT_USERS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function targetsOf(d: Deployment, schemas: () => Record<string, JsonSchema>): Record<TargetName, Target> {
  const e = d.endpoints;
  return {
    teamtalk: teamtalkTarget(e.teamtalk),
    ws: wsTarget(e.ws),
    tcp12: tcp12Target(e.tcp12),
    'msync-ws': msyncTarget('msync-ws', e['msync-ws']),
    'msync-tcp': msyncTarget('msync-tcp', e['msync-tcp']),
    omtp: omtpTarget(e.omtp),
    file: fileTarget(e.file),
    'file-http': fileHttpTarget(e['file-http']),
    'login-http': loginHttpTarget(e['login-http']),
    'admin-api': adminApiTarget(e['admin-api'], schemas),
  };
}

/** A JSON request from CHECK_ADDRESS (fetch cannot choose its source address); throws unless 2xx. */
function json(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: CHECK_ADDRESS, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) reject(new Error(`${init.method ?? 'GET'} ${url}: HTTP ${status} ${text.slice(0, 300)}`));
        else resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}

interface Setup {
  ctx: TargetContext;
  liveness: [FuzzUser, FuzzUser];
  schemas: Record<string, JsonSchema>;
}

/** Operators (ttctl, as an operator starts), chat users (the operator API), tokens, and the API's routes. */
async function setup(d: Deployment): Promise<Setup> {
  const operatorPassword = 'fuzz-operator-pw';
  await d.ttctl('admin', 'add', 'fuzzadmin', '--password', operatorPassword);
  await d.ttctl('admin', 'add', 'fuzzviewer', '--password', operatorPassword, '--role', 'viewer');
  const api = `${d.loginUrl}/api/v1`;
  const login = async (name: string) => (await json(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: operatorPassword }) })).token as string;
  const adminToken = await login('fuzzadmin');
  const viewerToken = await login('fuzzviewer');
  const createUser = async (name: string): Promise<FuzzUser> => {
    const user = await json(`${api}/users`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ name, password: PASSWORD }) });
    return { name, id: Number(user.id), password: PASSWORD };
  };
  const users: FuzzUser[] = [];
  for (let i = 0; i < SESSION_USERS; i++) users.push(await createUser(`fuzz_s${i}`));
  const named: FuzzUser[] = [];
  for (let i = 0; i < HINT_USERS; i++) named.push(await createUser(`fuzz_h${i}`));
  const liveness: [FuzzUser, FuzzUser] = [await createUser('fuzz_live_a'), await createUser('fuzz_live_b')];
  const doc = await json(`${api}/openapi.json`);
  const tokens = new Map<string, Promise<string>>();
  const token = (user: FuzzUser) => {
    let t = tokens.get(user.name);
    if (!t) {
      t = json(`${d.loginUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: user.name, password: user.password }) }).then((b) => b.token as string);
      t.catch(() => tokens.delete(user.name));
      tokens.set(user.name, t);
    }
    return t;
  };
  // Tokens now, before any garbage from 127.0.0.1 (the fuzz connections' logins would be throttled there otherwise).
  await Promise.all(users.map(token));
  const ctx: TargetContext = {
    // Names that log in are never put into frames: a wrong password sent with them would throttle their logins.
    hints: { userIds: [...users, ...named].map((u) => u.id), userNames: named.map((u) => u.name) },
    users,
    adminToken,
    viewerToken,
    chatToken: await token(users[0]),
    apiRoutes: routesOf(doc),
    token,
  };
  return { ctx, liveness, schemas: doc.components?.schemas ?? {} };
}

/** A fresh TeamTalk client logs in and a message from one user reaches the other. */
async function roundTrip(d: Deployment, [a, b]: [FuzzUser, FuzzUser]): Promise<void> {
  const { host, port } = d.endpoints.teamtalk;
  const ca = await TeamTalkClient.connect({ host, port, requestTimeoutMs: 10_000, localAddress: CHECK_ADDRESS });
  const cb = await TeamTalkClient.connect({ host, port, requestTimeoutMs: 10_000, localAddress: CHECK_ADDRESS });
  try {
    for (const [c, u] of [[ca, a], [cb, b]] as const) {
      const res = await c.login({ userName: u.name, password: u.password });
      if (res.resultCode !== 0) throw new Error(`login of ${u.name}: result ${res.resultCode} ${res.resultString}`);
    }
    const arrived = cb.waitFor<IM.Message.IMMsgData>(IM.BaseDefine.MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === a.id, 10_000);
    await ca.sendText(b.id, 'liveness');
    await arrived;
  } finally {
    ca.close();
    cb.close();
  }
}

/** The checks after a phase; returns what failed. */
async function liveness(d: Deployment, target: Target, ctx: TargetContext, users: [FuzzUser, FuzzUser]): Promise<string[]> {
  const failures: string[] = [];
  const dead = d.processes.filter(exited);
  if (dead.length) return dead.map((p) => `${p.role} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.tail.slice(-20).join('')}`);
  for (const p of d.processes) {
    await json(`${p.adminUrl}/healthz`).catch((err: Error) => failures.push(`${p.role} /healthz: ${err.message}`));
  }
  try {
    const conn = await connect(target.transport, target.endpoint, CHECK_ADDRESS);
    try {
      await target.probe(conn, ctx);
    } finally {
      conn.close();
    }
  } catch (err) {
    failures.push(`${target.name}: a fresh connection got no answer: ${(err as Error).message}`);
  }
  await roundTrip(d, users).catch((err: Error) => failures.push(`TeamTalk round trip: ${err.message}`));
  return failures;
}

const totalLogBytes = (d: Deployment) => d.processes.reduce((n, p) => n + p.logBytes, 0);
const totalErrorLines = (d: Deployment) => d.processes.reduce((n, p) => n + p.errorLines, 0);

export async function runFuzz(opts: FuzzOptions, given?: Deployment): Promise<FuzzResult> {
  const log = opts.log ?? (() => undefined);
  const d = given ?? (opts.mode === 'cluster' ? await startCluster(opts.serverEnv) : await startStandalone(opts.serverEnv));
  log(`${d.mode} deployment up (login ${d.loginUrl})`);
  const result: FuzzResult = { seed: opts.seed, mode: d.mode, targets: [], failures: [], passed: false };
  try {
    const { ctx, liveness: liveUsers, schemas } = await setup(d);
    const targets = targetsOf(d, () => schemas);
    // Idle RSS: after setup, before any fuzz frame.
    await sleep(1000);
    const idle = new Map<ServerProcess, number | undefined>(d.processes.map((p) => [p, rssBytes(p.child.pid)]));
    for (const name of opts.targets) {
      if (opts.signal?.aborted) break;
      const target = targets[name];
      const watched = d.processesOf(target.role)[0];
      const rssBefore = rssBytes(watched?.child.pid);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        const r = rssBytes(watched?.child.pid);
        if (r !== undefined && (rssPeak === undefined || r > rssPeak)) rssPeak = r;
      }, 250);
      const logBefore = totalLogBytes(d);
      const errorsBefore = totalErrorLines(d);
      log(`${name}: fuzzing (${opts.frames} frames, at most ${opts.seconds} s, ${opts.connections} connections)`);
      const stats = await runPhase(target, ctx, { frames: opts.frames, seconds: opts.seconds, connections: opts.connections, batch: opts.batch, seed: opts.seed, signal: opts.signal }).finally(() => clearInterval(sampler));
      const logBytes = totalLogBytes(d) - logBefore;
      const errorLines = totalErrorLines(d) - errorsBefore;
      const failures = [...stats.errors];
      // Bad input is answered or the connection closed, never an error in the server's own log.
      if (errorLines > 0) failures.push(`the server logged ${errorLines} error line(s) during the phase; the last:\n${d.processes.flatMap((p) => p.lastErrors).slice(-3).join('\n')}`);
      failures.push(...(await liveness(d, target, ctx, liveUsers)));
      await sleep(500);
      const rssAfter = rssBytes(watched?.child.pid);
      const rssIdle = watched ? idle.get(watched) : undefined;
      // Growth is judged per phase (a leak grows with the frames of its target); warm-up across targets is not a leak.
      if (rssBefore !== undefined && rssAfter !== undefined && rssAfter - rssBefore > opts.rssGrowthMiB * MiB) failures.push(`${watched!.role} RSS ${mib(rssAfter)} after the phase is more than ${opts.rssGrowthMiB} MiB over its ${mib(rssBefore)} before it`);
      if (rssIdle !== undefined && rssPeak !== undefined && rssPeak - rssIdle > opts.rssPeakMiB * MiB) failures.push(`${watched!.role} RSS peaked at ${mib(rssPeak)}, more than ${opts.rssPeakMiB} MiB over its idle ${mib(rssIdle)}`);
      // The fuzzer's users have the right passwords and fresh source addresses: refusals mean fuzz frames broke logins.
      if (target.login && stats.loginFailures > stats.logins) failures.push(`${stats.loginFailures} of ${stats.logins + stats.loginFailures} logins of the fuzz connections failed (last: ${stats.lastLoginError})`);
      const r: TargetResult = {
        target: name,
        stats,
        framesPerSecond: stats.seconds > 0 ? stats.framesSent / stats.seconds : 0,
        rssIdle,
        rssBefore,
        rssPeak,
        rssAfter,
        logBytes,
        logBytesPerMinute: stats.seconds > 0 ? (logBytes / stats.seconds) * 60 : 0,
        errorLines,
        failures,
      };
      result.targets.push(r);
      for (const f of failures) result.failures.push(`${name}: ${f}`);
      log(`${name}: ${stats.framesSent} frames in ${stats.seconds.toFixed(1)} s (${Math.round(r.framesPerSecond)}/s), ${stats.closedByServer} closed by the server, log ${Math.round(r.logBytesPerMinute)} B/min${stats.loginFailures ? `, ${stats.loginFailures} failed logins (last: ${stats.lastLoginError})` : ''}${failures.length ? `, FAILED: ${failures.join('; ')}` : ''}`);
      if (d.processes.some(exited)) break;
    }
  } catch (err) {
    result.failures.push(`run: ${(err as Error).message}`);
  } finally {
    if (!given) await d.stop();
  }
  result.passed = result.failures.length === 0 && result.targets.length === opts.targets.length;
  if (result.targets.length < opts.targets.length && result.failures.length === 0) result.failures.push(`only ${result.targets.length} of ${opts.targets.length} targets ran`);
  return result;
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / MiB).toFixed(0)} MiB`;
}

/** The summary table (Markdown). */
export function renderTable(result: FuzzResult): string {
  const rows = [
    '| target | frames | valid / mutated / random | after login | frames/s | connects | closed by server | unsynced | logins (failed) | RSS idle / before / peak / after | log bytes/min | error lines | result |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|',
  ];
  for (const t of result.targets) {
    const s = t.stats;
    rows.push(
      `| ${t.target} | ${s.framesSent} | ${s.valid} / ${s.mutated} / ${s.random} | ${s.afterLogin} | ${Math.round(t.framesPerSecond)} | ${s.connects} | ${s.closedByServer} | ${s.unsynced} | ${s.logins} (${s.loginFailures}) | ${mib(t.rssIdle)} / ${mib(t.rssBefore)} / ${mib(t.rssPeak)} / ${mib(t.rssAfter)} | ${Math.round(t.logBytesPerMinute)} | ${t.errorLines} | ${t.failures.length ? 'FAILED' : 'ok'} |`,
    );
  }
  return rows.join('\n');
}
