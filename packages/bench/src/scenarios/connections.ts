// connections: N logged-in idle connections held for a while. Measures the
// login rate, msg_server RSS and heap per connection (against a baseline
// taken before the ramp) and its CPU while the connections only heartbeat.
// --protocol ws, tcp12, msync: clients of that front (a token from
// login_server first, timed as its own step); omtp: OMTP clients (password
// log-in, no token); mixed: every other one WebSocket.
import type { ChatConnection } from '../conn';
import { pool, protocolLabel, sleep, type RunContext, type ScenarioResult } from '../context';
import type { ServerSampler, ServerSnapshot } from '../metrics';
import { LatencyHistogram, round1, TimeSeries } from '../stats';

const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export async function runConnections(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.connections;
  const users = await ctx.users('c', o.count);

  // Baseline: the server with none of our connections (two samples apart, the later one kept).
  await sampler.sample();
  await sleep(500);
  const before = await sampler.sample();

  const latency = new LatencyHistogram();
  const askLatency = new LatencyHistogram();
  const connectLatency = new LatencyHistogram();
  const loginLatency = new LatencyHistogram();
  const tokenLatency = new LatencyHistogram();
  const protocol = ctx.opts.common.protocol;
  const conns: ChatConnection[] = [];
  const failures: string[] = [];
  let failed = 0;
  const t0 = ctx.startClock();
  const series = new TimeSeries(['logins'], t0, 10);
  ctx.log(`ramp: ${o.count} logins, ${ctx.opts.common.concurrency} at a time${o.loginRate > 0 ? `, at most ${o.loginRate}/s` : ''}, from ${ctx.sourceIps.length} source addresses`);
  let lastLog = t0;
  await pool(
    users.length,
    ctx.opts.common.concurrency,
    async (i) => {
      if (o.loginRate > 0) {
        const due = t0 + (i / o.loginRate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (ctx.pastDeadline) return;
      }
      const start = performance.now();
      try {
        const r = await ctx.loginTimedAs(users[i], ctx.protocolFor('member', i));
        conns.push(r.conn);
        const end = performance.now();
        if (r.tokenMs !== undefined) tokenLatency.record(r.tokenMs);
        askLatency.record(r.askMs);
        connectLatency.record(r.connectMs);
        loginLatency.record(r.loginMs);
        latency.record(end - start);
        series.add('logins', end);
        if (end - lastLog > 5000) {
          lastLog = end;
          ctx.log(`  ${conns.length}/${o.count} logged in`);
        }
      } catch (err) {
        failed += 1;
        if (failures.length < 5) failures.push((err as Error).message);
      }
    },
    () => ctx.pastDeadline,
  );
  const rampEnd = performance.now();
  const rampSeconds = (rampEnd - t0) / 1000;
  const loggedIn = conns.length;
  if (loggedIn < o.count) ctx.warn(`only ${loggedIn} of ${o.count} connections logged in (${failed} failed${ctx.pastDeadline ? ', duration reached' : ''})`);
  ctx.log(`ramp done: ${loggedIn} logged in in ${rampSeconds.toFixed(1)} s`);

  // Hold: the connections only heartbeat; the server's CPU over this window is its idle cost.
  await sleep(Math.min(2000, o.holdS * 1000));
  const holdStart = await sampler.sample();
  const holdSamples: ServerSnapshot[] = [];
  const holdEnd = performance.now() + o.holdS * 1000;
  while (performance.now() < holdEnd) {
    await sleep(Math.min(ctx.opts.common.sampleMs, Math.max(0, holdEnd - performance.now())));
    const s = await sampler.sample();
    if (s) holdSamples.push(s);
  }
  const stillOpen = conns.filter((c) => !c.closed).length;
  const last = holdSamples[holdSamples.length - 1] ?? holdStart;

  const counts: Record<string, number> = {
    requested: o.count,
    loggedIn,
    failed,
    stillOpenAfterHold: stillOpen,
    closedByServer: ctx.stats.closedByServer,
    kicked: ctx.stats.kicked,
  };
  const headline: Record<string, number | string> = {
    ...(protocol !== 'teamtalk' ? { protocol: protocol === 'mixed' ? 'mixed: every other one WebSocket' : protocolLabel(protocol) } : {}),
    'connections logged in': loggedIn,
    'login rate (logins/s)': round1(rampSeconds > 0 ? loggedIn / rampSeconds : 0),
    'login latency p50 / p99 (ms), all steps': `${latency.summary().p50} / ${latency.summary().p99}`,
    'of which the login request p50 / p99 (ms)': `${loginLatency.summary().p50} / ${loginLatency.summary().p99}`,
  };
  if (tokenLatency.count > 0) headline['of which the token (POST /auth/token) p50 / p99 (ms)'] = `${tokenLatency.summary().p50} / ${tokenLatency.summary().p99}`;
  const details: Record<string, unknown> = { protocol, rampSeconds: round1(rampSeconds), holdSeconds: o.holdS, failureSamples: failures, sourceAddresses: ctx.sourceIps };
  if (before && last && loggedIn > 0) {
    const rss = median(holdSamples.map((s) => s.rssBytes)) || last.rssBytes;
    const heap = median(holdSamples.map((s) => s.heapUsedBytes)) || last.heapUsedBytes;
    const perConnRss = (rss - before.rssBytes) / loggedIn;
    // The young generation grows once per process, and V8 may or may not have shrunk it before the ramp: the same
    // figure without it is the one that compares between runs.
    const young = median(holdSamples.map((s) => s.youngGenerationBytes)) || last.youngGenerationBytes;
    const perConnRssOld = (rss - young - (before.rssBytes - before.youngGenerationBytes)) / loggedIn;
    const perConnHeap = (heap - before.heapUsedBytes) / loggedIn;
    const idleCpu = holdStart && holdSamples.length > 0 ? (last.cpuSeconds - holdStart.cpuSeconds) / ((last.t - holdStart.t) / 1000) : NaN;
    Object.assign(details, {
      server: {
        rssBeforeBytes: before.rssBytes,
        rssHeldBytes: rss,
        heapUsedBeforeBytes: before.heapUsedBytes,
        heapUsedHeldBytes: heap,
        rssPerConnectionBytes: Math.round(perConnRss),
        youngGenerationBeforeBytes: before.youngGenerationBytes,
        youngGenerationHeldBytes: young,
        rssPerConnectionWithoutYoungGenerationBytes: Math.round(perConnRssOld),
        heapPerConnectionBytes: Math.round(perConnHeap),
        idleCpuPercentOfOneCore: Number.isFinite(idleCpu) ? round1(idleCpu * 100) : null,
        loggedInGauge: last.loggedIn,
      },
    });
    headline['msg_server RSS per connection (KiB)'] = round1(perConnRss / 1024);
    headline['msg_server RSS per connection, young generation left out (KiB)'] = round1(perConnRssOld / 1024);
    headline['msg_server heap per connection (KiB)'] = round1(perConnHeap / 1024);
    headline['msg_server RSS held (MiB)'] = round1(rss / 1048576);
    if (Number.isFinite(idleCpu)) headline['msg_server CPU while idle (% of a core)'] = round1(idleCpu * 100);
    counts.serverLoggedInGauge = last.loggedIn;
  } else if (!sampler.enabled) {
    ctx.warn('no --admin-url: msg_server memory and CPU not measured');
  }

  const checkFailures: string[] = [];
  if (loggedIn !== o.count) checkFailures.push(`${o.count - loggedIn} connections did not log in`);
  if (stillOpen !== loggedIn) checkFailures.push(`${loggedIn - stillOpen} connections closed during the hold`);
  if (ctx.stats.kicked > 0) checkFailures.push(`${ctx.stats.kicked} kick notifications`);
  if (ctx.stats.decodeErrors > 0) checkFailures.push(`${ctx.stats.decodeErrors} PDUs did not decode`);
  if (counts.serverLoggedInGauge !== undefined && counts.serverLoggedInGauge < loggedIn) checkFailures.push(`msg_server reports ${counts.serverLoggedInGauge} logged-in connections, expected at least ${loggedIn}`);

  for (const c of conns) c.close();
  const summary = latency.summary();
  const rates = series.rates();
  return {
    headline,
    counts,
    latency: { total: summary, askLoginServer: askLatency.summary(), connect: connectLatency.summary(), loginRequest: loginLatency.summary(), ...(tokenLatency.count > 0 ? { token: tokenLatency.summary() } : {}) },
    checks: { passed: checkFailures.length === 0, failures: checkFailures },
    timeline: { title: 'LOGINS PER SECOND', unit: 'PER S', ...rates },
    distribution: {
      title: 'LOGIN LATENCY (ASK LOGIN_SERVER, CONNECT, LOG IN)',
      bins: latency.bins(60),
      markers: [
        { label: 'P50', ms: summary.p50 },
        { label: 'P95', ms: summary.p95 },
        { label: 'P99', ms: summary.p99 },
      ],
    },
    details,
  };
}
