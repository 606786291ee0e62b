// hold: N logged-in idle connections, more than one process may hold (its
// open-file limit), held by --workers load-generator processes
// (../hold-worker.ts). Each worker logs in its share through login_server, so
// the users spread over every msg_server as real clients would, and keeps
// them idle with heartbeats. Then, with everything held:
//   1. --hold S seconds of idle: the CPU of every role (and of NATS, Redis,
//      MariaDB when found) is their cost of holding N connections;
//   2. --probe-seconds of probes at --probe-rate: a few sender connections of
//      this process send single-chat messages to random held users, taken in
//      turn from each msg_server's share; the worker holding the receiver
//      times send→delivery (sent-at in the payload, on the machine's clock).
// Reported: the login rate of the ramp, RSS per connection of each
// msg_server (held RSS minus RSS before the ramp, over its share), RSS of the
// other roles, idle CPU per role in cores, probe latency p50/p95/p99 overall
// and per msg_server, failures.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import type { BenchConnection } from '../conn';
import { sleep, waitFor, type RunContext, type ScenarioResult } from '../context';
import { REPO_ROOT } from '../deployment';
import type { FromHoldWorker, HoldWorkerStats, ToHoldWorker } from '../hold-worker';
import { epochMs } from '../hold-worker';
import { metricSum, parsePrometheus, scrape, type ServerSampler } from '../metrics';
import { encodePayload } from '../payload';
import { LatencyHistogram, round1, round3, TimeSeries } from '../stats';
import { createUsers, type BenchUser } from '../users';

/** The worker entry: next to this file's directory when built; jest runs sources, so the built one then. */
export function holdWorkerScript(): string {
  const script = __filename.endsWith('.ts') ? path.join(REPO_ROOT, 'packages', 'bench', 'dist', 'hold-worker.js') : path.join(__dirname, '..', 'hold-worker.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: build first (pnpm build)`);
  return script;
}

/** CPU and memory of one process, read from /proc (Linux). */
export interface ProcUsage {
  cpuSeconds: number;
  rssBytes: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function procUsage(pid: number): ProcUsage | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is the first; utime and stime the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** The infrastructure processes on this machine (NATS, Redis, MariaDB), by command name: shared with anything else using them. */
function infraProcesses(): Array<{ name: string; pid: number }> {
  const wanted = new Set(['nats-server', 'redis-server', 'mariadbd', 'mysqld']);
  const out: Array<{ name: string; pid: number }> = [];
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of dirs) {
    try {
      const comm = fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (wanted.has(comm)) out.push({ name: `${comm}:${d} (shared)`, pid: Number(d) });
    } catch {
      /* gone */
    }
  }
  return out;
}

interface WorkerHandle {
  child: ChildProcess;
  users: BenchUser[];
  loggedIn: number;
  failed: number;
  ramped?: Extract<FromHoldWorker, { type: 'ramped' }>;
  final?: HoldWorkerStats;
  exited: boolean;
  stderr: string[];
}

const mib = (b: number) => round1(b / 1048576);
const median = (xs: number[]) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);

