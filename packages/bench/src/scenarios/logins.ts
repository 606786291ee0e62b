// logins: storms of logins of existing users, as after a server restart or a
// network outage. Every user is created and logged in once beforehand (the
// first storm: each password goes through the KDF once, so the success cache
// holds it), then --storms storms of --count logins each, --in-flight at a
// time. One login = ask login_server (GET /msg_server), connect, IMLoginReq,
// wait for IMLoginRes; PC clients (--client-type windows|mac) then send the
// first queries a TeamTalk PC client sends (user list since its cached time,
// recent sessions, groups, unread counts) and wait for every answer. Then the
// client logs out and closes. Reported per storm: wall time, logins/s, p50/p99
// of every step, and the CPU each server process spent per login (its
// process_cpu_seconds_total before and after). --seconds S then keeps
// --in-flight logins going for S seconds: the sustained repeat-login rate.
import { IM } from '@tt/proto';
import type { BenchConnection, ChatConnection } from '../conn';
import { pool, sleep, type RunContext, type ScenarioResult } from '../context';
import { metricSum, parsePrometheus, type ServerSampler } from '../metrics';
import { LatencyHistogram, round1, TimeSeries, type LatencySummary } from '../stats';
import type { BenchUser } from '../users';

const { LoginCmdID, BuddyListCmdID, GroupCmdID, MessageCmdID, ClientType } = IM.BaseDefine;

/** CPU seconds of each process of the deployment, by role (from each one's /metrics). */
type CpuByRole = Record<string, number>;

async function cpuByRole(ctx: RunContext): Promise<CpuByRole> {
  const out: CpuByRole = {};
  const targets = ctx.deployment.processes.length > 0 ? ctx.deployment.processes.map((p) => ({ role: p.role, url: p.adminUrl })) : ctx.deployment.adminUrls.map((url, i) => ({ role: `msg_server-${i + 1}`, url }));
  await Promise.all(
    targets.map(async ({ role, url }) => {
      try {
        const res = await fetch(`${url.replace(/\/+$/, '')}/metrics`, { signal: AbortSignal.timeout(5000) });
        out[role] = metricSum(parsePrometheus(await res.text()), 'process_cpu_seconds_total');
      } catch {
        /* a role without /metrics is left out */
      }
    }),
  );
  const own = process.cpuUsage();
  out['bench (client)'] = (own.user + own.system) / 1e6;
  return out;
}

/** µs of CPU per login of each role between two readings. */
function cpuPerLogin(before: CpuByRole, after: CpuByRole, logins: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (logins <= 0) return out;
  let servers = 0;
  for (const role of Object.keys(after)) {
    if (before[role] === undefined) continue;
    const us = ((after[role] - before[role]) * 1e6) / logins;
    out[role] = Math.round(us);
    if (role !== 'bench (client)') servers += us;
  }
  out['all server processes'] = Math.round(servers);
  return out;
}

interface StepHistograms {
  total: LatencyHistogram;
  ask: LatencyHistogram;
  connect: LatencyHistogram;
  login: LatencyHistogram;
  firstQueries: LatencyHistogram;
}

const histograms = (): StepHistograms => ({ total: new LatencyHistogram(), ask: new LatencyHistogram(), connect: new LatencyHistogram(), login: new LatencyHistogram(), firstQueries: new LatencyHistogram() });

export interface StormResult {
  name: string;
  logins: number;
  failed: number;
  wallMs: number;
  loginsPerSecond: number;
  latency: Record<string, LatencySummary>;
  /** µs of CPU per login, by process. */
  cpuPerLoginUs: Record<string, number>;
  kicked: number;
}

const isPc = (clientType: number) => clientType === ClientType.CLIENT_TYPE_WINDOWS || clientType === ClientType.CLIENT_TYPE_MAC;

/**
 * What a TeamTalk PC client asks right after IMLoginRes, all at once: the
 * organisation's users changed since its cached time, recent sessions, its
 * groups, unread counts. Returns the user list's latest_update_time (the
 * client caches it for the next login).
 */
async function firstQueries(conn: BenchConnection, since: number): Promise<number> {
  const userId = conn.userId;
  const [users] = await Promise.all([
    conn.request(BuddyListCmdID.CID_BUDDY_LIST_ALL_USER_REQUEST, IM.Buddy.IMAllUserReq, { userId, latestUpdateTime: since }, IM.Buddy.IMAllUserRsp),
    conn.request(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId, latestUpdateTime: 0 }, IM.Buddy.IMRecentContactSessionRsp),
    conn.request(GroupCmdID.CID_GROUP_NORMAL_LIST_REQUEST, IM.Group.IMNormalGroupListReq, { userId }, IM.Group.IMNormalGroupListRsp),
    conn.request(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId }, IM.Message.IMUnreadMsgCntRsp),
  ]);
  return users.latestUpdateTime;
}

