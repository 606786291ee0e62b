// What every scenario gets: the deployment, user creation, connections
// (spread over source addresses, through login_server as clients do), the
// counters shared by all connections, bounds, and a place for warnings.
// Connections speak TeamTalk (conn.ts) or use the WebSocket front
// (ws-conn.ts: a token from login_server once per user, the front's URL
// from login_server for every connection, then CMD_AUTH_REQ), or one of the
// TCP fronts with account-name ids (stream-conn.ts: tcp12, MSync, OMTP).
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { BenchConnection, ConnStats, md5Hex, type ChatConnection, type ClientProtocol } from './conn';
import { assertLoopback, REPO_ROOT, type Deployment } from './deployment';
import type { BenchOptions } from './options';
import { Directory, wsPlatform, WsBenchConnection } from './ws-conn';
import { Tcp12BenchConnection } from './tcp12-conn';
import { MsyncBenchConnection } from './msync-conn';
import { OmtpBenchConnection } from './omtp-conn';
import type { StreamBenchConnection, StreamConnOptions } from './stream-conn';
import type { LatencySummary, HistogramBin } from './stats';
import { createUsers, type BenchUser } from './users';

export interface ScenarioResult {
  /** Headline numbers for the Markdown summary and the README (name -> value). */
  headline: Record<string, number | string>;
  /** Every count the scenario kept. */
  counts: Record<string, number>;
  latency: Record<string, LatencySummary>;
  checks: { passed: boolean; failures: string[] };
  /** What the chart draws. */
  timeline: { title: string; unit: string; bucketMs: number; seconds: number[]; series: Record<string, number[]> };
  distribution: { title: string; bins: HistogramBin[]; markers: Array<{ label: string; ms: number }> };
  /** Scenario-specific details for the JSON. */
  details?: Record<string, unknown>;
}

/** The steps of a log-in, timed (ms); tokenMs only for fronts that log in with a token. */
export interface TimedLogin<C extends ChatConnection = ChatConnection> {
  conn: C;
  tokenMs?: number;
  askMs: number;
  connectMs: number;
  loginMs: number;
}

/** How one TCP front with account-name ids is reached and logged in to (see loginStreamTimed). */
interface StreamFront<C extends StreamBenchConnection> {
  name: string;
  /** Logs in with a token from POST /auth/token (else with the password). */
  token: boolean;
  address(): Promise<{ host: string; port: number }>;
  connect(opts: StreamConnOptions): Promise<C>;
  logIn(conn: C, token: string): Promise<void>;
}

export class RunContext {
  readonly stats = new ConnStats();
  readonly warnings: string[] = [];
  readonly passwordMd5: string;
  readonly userPrefix: string;
  /** performance.now() after which the measured phase must stop. */
  deadline = Infinity;
  private nextSource = 0;
  userCreation?: { count: number; created: number; reused: number; seconds: number; perSecond: number; via: string; scryptN: number };
  loginServerAsks = 0;
  /** POST /auth/token calls (WebSocket clients, once per user). */
  tokenFetches = 0;
  /** Every connection still open (closed on abort). */
  readonly open = new Set<ChatConnection>();
  /** Account names <-> user ids of every user this run created or reused. */
  readonly directory = new Directory();
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(
    readonly opts: BenchOptions,
    readonly deployment: Deployment,
    readonly runId: string,
    readonly runTag: number,
    readonly sourceIps: string[],
    readonly log: (line: string) => void,
  ) {
    this.passwordMd5 = md5Hex(opts.common.password);
    this.userPrefix = opts.common.userPrefix ?? `bench${runId}_`;
  }

  warn(message: string): void {
    this.warnings.push(message);
    this.log(`warning: ${message}`);
  }

  /**
   * The per-user message limit of msg_server (MSG_SERVER_MSG_RATE_LIMIT, default 20/s) drops, without
   * an ack, whatever a sender sends above it. A started deployment has it raised; a running one may not.
   */
  checkRateLimit(perSenderRate: number): void {
    const limit = Number(this.deployment.settings.MSG_SERVER_MSG_RATE_LIMIT ?? 20);
    const what = this.deployment.started ? `the started deployment's limit` : 'the default limit (the target may have another)';
    if (perSenderRate === 0 && !this.deployment.started) this.warn(`max rate against a running deployment: each sender may exceed ${what} of ${limit} messages/s (MSG_SERVER_MSG_RATE_LIMIT); the excess is dropped without an ack`);
    else if (perSenderRate > limit) this.warn(`${perSenderRate.toFixed(1)} messages/s per sender exceeds ${what} of ${limit}/s (MSG_SERVER_MSG_RATE_LIMIT): use more senders or a lower --rate`);
  }

