// single-chat: P sender/receiver pairs, each sender sending numbered
// messages to its receiver at a target rate or as fast as its window allows.
// Every message is checked for arrival (exactly once), order (our sequence
// and msg_id increasing per conversation), integrity and routing; latency is
// measured from send to ack and from send to delivery.
//
// --protocol ws: every client on the WebSocket front; mixed: TeamTalk senders,
// WebSocket receivers (the server converts between the fronts).
import { IM } from '@tt/proto';
import { protocolLabel, sleep, waitFor, type RunContext, type ScenarioResult } from '../context';
import type { ServerSampler } from '../metrics';
import { LatencyHistogram, round1, TimeSeries } from '../stats';
import { checkDelivery, newStream, newTotals, Receipt, StreamSender } from '../traffic';

export async function runSingleChat(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.singleChat;
  ctx.checkRateLimit(o.rate / o.pairs);
  ctx.checkContentKey();
  const users = await ctx.users('s', o.pairs * 2);
  const protocol = ctx.opts.common.protocol;
  const senders = await ctx.loginAllAs(users.slice(0, o.pairs), 'senders', (i) => ctx.protocolFor('sender', i));
  const receivers = await ctx.loginAllAs(users.slice(o.pairs), 'receivers', (i) => ctx.protocolFor('receiver', i));
  await sleep(300); // let login-time notifications settle
  const before = await sampler.sample();

  const ackLatency = new LatencyHistogram();
  const deliveryLatency = new LatencyHistogram();
  const totals = newTotals();
  const receipts = Array.from({ length: o.pairs }, () => new Receipt());
  let lastDeliveryAt = 0;

  const t0 = ctx.startClock();
  // Deliveries of messages sent after the warm-up, for a steady-state latency beside the full one.
  const warmEnd = t0 + o.warmupS * 1000;
  const steadyLatency = o.warmupS > 0 ? new LatencyHistogram() : undefined;
  const series = new TimeSeries(['sent', 'acked', 'delivered'], t0, 10);
  const streams = senders.map((c, i) => newStream(i, c, users[o.pairs + i].id, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, o.messages));
  receivers.forEach((conn, i) => {
    const senderId = users[i].id;
    const receiverId = users[o.pairs + i].id;
    conn.onDeliver = (msg, at) => {
      const p = checkDelivery(msg.msgData, ctx.runTag, totals);
      if (!p) return;
      if (p.stream !== i || msg.fromUserId !== senderId || msg.toSessionId !== receiverId) {
        totals.misrouted += 1;
        return;
      }
      if (!receipts[i].record(p.seq, msg.msgId)) return;
      deliveryLatency.record(at - p.sentAt);
      if (steadyLatency && p.sentAt >= warmEnd) steadyLatency.record(at - p.sentAt);
      series.add('delivered', at);
      lastDeliveryAt = at;
    };
  });
  const sender = new StreamSender(streams, { runTag: ctx.runTag, rate: o.rate, window: o.window, size: o.size, textPayload: protocol !== 'teamtalk', ackTimeoutMs: 10_000, series, ackLatency, deadline: ctx.deadline });
  ctx.log(`sending${protocol === 'teamtalk' ? '' : ` (${protocol})`}: ${o.pairs} pairs × ${o.messages} messages, ${o.rate > 0 ? `${o.rate} msgs/s in all` : 'max rate'}, window ${o.window}, ${o.size} bytes`);
  const progress = setInterval(() => ctx.log(`  sent ${sender.sent}, acked ${sender.acked}, delivered ${receipts.reduce((n, r) => n + r.delivered, 0)}`), 5000);
  await sender.run();
  const sendEnd = performance.now();
  const delivered = () => receipts.reduce((n, r) => n + r.delivered, 0);
  await sender.drain(o.drainS * 1000);
  await waitFor(() => delivered() >= sender.sent, Math.max(0, o.drainS * 1000 - (performance.now() - sendEnd)));
  clearInterval(progress);
  const after = await sampler.sample();

  // Per message: the msg_id delivered must be the one acked.
  let ackDeliveryMismatch = 0;
  let lost = 0;
  for (const [i, s] of streams.entries()) {
    const r = receipts[i];
    for (let seq = 0; seq < s.sent; seq++) {
      if (!r.seen.has(seq)) {
        lost += 1;
        continue;
      }
      const acked = s.ackMsgIds.get(seq);
      if (acked !== 0 && acked !== r.msgIds.get(seq)) ackDeliveryMismatch += 1;
    }
  }
  const sum = (f: (i: number) => number) => streams.reduce((n, _, i) => n + f(i), 0);
  const sent = sender.sent;
  const acked = sender.acked;
  const deliveredCount = delivered();
  const firstSend = Math.min(...streams.map((s) => s.firstSendAt).filter((t) => t > 0), Infinity);
  const lastAck = Math.max(0, ...streams.map((s) => s.lastAckAt));
  const ackWindow = (lastAck - firstSend) / 1000;
  const deliveryWindow = (lastDeliveryAt - firstSend) / 1000;
  const counts: Record<string, number> = {
    sent,
    acked,
    delivered: deliveredCount,
    lost,
    unacked: sum((i) => streams[i].ackTimeouts),
    duplicates: sum((i) => receipts[i].duplicates),
    outOfOrder: sum((i) => receipts[i].outOfOrder),
    msgIdOrderErrors: sum((i) => receipts[i].msgIdOrderErrors),
    ackOrderErrors: sum((i) => streams[i].ackOrderErrors),
    ackDeliveryMismatch,
    unexpectedAcks: sum((i) => streams[i].unexpectedAcks),
    rejected: sum((i) => streams[i].rejected),
    misrouted: totals.misrouted,
    corrupt: totals.corrupt,
    foreign: totals.foreign,
    decodeErrors: ctx.stats.decodeErrors,
    closedByServer: ctx.stats.closedByServer,
    ...wsCounts(ctx, true),
  };
  if (before && after) {
    counts.serverStored = after.messagesStored - before.messagesStored;
    counts.serverRejected = after.messagesRejected - before.messagesRejected;
    counts.serverRejectedByRate = after.rejectedByRate - before.rejectedByRate;
    if (counts.serverRejectedByRate > 0) ctx.warn(`msg_server dropped ${counts.serverRejectedByRate} messages over its per-user rate limit (MSG_SERVER_MSG_RATE_LIMIT): use more pairs, a lower --rate, or a deployment with a higher limit`);
  }
  const failures = checkCounts(counts, sent);
  // A figure that varies less between machines and runs than throughput does.
  const cpuPerMessage = before && after && counts.serverStored > 0 ? round1(((after.cpuSeconds - before.cpuSeconds) * 1e6) / counts.serverStored) : undefined;
  const ack = ackLatency.summary();
  const del = deliveryLatency.summary();
  const steady = steadyLatency?.summary();
  const rates = series.rates();
  return {
    headline: {
      ...(protocol !== 'teamtalk' ? { protocol: protocol === 'mixed' ? 'mixed: TeamTalk senders, WebSocket receivers' : protocolLabel(protocol) } : {}),
      pairs: o.pairs,
      'messages sent / acked / delivered': `${sent} / ${acked} / ${deliveredCount}`,
      'stored+acked per second': round1(ackWindow > 0 ? acked / ackWindow : 0),
      'delivered per second': round1(deliveryWindow > 0 ? deliveredCount / deliveryWindow : 0),
      'delivery latency p50 / p95 / p99 / max (ms)': `${del.p50} / ${del.p95} / ${del.p99} / ${del.max}`,
      ...(steady ? { [`delivery latency after ${o.warmupS} s warm-up p50 / p95 / p99 / max (ms)`]: `${steady.p50} / ${steady.p95} / ${steady.p99} / ${steady.max}` } : {}),
      'ack latency p50 / p99 (ms)': `${ack.p50} / ${ack.p99}`,
      'lost / out of order / duplicates': `${counts.lost} / ${counts.outOfOrder} / ${counts.duplicates}`,
      ...(cpuPerMessage !== undefined ? { 'msg_server CPU per message (µs)': cpuPerMessage } : {}),
    },
    counts,
    latency: steady ? { delivery: del, ack, deliveryAfterWarmup: steady } : { delivery: del, ack },
    checks: { passed: failures.length === 0, failures },
    timeline: { title: 'THROUGHPUT (MESSAGES PER SECOND)', unit: 'PER S', ...rates },
    distribution: {
      title: 'LATENCY FROM SEND TO DELIVERY',
      bins: deliveryLatency.bins(60),
      markers: [
        { label: 'P50', ms: del.p50 },
        { label: 'P95', ms: del.p95 },
        { label: 'P99', ms: del.p99 },
      ],
    },
    details: { protocol, sendSeconds: round1((sendEnd - t0) / 1000), ackWindowSeconds: round1(ackWindow), deliveryWindowSeconds: round1(deliveryWindow), rate: o.rate, window: o.window, size: o.size, sourceAddresses: ctx.sourceIps },
  };
}

