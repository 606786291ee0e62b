// What every scenario gets: the deployment, user creation, connections
// (spread over source addresses, through login_server as clients do), the
// counters shared by all connections, bounds, and a place for warnings.
import * as net from 'node:net';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { BenchConnection, ConnStats, md5Hex } from './conn';
import { assertLoopback, REPO_ROOT, type Deployment } from './deployment';
import type { BenchOptions } from './options';
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
  /** Every connection still open (closed on abort). */
  readonly open = new Set<BenchConnection>();

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
    return res.users;
  }

  /** The msg_server to use: --msg-server, or login_server's answer (asked once per connection, as clients do). */
  async msgServerAddress(): Promise<{ host: string; port: number }> {
    if (this.opts.common.msgServer) return this.opts.common.msgServer;
    this.loginServerAsks += 1;
    const res = await fetch(`${this.deployment.loginUrl}/msg_server`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; priorIP?: string; port?: string };
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
  async loginTimed(user: BenchUser, options: { heartbeat?: boolean } = {}): Promise<{ conn: BenchConnection; askMs: number; connectMs: number; loginMs: number }> {
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