  /**
   * With TT_CONTENT_KEY set the server converts text between the fronts (it decrypts TeamTalk
   * text for WebSocket clients and encrypts WebSocket text for TeamTalk ones), but the bench's
   * TeamTalk clients send and expect the payload as is: mixed runs then count it as foreign.
   */
  checkContentKey(): void {
    const s = this.deployment.settings;
    if (this.opts.common.protocol === 'mixed' && (s.TT_CONTENT_KEY || s.PUSH_CONTENT_KEY)) {
      this.warn('TT_CONTENT_KEY is set: text crossing between TeamTalk and WebSocket clients is converted, which the bench does not undo (deliveries between the protocols count as foreign)');
    }
  }

  /** Starts the clock of the measured phase: it may last --duration seconds. */
  startClock(): number {
    const now = performance.now();
    this.deadline = now + this.opts.common.durationS * 1000;
    return now;
  }

  get pastDeadline(): boolean {
    return performance.now() >= this.deadline;
  }

  /** Creates (or reuses) users named <prefix><tag><i>, i = 1..count. */
  async users(tag: string, count: number): Promise<BenchUser[]> {
    const names = Array.from({ length: count }, (_, i) => `${this.userPrefix}${tag}${i + 1}`);
    const c = this.opts.common;
    this.log(`creating ${count} users (${c.usersVia}, scrypt N=${c.scryptN})`);
    const res = await createUsers({ env: this.deployment.storeEnv }, names, {
      via: c.usersVia,
      scryptN: c.scryptN,
      password: c.password,
      ttctlScript: path.join(REPO_ROOT, 'packages', 'ttctl', 'dist', 'main.js'),
      onProgress: (done, total) => this.log(`  users ${done}/${total}`),
    });
    const prev = this.userCreation;
    const count2 = (prev?.count ?? 0) + count;
    const seconds = (prev?.seconds ?? 0) + res.seconds;
    this.userCreation = {
      count: count2,
      created: (prev?.created ?? 0) + res.created,
      reused: (prev?.reused ?? 0) + res.reused,
      seconds: Math.round(seconds * 100) / 100,
      perSecond: seconds > 0 ? Math.round(count2 / seconds) : 0,
      via: c.usersVia,
      scryptN: c.scryptN,
    };
    for (const u of res.users) this.directory.add(u.name, u.id);
    return res.users;
  }

  /**
   * The protocol of a simulated client under --protocol: teamtalk and ws
   * everyone; mixed: senders TeamTalk and receivers ws (single-chat), or
   * alternating by index, even TeamTalk (group members, connections).
   */
  protocolFor(role: 'sender' | 'receiver' | 'member', index: number): ClientProtocol {
    const p = this.opts.common.protocol;
    if (p !== 'mixed') return p;
    if (role === 'sender') return 'teamtalk';
    if (role === 'receiver') return 'ws';
    return index % 2 === 0 ? 'teamtalk' : 'ws';
  }

  /** The WebSocket front to use: login_server's answer to GET /msg_server?protocol=ws (asked once per connection). */
  async wsUrl(): Promise<string> {
    this.loginServerAsks += 1;
    const res = await fetch(`${this.deployment.loginUrl}/msg_server?protocol=ws`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; url?: string };
    if (body.code !== 0 || !body.url) throw new Error(`login_server answered GET /msg_server?protocol=ws with code ${body.code}: ${body.msg ?? ''}`);
    let host: string;
    try {
      const u = new URL(body.url);
      if (u.protocol !== 'ws:') throw new Error('only ws:// is supported');
      host = u.hostname;
    } catch (err) {
      throw new Error(`login_server's WebSocket URL ${body.url}: ${(err as Error).message}`);
    }
    assertLoopback(host, 'WebSocket front address from login_server');
    return body.url;
  }