/** A client logging out: IMLogoutReq, then the socket closed (the answer is not waited for). */
function logOut(conn: ChatConnection): void {
  if (conn.protocol === 'teamtalk') (conn as BenchConnection).send(LoginCmdID.CID_LOGIN_REQ_LOGINOUT, IM.Login.IMLogoutReq, {}, 0);
  conn.close();
}

export async function runLogins(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.logins;
  const c = ctx.opts.common;
  const users = await ctx.users('l', o.count);
  const protocol = c.protocol;
  const withQueries = o.firstQueries && protocol === 'teamtalk' && isPc(c.clientType);
  /** Each user's cached latest_update_time of the user list (PC clients). */
  const userListTime = new Map<number, number>();
  const failures: string[] = [];
  const t0 = ctx.startClock();
  const series = new TimeSeries(['logins'], t0, 10);

  /** One client's whole login; false when it failed. */
  const loginOnce = async (user: BenchUser, i: number, h: StepHistograms): Promise<boolean> => {
    const start = performance.now();
    try {
      const r = await ctx.loginTimedAs(user, ctx.protocolFor('member', i), { heartbeat: false });
      let queriesMs = 0;
      try {
        if (withQueries) {
          const q0 = performance.now();
          userListTime.set(user.id, await firstQueries(r.conn as BenchConnection, userListTime.get(user.id) ?? 0));
          queriesMs = performance.now() - q0;
        }
      } finally {
        logOut(r.conn);
      }
      const end = performance.now();
      h.ask.record(r.askMs);
      h.connect.record(r.connectMs);
      h.login.record(r.loginMs);
      if (withQueries) h.firstQueries.record(queriesMs);
      h.total.record(end - start);
      series.add('logins', end);
      return true;
    } catch (err) {
      if (failures.length < 5) failures.push((err as Error).message);
      return false;
    }
  };

  /** The server holds none of our sessions any more (so the next storm kicks nobody). */
  const settle = async () => {
    if (!sampler.enabled) return sleep(500);
    const end = performance.now() + 10_000;
    while (performance.now() < end) {
      const s = await sampler.sample();
      if (!s || s.loggedIn === 0) return;
      await sleep(100);
    }
    ctx.warn('msg_server still reports logged-in sessions 10 s after a storm');
  };

  /** Each storm's latency histogram (for the chart). */
  const totals = new Map<StormResult, LatencyHistogram>();
  const storm = async (name: string): Promise<StormResult> => {
    await settle();
    const h = histograms();
    const kickedBefore = ctx.stats.kicked;
    const cpu0 = await cpuByRole(ctx);
    let ok = 0;
    let failed = 0;
    const s0 = performance.now();
    await pool(
      users.length,
      o.inFlight,
      async (i) => {
        if (await loginOnce(users[i], i, h)) ok += 1;
        else failed += 1;
      },
      () => ctx.pastDeadline,
    );
    const wallMs = performance.now() - s0;
    const cpu1 = await cpuByRole(ctx);
    const result: StormResult = {
      name,
      logins: ok,
      failed,
      wallMs: Math.round(wallMs),
      loginsPerSecond: round1(wallMs > 0 ? (ok * 1000) / wallMs : 0),
      latency: { total: h.total.summary(), askLoginServer: h.ask.summary(), connect: h.connect.summary(), loginRequest: h.login.summary(), ...(withQueries ? { firstQueries: h.firstQueries.summary() } : {}) },
      cpuPerLoginUs: cpuPerLogin(cpu0, cpu1, ok),
      kicked: ctx.stats.kicked - kickedBefore,
    };
    totals.set(result, h.total);
    const l = result.latency;
    ctx.log(`${name}: ${ok} logins in ${(wallMs / 1000).toFixed(2)} s (${result.loginsPerSecond}/s), p50/p99 ms: ask ${l.askLoginServer.p50}/${l.askLoginServer.p99}, connect ${l.connect.p50}/${l.connect.p99}, login ${l.loginRequest.p50}/${l.loginRequest.p99}${withQueries ? `, first queries ${l.firstQueries.p50}/${l.firstQueries.p99}` : ''}; server CPU ${result.cpuPerLoginUs['all server processes']} µs/login`);
    return result;
  };

  ctx.log(`${o.count} ${c.clientTypeName} users, ${o.inFlight} logins in flight${withQueries ? ', with the PC first queries' : ''}`);
  const first = await storm('first storm (passwords checked)');
  const storms: StormResult[] = [];
  for (let k = 1; k <= o.storms && !ctx.pastDeadline; k++) storms.push(await storm(`storm ${k}`));

  let sustained: (StormResult & { seconds: number }) | undefined;
  if (o.seconds > 0 && !ctx.pastDeadline) {
    await settle();
    const h = histograms();
    const cpu0 = await cpuByRole(ctx);
    const kickedBefore = ctx.stats.kicked;
    let ok = 0;
    let failed = 0;
    let next = 0;
    const s0 = performance.now();
    const until = s0 + o.seconds * 1000;
    // Constant concurrency: each worker logs the next user in as soon as its last login is done (a user comes round again only after every other one).
    await Promise.all(
      Array.from({ length: Math.min(o.inFlight, users.length) }, async () => {
        while (performance.now() < until && !ctx.pastDeadline) {
          const i = next++ % users.length;
          if (await loginOnce(users[i], i, h)) ok += 1;
          else failed += 1;
        }
      }),
    );
    const wallMs = performance.now() - s0;
    const cpu1 = await cpuByRole(ctx);
    sustained = {
      name: 'sustained',
      seconds: round1(wallMs / 1000),
      logins: ok,
      failed,
      wallMs: Math.round(wallMs),
      loginsPerSecond: round1((ok * 1000) / wallMs),
      latency: { total: h.total.summary(), askLoginServer: h.ask.summary(), connect: h.connect.summary(), loginRequest: h.login.summary(), ...(withQueries ? { firstQueries: h.firstQueries.summary() } : {}) },
      cpuPerLoginUs: cpuPerLogin(cpu0, cpu1, ok),
      kicked: ctx.stats.kicked - kickedBefore,
    };
    ctx.log(`sustained: ${ok} logins in ${sustained.seconds} s = ${sustained.loginsPerSecond}/s, login p50/p99 ${sustained.latency.total.p50}/${sustained.latency.total.p99} ms; server CPU ${sustained.cpuPerLoginUs['all server processes']} µs/login`);
  }

  if (ctx.pastDeadline) ctx.warn(`--duration ${c.durationS} s reached: ${storms.length} of ${o.storms} storms run${o.seconds > 0 && !sustained ? ', no sustained phase' : ''}`);
  const repeat = storms.length > 0 ? storms : [first];
  const best = repeat.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const median = [...repeat].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(repeat.length / 2)];
  const headline: Record<string, number | string> = {
    client: `${c.clientTypeName}${withQueries ? ' (with the PC first queries)' : ''}, ${o.inFlight} in flight`,
    [`first storm: ${o.count} logins (s)`]: round1(first.wallMs / 100) / 10,
    [`repeat storms: ${o.count} logins, median / best (s)`]: `${median.wallMs / 1000} / ${best.wallMs / 1000}`,
    'repeat storm logins/s (median)': median.loginsPerSecond,
    'repeat storm p50 / p99 per login (ms)': `${median.latency.total.p50} / ${median.latency.total.p99}`,
    'of which ask / connect / login p50 (ms)': `${median.latency.askLoginServer.p50} / ${median.latency.connect.p50} / ${median.latency.loginRequest.p50}`,
    'server CPU per repeat login (µs)': median.cpuPerLoginUs['all server processes'] ?? 'n/a',
  };
  if (withQueries) headline['of which first queries p50 / p99 (ms)'] = `${median.latency.firstQueries.p50} / ${median.latency.firstQueries.p99}`;
  if (sustained) headline[`sustained repeat logins/s (${sustained.seconds} s)`] = sustained.loginsPerSecond;

  const all = [first, ...storms, ...(sustained ? [sustained] : [])];
  const failedTotal = all.reduce((n, s) => n + s.failed, 0);
  const kickedTotal = all.reduce((n, s) => n + s.kicked, 0);
  const checkFailures: string[] = [];
  for (const s of [first, ...storms]) if (s.logins !== o.count) checkFailures.push(`${s.name}: ${o.count - s.logins} of ${o.count} logins failed`);
  if (sustained && sustained.failed > 0) checkFailures.push(`sustained: ${sustained.failed} logins failed`);
  if (kickedTotal > 0) checkFailures.push(`${kickedTotal} kick notifications (a session outlived its storm)`);
  if (ctx.stats.decodeErrors > 0) checkFailures.push(`${ctx.stats.decodeErrors} PDUs did not decode`);
  const summary = median.latency.total;
  return {
    headline,
    counts: { users: o.count, storms: storms.length, loginsOk: all.reduce((n, s) => n + s.logins, 0), failed: failedTotal, kicked: kickedTotal, ...(sustained ? { sustainedLogins: sustained.logins } : {}) },
    latency: Object.fromEntries(Object.entries(median.latency).map(([k, v]) => [k, v])),
    checks: { passed: checkFailures.length === 0, failures: checkFailures },
    timeline: { title: 'LOGINS PER SECOND', unit: 'PER S', ...series.rates() },
    distribution: {
      title: 'LOGIN LATENCY, MEDIAN REPEAT STORM (ASK, CONNECT, LOG IN' + (withQueries ? ', FIRST QUERIES)' : ')'),
      bins: totals.get(median)?.bins(60) ?? [],
      markers: [
        { label: 'P50', ms: summary.p50 },
        { label: 'P95', ms: summary.p95 },
        { label: 'P99', ms: summary.p99 },
      ],
    },
    details: { protocol, clientType: c.clientTypeName, firstQueries: withQueries, inFlight: o.inFlight, firstStorm: first, storms, ...(sustained ? { sustained } : {}), failureSamples: failures },
  };
}
