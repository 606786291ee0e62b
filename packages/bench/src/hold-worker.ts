// One load-generator process of the `hold` scenario (scenarios/hold.ts forks
// --workers of these with child_process.fork). A process may only hold as
// many sockets as its open-file limit allows, so the held connections are
// split between processes: each logs its share of the users in through
// login_server like a client (GET /msg_server, connect, IMLoginReq), keeps
// them idle with heartbeats, and reports over IPC: progress, the msg_server
// each user landed on, and the probe messages its users receive, with the
// send→delivery time (sent-at travels in the payload as epoch ms, which every
// process on the machine reads from the same clock).
import { IM } from '@tt/proto';
import type { BenchConnection } from './conn';
import { pool, RunContext, sleep } from './context';
import { externalDeployment } from './deployment';
import { parseOptions } from './options';
import { decodePayload } from './payload';
import type { BenchUser } from './users';

/** What the parent sends first: everything the worker needs to log its users in. */
export interface HoldWorkerStart {
  type: 'start';
  index: number;
  /** The run's command line (options are parsed the same way as in the parent). */
  argv: string[];
  runId: string;
  runTag: number;
  loginUrl: string;
  users: BenchUser[];
  /** Source addresses, rotated so the workers start on different ones. */
  sourceIps: string[];
  concurrency: number;
  /** Logins/s of this worker (0 = as fast as `concurrency` allows). */
  loginRate: number;
  /** The ramp stops after this many ms (the run's --duration). */
  rampLimitMs: number;
}

export type ToHoldWorker = HoldWorkerStart | { type: 'stop' };

/** Counters of the worker's own process and connections. */
export interface HoldWorkerStats {
  stillOpen: number;
  closedByServer: number;
  kicked: number;
  requestTimeouts: number;
  decodeErrors: number;
  socketErrors: number;
  pdusIn: number;
  pdusOut: number;
  cpuSeconds: number;
  rssBytes: number;
}

export type FromHoldWorker =
  | { type: 'progress'; index: number; loggedIn: number; failed: number }
  | {
      type: 'ramped';
      index: number;
      /** Per user of the share, the msg_server port it logged in to (0 = failed). */
      ports: Int32Array;
      failed: number;
      failureSamples: string[];
      rampMs: number;
      /** ms of each successful login (all steps), then of its steps. */
      totalMs: Float64Array;
      askMs: Float64Array;
      connectMs: Float64Array;
      loginMs: Float64Array;
      stats: HoldWorkerStats;
    }
  | { type: 'deliveries'; index: number; probeIds: Uint32Array; latencyMs: Float64Array; misrouted: number; foreign: number; corrupt: number }
  | { type: 'stats'; index: number; stats: HoldWorkerStats }
  | { type: 'error'; index: number; message: string };

/** Wall-clock ms with sub-ms precision, comparable between processes of one machine. */
export const epochMs = () => performance.timeOrigin + performance.now();

const send = (m: FromHoldWorker) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, undefined, () => resolve());
  });

class HoldWorker {
  private readonly conns: BenchConnection[] = [];
  private ctx!: RunContext;
  private index = 0;
  private probeIds: number[] = [];
  private latencies: number[] = [];
  private misrouted = 0;
  private foreign = 0;
  private corrupt = 0;
  private flushTimer?: NodeJS.Timeout;