  /** A token for the WebSocket front: POST /auth/token once per user, then reused. */
  token(user: BenchUser): Promise<string> {
    let t = this.tokens.get(user.name);
    if (!t) {
      t = this.fetchToken(user.name);
      this.tokens.set(user.name, t);
      t.catch(() => this.tokens.delete(user.name));
    }
    return t;
  }

  private async fetchToken(name: string): Promise<string> {
    this.tokenFetches += 1;
    const res = await fetch(`${this.deployment.loginUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: name, password: this.opts.common.password }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let body: { code?: number; token?: string; msg?: string } = {};
    try {
      body = JSON.parse(text);
    } catch {
      /* reported below */
    }
    if (res.status !== 200 || body.code !== 0 || typeof body.token !== 'string' || !body.token) throw new Error(`POST /auth/token for ${name}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return body.token;
  }

  /** Opens a WebSocket connection from the next source address to `url`. */
  async connectWs(url: string, options: { heartbeat?: boolean } = {}): Promise<WsBenchConnection> {
    const localAddress = this.sourceIps[this.nextSource++ % this.sourceIps.length];
    const host = new URL(url).hostname;
    const conn = await WsBenchConnection.connect({
      url,
      localAddress: net.isIPv4(host) ? localAddress : undefined,
      heartbeatMs: options.heartbeat === false ? 0 : this.opts.common.heartbeatMs,
      stats: this.stats,
      directory: this.directory,
    });
    this.open.add(conn);
    conn.onClosed = () => this.open.delete(conn);
    return conn;
  }

  /** Token (cached per user), the front's URL, WebSocket connect, CMD_AUTH_REQ; the time of each step (ms). */
  async loginWsTimed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<TimedLogin<WsBenchConnection>> {
    const t0 = performance.now();
    const token = await this.token(user);
    const t1 = performance.now();
    const url = await this.wsUrl();
    const t2 = performance.now();
    const conn = await this.connectWs(url, options);
    const t3 = performance.now();
    try {
      const res = await conn.auth(user.name, token, wsPlatform(this.opts.common.clientTypeName));
      if (res.errorCode !== IM.Ws.ErrorCode.ERR_SUCCESS) throw new Error(`WebSocket auth of ${user.name} refused: ${IM.Ws.ErrorCode[res.errorCode] ?? res.errorCode} ${res.errorMsg}`);
      if (conn.userId !== user.id) throw new Error(`WebSocket auth of ${user.name}: user id ${conn.userId}, expected ${user.id}`);
      return { conn, tokenMs: t1 - t0, askMs: t2 - t1, connectMs: t3 - t2, loginMs: performance.now() - t3 };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** A front that login_server names by address (tcp12, OMTP): its answer to GET /msg_server?protocol=<protocol> (asked once per connection). */
  async frontAddress(protocol: 'tcp12' | 'omtp'): Promise<{ host: string; port: number }> {
    this.loginServerAsks += 1;
    const res = await fetch(`${this.deployment.loginUrl}/msg_server?protocol=${protocol}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; priorIP?: string; port?: string };
    if (body.code !== 0 || !body.priorIP || !body.port) throw new Error(`login_server answered GET /msg_server?protocol=${protocol} with code ${body.code}: ${body.msg ?? ''}`);
    assertLoopback(body.priorIP, `${protocol} front address from login_server`);
    return { host: body.priorIP, port: Number(body.port) };
  }

  /** The MSync front's TCP transport: the `tcp` of login_server's answer to GET /msg_server?protocol=msync (asked once per connection). */
  async msyncAddress(): Promise<{ host: string; port: number }> {
    this.loginServerAsks += 1;
    const res = await fetch(`${this.deployment.loginUrl}/msg_server?protocol=msync`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; tcp?: { host?: string; port?: number } };
    if (body.code !== 0 || !body.tcp?.host || !body.tcp.port) throw new Error(`login_server answered GET /msg_server?protocol=msync with code ${body.code}${body.code === 0 ? ' but no TCP transport (MSG_SERVER_MSYNC_TCP_PORT 0?)' : `: ${body.msg ?? ''}`}`);
    assertLoopback(body.tcp.host, 'MSync front address from login_server');
    return { host: body.tcp.host, port: Number(body.tcp.port) };
  }

  /** Token (cached per user) when the front wants one, the front's address, TCP connect, the front's log-in; the time of each step (ms). */
  private async loginStreamTimed<C extends StreamBenchConnection>(user: BenchUser, front: StreamFront<C>, options: { heartbeat?: boolean }): Promise<TimedLogin<C>> {
    const t0 = performance.now();
    const token = front.token ? await this.token(user) : '';
    const t1 = performance.now();
    const addr = await front.address();
    const t2 = performance.now();
    const conn = await front.connect({
      ...addr,
      localAddress: net.isIPv4(addr.host) ? this.sourceIps[this.nextSource++ % this.sourceIps.length] : undefined,
      heartbeatMs: options.heartbeat === false ? 0 : this.opts.common.heartbeatMs,
      stats: this.stats,
      directory: this.directory,
    });
    this.open.add(conn);
    conn.onClosed = () => this.open.delete(conn);
    const t3 = performance.now();
    try {
      await front.logIn(conn, token);
      if (conn.userId !== user.id) throw new Error(`${front.name} login of ${user.name}: user id ${conn.userId}, expected ${user.id}`);
      return { conn, ...(front.token ? { tokenMs: t1 - t0 } : {}), askMs: t2 - t1, connectMs: t3 - t2, loginMs: performance.now() - t3 };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** tcp12: a token, the address from login_server, LOGIN. */
  loginTcp12Timed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<TimedLogin<Tcp12BenchConnection>> {
    const t = this.opts.common.clientTypeName;
    const platform = t === 'windows' || t === 'mac' ? 'pc' : t;
    return this.loginStreamTimed(user, { name: 'tcp12', token: true, address: () => this.frontAddress('tcp12'), connect: (o) => Tcp12BenchConnection.connect(o), logIn: (c, token) => c.loginWithToken(user.name, token, platform) }, options);
  }

  /** MSync over TCP: a token, the address from login_server, PROVISION and the log-in pull. */
  loginMsyncTimed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<TimedLogin<MsyncBenchConnection>> {
    return this.loginStreamTimed(user, { name: 'MSync', token: true, address: () => this.msyncAddress(), connect: (o) => MsyncBenchConnection.connect(o), logIn: (c, token) => c.loginWithToken(user.name, token) }, options);
  }

  /** OMTP: the address from login_server, PT_LOGIN with the password (one device id per user). */
  loginOmtpTimed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<TimedLogin<OmtpBenchConnection>> {
    const password = this.opts.common.password;
    return this.loginStreamTimed(user, { name: 'OMTP', token: false, address: () => this.frontAddress('omtp'), connect: (o) => OmtpBenchConnection.connect({ ...o, deviceId: `tt-bench-${user.name}` }), logIn: (c) => c.loginWithPassword(user.name, password) }, options);
  }

  /** Logs a user in over the given protocol; the time of each step (ms). */
  loginTimedAs(user: BenchUser, protocol: ClientProtocol, options: { heartbeat?: boolean } = {}): Promise<TimedLogin> {
    switch (protocol) {
      case 'ws':
        return this.loginWsTimed(user, options);
      case 'tcp12':
        return this.loginTcp12Timed(user, options);
      case 'msync':
        return this.loginMsyncTimed(user, options);
      case 'omtp':
        return this.loginOmtpTimed(user, options);
      default:
        return this.loginTimed(user, options);
    }
  }

  /** Logs a user in over the given protocol. */
  async loginAs(user: BenchUser, protocol: ClientProtocol, options: { heartbeat?: boolean } = {}): Promise<ChatConnection> {
    return (await this.loginTimedAs(user, protocol, options)).conn;
  }

  /** Logs users in, `--concurrency` at a time, each over protocolOf(i); returns the connections in the users' order. */
  async loginAllAs(users: readonly BenchUser[], what: string, protocolOf: (i: number) => ClientProtocol): Promise<ChatConnection[]> {
    const conns: ChatConnection[] = new Array(users.length);
    await pool(users.length, this.opts.common.concurrency, async (i) => {
      conns[i] = await this.loginAs(users[i], protocolOf(i));
    }).catch((err) => {
      for (const c of conns) c?.close();
      throw err;
    });
    const first = conns[0]?.protocol ?? 'teamtalk';
    const ws = conns.filter((c) => c.protocol === 'ws').length;
    const how = conns.some((c) => c.protocol !== first) ? ` (${ws} WebSocket, ${users.length - ws} TeamTalk)` : first === 'teamtalk' ? '' : ` (${protocolLabel(first)})`;
    this.log(`${users.length} ${what} logged in${how}`);
    return conns;
  }

  /** The msg_server to use: --msg-server, or login_server's answer (asked once per connection, as clients do). */
  async msgServerAddress(): Promise<{ host: string; port: number }> {
    if (this.opts.common.msgServer) return this.opts.common.msgServer;
    this.loginServerAsks += 1;
    const body = (await getJson(`${this.deployment.loginUrl}/msg_server`)) as { code: number; msg?: string; priorIP?: string; port?: string };
    if (body.code !== 0 || !body.priorIP) throw new Error(`login_server answered code ${body.code}: ${body.msg ?? ''}`);
    assertLoopback(body.priorIP, 'msg_server address from login_server');
    return { host: body.priorIP, port: Number(body.port) };
  }

  /** Opens a connection from the next source address (round-robin), to `addr` or where login_server says. */
  async connect(options: { heartbeat?: boolean; addr?: { host: string; port: number } } = {}): Promise<BenchConnection> {
    const addr = options.addr ?? (await this.msgServerAddress());
    const localAddress = this.sourceIps[this.nextSource++ % this.sourceIps.length];
    const conn = await BenchConnection.connect({
      host: addr.host,
      port: addr.port,
      localAddress: net.isIPv4(addr.host) ? localAddress : undefined,
      heartbeatMs: options.heartbeat === false ? 0 : this.opts.common.heartbeatMs,
      stats: this.stats,
    });
    this.open.add(conn);
    conn.onClosed = () => this.open.delete(conn);
    return conn;
  }

  closeAll(): void {
    for (const c of this.open) c.close();
    this.open.clear();
  }

  /** Connects and logs in; throws with the server's reason on refusal. */
  async login(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<BenchConnection> {
    return (await this.loginTimed(user, options)).conn;
  }

  /** login() with the time of each step: asking login_server, TCP connect, the login request (ms). */
  async loginTimed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<TimedLogin<BenchConnection>> {
    const t0 = performance.now();
    const addr = await this.msgServerAddress();
    const t1 = performance.now();
    const conn = await this.connect({ ...options, addr });
    const t2 = performance.now();
    try {
      const res = await conn.login(user.name, this.passwordMd5, this.opts.common.clientType);
      if (res.resultCode !== IM.BaseDefine.ResultType.REFUSE_REASON_NONE) throw new Error(`login of ${user.name} refused: ${res.resultCode} ${res.resultString}`);
      if (conn.userId !== user.id) throw new Error(`login of ${user.name} returned user id ${conn.userId}, expected ${user.id}`);
      return { conn, askMs: t1 - t0, connectMs: t2 - t1, loginMs: performance.now() - t2 };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Logs users in, `--concurrency` at a time; returns the connections in the users' order. */
  async loginAll(users: readonly BenchUser[], what: string): Promise<BenchConnection[]> {
    const conns: BenchConnection[] = new Array(users.length);
    await pool(users.length, this.opts.common.concurrency, async (i) => {
      conns[i] = await this.login(users[i]);
    }).catch((err) => {
      for (const c of conns) c?.close();
      throw err;
    });
    this.log(`${users.length} ${what} logged in`);
    return conns;
  }
}

/**
 * GET url and parse its JSON answer, over a connection of its own as TeamTalk clients do.
 * node:http, not fetch: a login storm asks once per login, and fetch costs the
 * generator about twice the CPU per request (it would be the bottleneck).
 */
export function getJson(url: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}, not JSON (${(err as Error).message})`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Runs fn(0..count-1) with at most `concurrency` at once; the first failure rejects (the rest still settle). */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count && failed === undefined && !stop()) {
        const i = next++;
        try {
          await fn(i);
        } catch (err) {
          failed ??= err;
        }
      }
    }),
  );
  if (failed !== undefined) throw failed;
}

/** A front's name in logs and headlines. */
export function protocolLabel(protocol: ClientProtocol): string {
  return { teamtalk: 'TeamTalk', ws: 'WebSocket', tcp12: 'tcp12', msync: 'MSync', omtp: 'OMTP' }[protocol];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until check() is true or the time runs out; returns whether it became true. */
export async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() >= end) return false;
    await sleep(stepMs);
  }
  return true;
}