export async function runHold(ctx: RunContext, sampler: ServerSampler, argv: string[]): Promise<ScenarioResult> {
  const o = ctx.opts.hold;
  const c = ctx.opts.common;
  const d = ctx.deployment;

  // Users: the held ones and the probe senders, in bulk (MariaDB takes more inserts in flight than SQLite).
  ctx.log(`creating ${o.count + o.probeSenders} users (${c.usersVia}, scrypt N=${c.scryptN})`);
  const names = Array.from({ length: o.count + o.probeSenders }, (_, i) => `${ctx.userPrefix}h${i + 1}`);
  const created = await createUsers({ env: d.storeEnv }, names, {
    via: c.usersVia,
    scryptN: c.scryptN,
    password: c.password,
    concurrency: c.usersVia === 'store' && d.storeEnv.TT_MODE === 'cluster' ? 32 : undefined,
    ttctlScript: path.join(REPO_ROOT, 'packages', 'ttctl', 'dist', 'main.js'),
    onProgress: (done, total) => done % 5000 === 0 && ctx.log(`  users ${done}/${total}`),
  });
  ctx.userCreation = { count: names.length, created: created.created, reused: created.reused, seconds: round1(created.seconds), perSecond: Math.round(names.length / created.seconds), via: c.usersVia, scryptN: c.scryptN };
  for (const u of created.users) ctx.directory.add(u.name, u.id);
  const held = created.users.slice(0, o.count);
  const senderUsers = created.users.slice(o.count);
  ctx.log(`users ready in ${created.seconds.toFixed(1)} s (${ctx.userCreation.perSecond}/s)`);

  // What is measured: every started role by pid, the shared infrastructure, and each msg_server's /metrics.
  const roles = d.processes.filter((p) => p.child.pid !== undefined).map((p) => ({ name: p.role, pid: p.child.pid! }));
  const infra = d.started && d.mode === 'cluster' ? infraProcesses() : [];
  const watched = [...roles, ...infra];
  const msgAdmins = c.adminUrls.length > 0 ? c.adminUrls : d.adminUrls;
  const usage = () => new Map(watched.map((p) => [p.name, procUsage(p.pid)] as const));
  const scrapeEach = () => Promise.all(msgAdmins.map((u) => scrape([u], 0).catch(() => undefined)));

  // Before the ramp: memory, and the CPU every process spends with no connection at all.
  await sampler.sample();
  const quietStart = usage();
  const quietT0 = performance.now();
  await sleep(Math.max(500, Math.min(3000, o.holdS * 1000)));
  const rssBefore = usage();
  const quietSeconds = (performance.now() - quietT0) / 1000;
  const msgBefore = await scrapeEach();

  // The workers.
  const script = holdWorkerScript();
  const share = Math.ceil(o.count / o.workers);
  const workers: WorkerHandle[] = [];
  const latency = new LatencyHistogram();
  const askLatency = new LatencyHistogram();
  const connectLatency = new LatencyHistogram();
  const loginLatency = new LatencyHistogram();
  const probeLatency = new LatencyHistogram();
  const t0 = ctx.startClock();
  const series = new TimeSeries(['logins', 'probes'], t0, 1000);
  let probeDeliveries = new Uint8Array(0);
  const probePort = new Int32Array(Math.ceil(o.probeRate * o.probeSeconds) + 1);
  const perServerLatency = new Map<number, LatencyHistogram>();
  const delivery = { duplicates: 0, misrouted: 0, foreign: 0, corrupt: 0, unknown: 0 };
  let workerError: string | undefined;

  const onMessage = (w: WorkerHandle, m: FromHoldWorker) => {
    const at = performance.now();
    switch (m.type) {
      case 'progress':
        if (m.loggedIn > w.loggedIn) series.add('logins', at, m.loggedIn - w.loggedIn);
        w.loggedIn = m.loggedIn;
        w.failed = m.failed;
        return;
      case 'ramped':
        w.ramped = m;
        return;
      case 'deliveries':
        delivery.misrouted += m.misrouted;
        delivery.foreign += m.foreign;
        delivery.corrupt += m.corrupt;
        for (let i = 0; i < m.probeIds.length; i++) {
          const id = m.probeIds[i];
          if (id >= probeDeliveries.length) {
            delivery.unknown += 1;
            continue;
          }
          if (probeDeliveries[id] > 0) {
            delivery.duplicates += 1;
            continue;
          }
          probeDeliveries[id] = 1;
          probeLatency.record(m.latencyMs[i]);
          perServerLatency.get(probePort[id])?.record(m.latencyMs[i]);
          series.add('probes', at);
        }
        return;
      case 'stats':
        w.final = m.stats;
        return;
      case 'error':
        workerError ??= `worker ${m.index}: ${m.message}`;
        return;
    }
  };

  const stopWorkers = async () => {
    for (const w of workers) if (!w.exited && w.child.connected) w.child.send({ type: 'stop' } satisfies ToHoldWorker);
    const all = await waitFor(() => workers.every((w) => w.exited), 20_000, 50);
    // Never leave one behind.
    if (!all) for (const w of workers) if (!w.exited) w.child.kill('SIGKILL');
  };

  let senders: BenchConnection[] = [];
  try {
    for (let i = 0; i < o.workers; i++) {
      const users = held.slice(i * share, (i + 1) * share);
      if (users.length === 0) break;
      const child = fork(script, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      const w: WorkerHandle = { child, users, loggedIn: 0, failed: 0, exited: false, stderr: [] };
      child.stderr!.on('data', (b: Buffer) => {
        w.stderr.push(b.toString());
        if (w.stderr.length > 20) w.stderr.shift();
      });
      child.on('message', (m: FromHoldWorker) => onMessage(w, m));
      child.on('exit', (code, signal) => {
        w.exited = true;
        if (!w.final && !workerError) workerError = `worker ${i} exited (${code ?? signal}) before it was stopped: ${w.stderr.join('').slice(-1000)}`;
      });
      workers.push(w);
    }
    const rampStart = usage();
    ctx.log(`ramp: ${o.count} logins by ${workers.length} worker processes (${share} each, ${Math.ceil(c.concurrency / workers.length)} in flight each) from ${ctx.sourceIps.length} source addresses`);
    workers.forEach((w, i) => {
      const rotated = [...ctx.sourceIps.slice(i % ctx.sourceIps.length), ...ctx.sourceIps.slice(0, i % ctx.sourceIps.length)];
      w.child.send({
        type: 'start',
        index: i,
        argv,
        runId: ctx.runId,
        runTag: ctx.runTag,
        loginUrl: d.loginUrl,
        users: w.users,
        sourceIps: rotated,
        concurrency: Math.max(1, Math.ceil(c.concurrency / workers.length)),
        loginRate: o.loginRate / workers.length,
        rampLimitMs: Math.max(0, ctx.deadline - performance.now()),
      } satisfies ToHoldWorker);
    });
    let lastLog = performance.now();
    await waitFor(
      () => {
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          ctx.log(`  ${workers.reduce((s, w) => s + w.loggedIn, 0)}/${o.count} logged in`);
        }
        return workerError !== undefined || workers.every((w) => w.ramped);
      },
      Math.max(0, ctx.deadline - performance.now()) + 30_000,
      100,
    );
    if (workerError) throw new Error(workerError);
    if (!workers.every((w) => w.ramped)) throw new Error('the workers did not finish the ramp in time');
    const rampSeconds = (performance.now() - t0) / 1000;
    const rampEnd = usage();
    const loggedIn = workers.reduce((s, w) => s + w.users.length - w.ramped!.failed, 0);
    ctx.log(`ramp done: ${loggedIn} logged in in ${rampSeconds.toFixed(1)} s (${(loggedIn / rampSeconds).toFixed(0)}/s)`);
    for (const w of workers) {
      const r = w.ramped!;
      r.totalMs.forEach((v) => latency.record(v));
      r.askMs.forEach((v) => askLatency.record(v));
      r.connectMs.forEach((v) => connectLatency.record(v));
      r.loginMs.forEach((v) => loginLatency.record(v));
    }

    // Which msg_server holds whom (by port, from login_server's answers).
    const byPort = new Map<number, number[]>();
    workers.forEach((w, wi) =>
      w.ramped!.ports.forEach((port, i) => {
        if (port === 0) return;
        let list = byPort.get(port);
        if (!list) byPort.set(port, (list = []));
        list.push(wi * share + i);
      }),
    );
    const ports = [...byPort.keys()].sort((a, b) => a - b);
    for (const p of ports) perServerLatency.set(p, new LatencyHistogram());

    // 1. Idle: only heartbeats.
    await sleep(Math.min(2000, o.holdS * 1000));
    const idleStart = usage();
    const idleT0 = performance.now();
    const msgRss: number[][] = msgAdmins.map(() => []);
    const holdEnd = performance.now() + o.holdS * 1000;
    let msgHeld = await scrapeEach();
    while (performance.now() < holdEnd) {
      await sleep(Math.min(c.sampleMs, Math.max(0, holdEnd - performance.now())));
      msgHeld = await scrapeEach();
      msgHeld.forEach((s, i) => s && msgRss[i].push(s.rssBytes));
    }
    const idleEnd = usage();
    const idleSeconds = (performance.now() - idleT0) / 1000;
    ctx.log(`held idle for ${idleSeconds.toFixed(1)} s`);

    // 2. Probes from a few senders of this process to held users of each msg_server in turn.
    const probes = Math.floor(o.probeRate * o.probeSeconds);
    probeDeliveries = new Uint8Array(probes + 1);
    let acked = 0;
    if (probes > 0 && ports.length > 0) {
      senders = await ctx.loginAll(senderUsers, 'probe senders');
      for (const s of senders) s.onMsgAck = () => void (acked += 1);
      ctx.log(`probes: ${probes} at ${o.probeRate}/s from ${senders.length} senders to held users of ${ports.length} msg_server(s)`);
      const p0 = performance.now();
      for (let id = 1; id <= probes; id++) {
        const wait = p0 + ((id - 1) / o.probeRate) * 1000 - performance.now();
        if (wait > 0) await sleep(wait);
        const port = ports[id % ports.length];
        const list = byPort.get(port)!;
        const target = held[list[Math.floor(Math.random() * list.length)]];
        probePort[id] = port;
        senders[id % senders.length].sendMsg(target.id, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, encodePayload({ runTag: ctx.runTag, stream: id, seq: 0, sentAt: epochMs() }, 64));
      }
      await waitFor(() => probeLatency.count + delivery.duplicates >= probes && acked >= probes, 10_000, 50);
    }

    // A msg_server declared dead by route_server (silent past MSG_SERVER_SUSPICION_TIMEOUT_MS, e.g. a
    // starved event loop) closes all its clients when it wakes: the usual reason for connections lost here.
    const fencings = await Promise.all(
      msgAdmins.map(async (url) => {
        try {
          return metricSum(parsePrometheus(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text()), 'tt_msg_server_fencings_total');
        } catch {
          return NaN;
        }
      }),
    );

    // Final counters from every worker, then they close their connections and exit.
    await stopWorkers();
    const finals = workers.map((w) => w.final).filter((s): s is HoldWorkerStats => s !== undefined);
    const sum = (k: keyof HoldWorkerStats) => finals.reduce((s, f) => s + f[k], 0);
    const stillOpen = sum('stillOpen');

    const counts: Record<string, number> = {
      requested: o.count,
      loggedIn,
      failed: o.count - loggedIn,
      stillOpenAtEnd: stillOpen,
      closedByServer: sum('closedByServer'),
      kicked: sum('kicked'),
      requestTimeouts: sum('requestTimeouts'),
      probesSent: probes,
      probesAcked: acked,
      probesDelivered: probeLatency.count,
      probesLost: Math.max(0, probes - probeLatency.count),
      probeDuplicates: delivery.duplicates,
      probesMisrouted: delivery.misrouted,
      probesCorrupt: delivery.corrupt,
      foreignDeliveries: delivery.foreign,
      workers: workers.length,
      msgServerFencings: fencings.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0),
    };

    // Memory and CPU.
    const perServer = msgAdmins.map((url, i) => {
      const before = msgBefore[i];
      const rss = median(msgRss[i]) || msgHeld[i]?.rssBytes || 0;
      const share = msgHeld[i]?.loggedIn ?? 0;
      return {
        adminUrl: url,
        loggedIn: share,
        fencings: Number.isNaN(fencings[i]) ? null : fencings[i],
        rssBeforeMiB: before ? mib(before.rssBytes) : null,
        rssHeldMiB: mib(rss),
        rssPerConnectionKiB: before && share > 0 ? round1((rss - before.rssBytes) / share / 1024) : null,
        heapPerConnectionKiB: before && msgHeld[i] && share > 0 ? round1((msgHeld[i]!.heapUsedBytes - before.heapUsedBytes) / share / 1024) : null,
      };
    });
    const processes = watched.map((p) => {
      const a = idleStart.get(p.name);
      const b = idleEnd.get(p.name);
      const r0 = rssBefore.get(p.name);
      const q0 = quietStart.get(p.name);
      const l0 = rampStart.get(p.name);
      const l1 = rampEnd.get(p.name);
      return {
        process: p.name,
        // The ramp's CPU over its logins (heartbeats of the connections already held included: small).
        cpuPerLoginUs: l0 && l1 && loggedIn > 0 ? Math.round(((l1.cpuSeconds - l0.cpuSeconds) / loggedIn) * 1e6) : null,
        rssBeforeMiB: r0 ? mib(r0.rssBytes) : null,
        rssHeldMiB: b ? mib(b.rssBytes) : null,
        idleCpuCores: a && b && idleSeconds > 0 ? round3((b.cpuSeconds - a.cpuSeconds) / idleSeconds) : null,
        cpuCoresBeforeRamp: q0 && r0 ? round3((r0.cpuSeconds - q0.cpuSeconds) / quietSeconds) : null,
      };
    });
    const generatorRss = finals.reduce((s, f) => s + f.rssBytes, 0);
    // The idle cost of the connections themselves: held CPU minus CPU with none, over each msg_server's share
    // (started msg_servers are in the order of their admin URLs).
    const msgProcesses = processes.filter((p) => p.process.startsWith('msg_server') || p.process === 'standalone');
    const idlePerThousand = perServer.map((srv, i) => {
      const p = msgProcesses.length === perServer.length ? msgProcesses[i] : undefined;
      return p && p.idleCpuCores !== null && p.cpuCoresBeforeRamp !== null && srv.loggedIn > 0 ? round3(((p.idleCpuCores - p.cpuCoresBeforeRamp) / srv.loggedIn) * 1000) : null;
    });

    const probeSummary = probeLatency.summary();
    const serverLoggedIn = perServer.reduce((s, p) => s + p.loggedIn, 0);
    const headline: Record<string, number | string> = {
      'connections held': loggedIn,
      'load-generator processes': workers.length,
      'login rate (logins/s)': round1(loggedIn / rampSeconds),
      'login latency p50 / p99 (ms), all steps': `${latency.summary().p50} / ${latency.summary().p99}`,
      'msg_server share / RSS per connection (KiB)': perServer.map((p) => `${p.loggedIn} / ${p.rssPerConnectionKiB}`).join(', '),
      'RSS held (MiB)': processes.filter((p) => !p.process.includes('shared')).map((p) => `${p.process} ${p.rssHeldMiB}`).join(', '),
      'CPU per login during the ramp (µs)': processes.map((p) => `${p.process.replace(' (shared)', '')} ${p.cpuPerLoginUs}`).join(', '),
      'msg_server idle CPU per 1 000 connections (cores, above its CPU with none)': idlePerThousand.join(', '),
      'CPU while idle-held (cores)': processes.map((p) => `${p.process.replace(' (shared)', '')} ${p.idleCpuCores}`).join(', '),
    };
    if (probes > 0) {
      headline['probe send→delivery p50 / p95 / p99 (ms)'] = `${probeSummary.p50} / ${probeSummary.p95} / ${probeSummary.p99}`;
      headline['probe p99 per msg_server (ms)'] = ports.map((p) => `:${p} ${perServerLatency.get(p)!.summary().p99}`).join(', ');
    }

    const checkFailures: string[] = [];
    if (loggedIn !== o.count) checkFailures.push(`${o.count - loggedIn} connections did not log in`);
    if (stillOpen !== loggedIn) checkFailures.push(`${loggedIn - stillOpen} connections closed while held (${counts.closedByServer} by the server)`);
    if (counts.msgServerFencings > 0) checkFailures.push(`msg_servers fenced ${counts.msgServerFencings} times: declared dead by route_server (silent past MSG_SERVER_SUSPICION_TIMEOUT_MS), they closed every client`);
    if (counts.kicked > 0) checkFailures.push(`${counts.kicked} kick notifications`);
    if (finals.length !== workers.length) checkFailures.push(`${workers.length - finals.length} workers did not report at the end`);
    if (msgAdmins.length > 0 && msgHeld.every(Boolean) && serverLoggedIn < loggedIn) checkFailures.push(`the msg_servers report ${serverLoggedIn} logged-in connections, expected at least ${loggedIn}`);
    if (probes > 0) {
      if (counts.probesLost > 0) checkFailures.push(`${counts.probesLost} of ${probes} probes not delivered`);
      if (acked < probes) checkFailures.push(`${probes - acked} probes not acked`);
      if (delivery.duplicates + delivery.misrouted + delivery.corrupt > 0) checkFailures.push(`probes: ${delivery.duplicates} duplicates, ${delivery.misrouted} misrouted, ${delivery.corrupt} corrupt`);
      if (probeSummary.p99 > o.maxProbeP99Ms) checkFailures.push(`probe p99 ${probeSummary.p99} ms is above --max-probe-p99-ms ${o.maxProbeP99Ms}`);
    }
    const failureSamples = workers.flatMap((w) => w.ramped?.failureSamples ?? []).slice(0, 5);
    const rates = series.rates();
    return {
      headline,
      counts,
      latency: { probe: probeSummary, loginTotal: latency.summary(), askLoginServer: askLatency.summary(), connect: connectLatency.summary(), loginRequest: loginLatency.summary() },
      checks: { passed: checkFailures.length === 0, failures: checkFailures },
      timeline: { title: 'LOGINS AND PROBE DELIVERIES PER SECOND', unit: 'PER S', ...rates },
      distribution: {
        title: probes > 0 ? 'PROBE LATENCY (SEND TO DELIVERY)' : 'LOGIN LATENCY',
        bins: (probes > 0 ? probeLatency : latency).bins(60),
        markers: (['p50', 'p95', 'p99'] as const).map((k) => ({ label: k.toUpperCase(), ms: (probes > 0 ? probeSummary : latency.summary())[k] })),
      },
      details: {
        rampSeconds: round1(rampSeconds),
        idleSeconds: round1(idleSeconds),
        msgServers: perServer.map((srv, i) => ({ ...srv, idleCpuCoresPerThousandConnections: idlePerThousand[i] })),
        processes,
        probeLatencyByMsgServerPort: Object.fromEntries(ports.map((p) => [p, perServerLatency.get(p)!.summary()])),
        generator: { workers: workers.length, perWorker: share, rssMiB: mib(generatorRss), cpuSeconds: round1(sum('cpuSeconds')), pdusIn: sum('pdusIn'), pdusOut: sum('pdusOut') },
        failureSamples,
        sourceAddresses: ctx.sourceIps,
      },
    };
  } finally {
    for (const s of senders) s.close();
    await stopWorkers();
  }
}
