// offline-sync: S senders leave M numbered messages (spread evenly) for a
// user who is offline; then that user logs in and pulls everything as a
// TeamTalk client does: IMUnreadMsgCntReq, then IMGetMsgListReq pages per
// session from the newest msg_id down, then IMMsgDataReadAck per session.
// Measured: login, unread list, pull (time and messages per second), page
// latency; checked: every message exactly once, msg_ids descending with our
// sequence, and no unread left afterwards.
import { IM } from '@tt/proto';
import type { BenchConnection } from '../conn';
import { pool, sleep, type RunContext, type ScenarioResult } from '../context';
import type { ServerSampler } from '../metrics';
import { BitSet, LatencyHistogram, round1, round3, TimeSeries } from '../stats';
import { checkDelivery, newStream, newTotals, StreamSender } from '../traffic';

const { MessageCmdID, MsgType, SessionType } = IM.BaseDefine;

export async function runOfflineSync(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.offlineSync;
  const S = o.sessions;
  const per = (j: number) => Math.floor(o.messages / S) + (j < o.messages % S ? 1 : 0);
  const seedRate = o.rate ?? (ctx.deployment.started ? 0 : 18 * S);
  ctx.checkRateLimit(seedRate / S);
  const users = await ctx.users('o', S + 1);
  const reader = users[0];
  const senderUsers = users.slice(1);

  // Seeding (not the measured part): every sender sends its share to the offline reader.
  const senders = await ctx.loginAll(senderUsers, 'senders');
  const seedAck = new LatencyHistogram();
  const seedStart = performance.now();
  const streams = senders.map((c, j) => newStream(j, c, reader.id, MsgType.MSG_TYPE_SINGLE_TEXT, per(j)));
  const seeder = new StreamSender(streams, { runTag: ctx.runTag, rate: seedRate, window: o.window, size: 64, ackTimeoutMs: 10_000, ackLatency: seedAck, deadline: seedStart + ctx.opts.common.durationS * 1000 });
  ctx.log(`seeding ${o.messages} messages from ${S} senders`);
  await seeder.run();
  await seeder.drain(10_000);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  for (const c of senders) c.close();
  const seeded = seeder.acked;
  if (seeded !== o.messages) ctx.warn(`only ${seeded} of ${o.messages} messages were stored while seeding`);
  ctx.log(`seeded ${seeded} messages in ${seedSeconds.toFixed(1)} s`);
  await sleep(300);

  // The measured part.
  const pageLatency = new LatencyHistogram();
  const totals = newTotals();
  const t0 = ctx.startClock();
  const series = new TimeSeries(['pulled'], t0, 10);
  const conn: BenchConnection = await ctx.login(reader);
  const tLogin = performance.now();
  const unread = await conn.request(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: conn.userId }, IM.Message.IMUnreadMsgCntRsp);
  const tUnread = performance.now();

  const senderIndex = new Map(senderUsers.map((u, j) => [u.id, j]));
  const pulled = new Array<number>(S).fill(0);
  const seen = Array.from({ length: S }, () => new BitSet());
  let duplicates = 0;
  let orderErrors = 0;
  let misrouted = 0;
  let pages = 0;
  let unknownSessions = 0;
  const unreadBySession = new Array<number>(S).fill(-1);
  await pool(unread.unreadinfoList.length, o.parallel, async (k) => {
    const info = unread.unreadinfoList[k];
    const j = senderIndex.get(info.sessionId);
    if (j === undefined || info.sessionType !== SessionType.SESSION_TYPE_SINGLE) {
      unknownSessions += 1;
      return;
    }
    unreadBySession[j] = info.unreadCnt;
    let begin = info.latestMsgId;
    let prevMsgId = Infinity;
    let prevSeq = Infinity;
    while (pulled[j] < info.unreadCnt && begin > 0 && !ctx.pastDeadline) {
      const start = performance.now();
      const page = await conn.request(
        MessageCmdID.CID_MSG_LIST_REQUEST,
        IM.Message.IMGetMsgListReq,
        { userId: conn.userId, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: info.sessionId, msgIdBegin: begin, msgCnt: Math.min(o.page, info.unreadCnt - pulled[j]) },
        IM.Message.IMGetMsgListRsp,
      );
      const at = performance.now();
      pageLatency.record(at - start);
      pages += 1;
      if (page.msgList.length === 0) break;
      for (const m of page.msgList) {
        const p = checkDelivery(m.msgData, ctx.runTag, totals);
        if (!p) continue;
        if (p.stream !== j || m.fromSessionId !== info.sessionId) {
          misrouted += 1;
          continue;
        }
        if (seen[j].testAndSet(p.seq)) {
          duplicates += 1;
          continue;
        }
        // Newest first: msg_ids and our sequence numbers both strictly descending.
        if (m.msgId >= prevMsgId || p.seq >= prevSeq) orderErrors += 1;
        prevMsgId = m.msgId;
        prevSeq = p.seq;
        pulled[j] += 1;
        series.add('pulled', at);
      }
      begin = Math.min(...page.msgList.map((m) => m.msgId)) - 1;
    }
    conn.send(MessageCmdID.CID_MSG_READ_ACK, IM.Message.IMMsgDataReadAck, { userId: conn.userId, sessionId: info.sessionId, msgId: info.latestMsgId, sessionType: SessionType.SESSION_TYPE_SINGLE }, 0);
  });
  const tPulled = performance.now();
  // Requests on a connection are handled in order: this sees the read acks above.
  const after = await conn.request(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: conn.userId }, IM.Message.IMUnreadMsgCntRsp);
  conn.close();
  await sampler.sample();

  let missing = 0;
  for (let j = 0; j < S; j++) for (let seq = 0; seq < streams[j].acked; seq++) if (!seen[j].has(seq)) missing += 1;
  const totalPulled = pulled.reduce((a, b) => a + b, 0);
  const pullSeconds = (tPulled - tUnread) / 1000;
  const syncSeconds = (tPulled - t0) / 1000;
  const counts: Record<string, number> = {
    seeded,
    unreadReported: unread.totalCnt,
    sessionsReported: unread.unreadinfoList.length,
    pulled: totalPulled,
    missing,
    duplicates,
    orderErrors,
    misrouted,
    corrupt: totals.corrupt,
    foreign: totals.foreign,
    unknownSessions,
    pages,
    unreadAfterReadAck: after.totalCnt,
    decodeErrors: ctx.stats.decodeErrors,
    closedByServer: ctx.stats.closedByServer,
  };
  const failures: string[] = [];
  if (seeded !== o.messages) failures.push(`${o.messages - seeded} messages not stored while seeding`);
  if (unread.totalCnt !== seeded) failures.push(`unread count ${unread.totalCnt}, expected ${seeded}`);
  if (unread.unreadinfoList.length !== S) failures.push(`${unread.unreadinfoList.length} unread sessions, expected ${S}`);
  for (let j = 0; j < S; j++) if (unreadBySession[j] !== streams[j].acked) failures.push(`session ${senderUsers[j].id}: unread ${unreadBySession[j]}, expected ${streams[j].acked}`);
  if (totalPulled !== seeded) failures.push(`pulled ${totalPulled} of ${seeded} messages`);
  for (const k of ['missing', 'duplicates', 'orderErrors', 'misrouted', 'corrupt', 'unknownSessions', 'unreadAfterReadAck', 'decodeErrors', 'closedByServer']) if (counts[k] > 0) failures.push(`${k}: ${counts[k]}`);
  if (failures.length > 12) failures.splice(12, failures.length - 12, `… and more`);
  const pl = pageLatency.summary();
  return {
    headline: {
      'messages / sessions': `${o.messages} / ${S}`,
      'sync time, login to last message (ms)': round1(syncSeconds * 1000),
      'login / unread list / pull (ms)': `${round1(tLogin - t0)} / ${round1(tUnread - tLogin)} / ${round1(pullSeconds * 1000)}`,
      'messages pulled per second': round1(pullSeconds > 0 ? totalPulled / pullSeconds : 0),
      'page latency p50 / p99 (ms)': `${pl.p50} / ${pl.p99}`,
      'seeding (stored+acked per second)': round1(seedSeconds > 0 ? seeded / seedSeconds : 0),
    },
    counts,
    latency: { page: pl, seedAck: seedAck.summary() },
    checks: { passed: failures.length === 0, failures },
    timeline: { title: 'MESSAGES PULLED PER SECOND', unit: 'PER S', ...series.rates() },
    distribution: {
      title: `LATENCY OF ONE IMGETMSGLISTREQ PAGE (${o.page} MESSAGES)`,
      bins: pageLatency.bins(60),
      markers: [
        { label: 'P50', ms: pl.p50 },
        { label: 'P95', ms: pl.p95 },
        { label: 'P99', ms: pl.p99 },
      ],
    },
    details: {
      loginMs: round3(tLogin - t0),
      unreadListMs: round3(tUnread - tLogin),
      pullMs: round3(pullSeconds * 1000),
      syncMs: round3(syncSeconds * 1000),
      seedSeconds: round1(seedSeconds),
      pageSize: o.page,
      parallel: o.parallel,
    },
  };
}