  async start(m: HoldWorkerStart): Promise<void> {
    this.index = m.index;
    const opts = parseOptions(m.argv);
    this.ctx = new RunContext(opts, externalDeployment(m.loginUrl, [], {}), m.runId, m.runTag, m.sourceIps, () => {});
    const ctx = this.ctx;
    const n = m.users.length;
    const ports = new Int32Array(n);
    const totalMs: number[] = [];
    const askMs: number[] = [];
    const connectMs: number[] = [];
    const loginMs: number[] = [];
    const failureSamples: string[] = [];
    let failed = 0;
    let loggedIn = 0;
    const t0 = performance.now();
    const rampEnd = t0 + m.rampLimitMs;
    const progress = setInterval(() => void send({ type: 'progress', index: m.index, loggedIn, failed }), 1000);
    this.flushTimer = setInterval(() => this.flushDeliveries(), 100);
    await pool(
      n,
      m.concurrency,
      async (i) => {
        if (m.loginRate > 0) {
          const wait = t0 + (i / m.loginRate) * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
        }
        if (performance.now() >= rampEnd) return;
        const user = m.users[i];
        const start = performance.now();
        try {
          const addr = await ctx.msgServerAddress();
          const asked = performance.now();
          const conn = await ctx.connect({ addr });
          const connected = performance.now();
          conn.onDeliver = (msg, at) => this.onDeliver(conn, msg, at);
          const res = await conn.login(user.name, ctx.passwordMd5, opts.common.clientType).catch((err: Error) => {
            conn.close();
            throw err;
          });
          if (res.resultCode !== IM.BaseDefine.ResultType.REFUSE_REASON_NONE || conn.userId !== user.id) {
            conn.close();
            throw new Error(`login of ${user.name} refused: ${res.resultCode} ${res.resultString}`);
          }
          const end = performance.now();
          this.conns.push(conn);
          ports[i] = addr.port;
          loggedIn += 1;
          totalMs.push(end - start);
          askMs.push(asked - start);
          connectMs.push(connected - asked);
          loginMs.push(end - connected);
        } catch (err) {
          failed += 1;
          if (failureSamples.length < 5) failureSamples.push((err as Error).message);
        }
      },
      () => performance.now() >= rampEnd,
    );
    clearInterval(progress);
    await send({ type: 'progress', index: m.index, loggedIn, failed });
    await send({
      type: 'ramped',
      index: m.index,
      ports,
      failed: n - loggedIn,
      failureSamples,
      rampMs: performance.now() - t0,
      totalMs: Float64Array.from(totalMs),
      askMs: Float64Array.from(askMs),
      connectMs: Float64Array.from(connectMs),
      loginMs: Float64Array.from(loginMs),
      stats: this.stats(),
    });
  }

  private onDeliver(conn: BenchConnection, msg: { toSessionId: number; msgData: Uint8Array }, at: number): void {
    const p = decodePayload(msg.msgData, this.ctx.runTag);
    if (!p.ok) {
      if (p.reason === 'foreign') this.foreign += 1;
      else this.corrupt += 1;
      return;
    }
    if (msg.toSessionId !== conn.userId) this.misrouted += 1;
    // performance.now() of `at` on the shared wall clock.
    this.probeIds.push(p.payload.stream);
    this.latencies.push(performance.timeOrigin + at - p.payload.sentAt);
  }

  flushDeliveries(): Promise<void> {
    if (this.probeIds.length === 0 && this.misrouted + this.foreign + this.corrupt === 0) return Promise.resolve();
    const m: FromHoldWorker = { type: 'deliveries', index: this.index, probeIds: Uint32Array.from(this.probeIds), latencyMs: Float64Array.from(this.latencies), misrouted: this.misrouted, foreign: this.foreign, corrupt: this.corrupt };
    this.probeIds = [];
    this.latencies = [];
    this.misrouted = this.foreign = this.corrupt = 0;
    return send(m);
  }

  stats(): HoldWorkerStats {
    const s = this.ctx.stats;
    const cpu = process.cpuUsage();
    return {
      stillOpen: this.conns.filter((c) => !c.closed).length,
      closedByServer: s.closedByServer,
      kicked: s.kicked,
      requestTimeouts: s.requestTimeouts,
      decodeErrors: s.decodeErrors,
      socketErrors: s.socketErrors,
      pdusIn: s.pdusIn,
      pdusOut: s.pdusOut,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /** Final deliveries and counters, then every connection closed. */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushDeliveries();
    if (this.ctx) await send({ type: 'stats', index: this.index, stats: this.stats() });
    this.ctx?.closeAll();
  }
}

if (require.main === module) {
  const worker = new HoldWorker();
  let index = -1;
  process.on('message', (m: ToHoldWorker) => {
    if (m.type === 'start') {
      index = m.index;
      worker.start(m).catch((err: Error) => void send({ type: 'error', index, message: err.stack ?? err.message }));
    } else if (m.type === 'stop') {
      void worker.stop().finally(() => process.exit(0));
    }
  });
  // The parent gone (crashed or killed): never outlive it.
  process.on('disconnect', () => process.exit(0));
}