/** The checks every chat run must pass: everything sent was acked and delivered once, in order, intact. */
export function checkCounts(c: Record<string, number>, sent: number, expectedDeliveries = sent): string[] {
  const f: string[] = [];
  if (sent === 0) f.push('nothing was sent');
  if (c.acked !== sent) f.push(`${sent - c.acked} of ${sent} messages not acknowledged`);
  if (c.delivered !== expectedDeliveries) f.push(`${c.delivered} of ${expectedDeliveries} deliveries arrived`);
  for (const k of ['lost', 'duplicates', 'outOfOrder', 'msgIdOrderErrors', 'ackOrderErrors', 'ackDeliveryMismatch', 'unexpectedAcks', 'rejected', 'misrouted', 'corrupt', 'decodeErrors', 'closedByServer', 'wsIdErrors', 'wsUnknownNames', 'wsMissingSeq', 'wsSeqOrderErrors']) {
    if ((c[k] ?? 0) > 0) f.push(`${k}: ${c[k]}`);
  }
  return f;
}

/**
 * The WebSocket front's own checks, when the run has WebSocket clients: ids
 * well formed and consistent, users named by their account names, a seq on
 * every push, and (single chat: one
 * sender per receiver) each receiver's seq increasing.
 */
export function wsCounts(ctx: RunContext, seqOrderIsACheck: boolean): Record<string, number> {
  if (ctx.opts.common.protocol === 'teamtalk') return {};
  const s = ctx.stats;
  return {
    wsErrorResponses: s.wsErrorResponses,
    wsIdErrors: s.wsIdErrors,
    wsUnknownNames: s.wsUnknownNames,
    wsMissingSeq: s.wsMissingSeq,
    [seqOrderIsACheck ? 'wsSeqOrderErrors' : 'wsSeqRegressions']: s.wsSeqRegressions,
  };
}
