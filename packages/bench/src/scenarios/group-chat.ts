// group-chat: one group of G members, a share of them online, K of those
// sending numbered group messages. Every online member but the sender must
// get each message once and in order; measured: deliveries per second, the
// latency of each delivery and of a whole fan-out (send to last member).
//
// The group is created over the wire like a client does (IMGroupCreateReq
// from the first member's connection; tmp groups are what clients may
// create, --group-type normal asks for a normal one).
//
// --protocol ws: every member on the WebSocket front (which has no group
// creation: the first member creates the group over TeamTalk, then logs
// out, before anyone logs in); mixed: members alternate, even ones TeamTalk.
import { IM } from '@tt/proto';
import type { BenchConnection } from '../conn';
import { protocolLabel, sleep, waitFor, type RunContext, type ScenarioResult } from '../context';
import type { ServerSampler } from '../metrics';
import { LatencyHistogram, round1, TimeSeries } from '../stats';
import { checkDelivery, newStream, newTotals, Receipt, StreamSender } from '../traffic';
import { checkCounts, wsCounts } from './single-chat';

const { GroupCmdID, MsgType } = IM.BaseDefine;

export async function runGroupChat(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.groupChat;
  const online = Math.max(1, Math.ceil(o.members * o.online));
  const senderCount = Math.min(o.senders, online);
  if (senderCount < o.senders) ctx.warn(`only ${online} members online: ${senderCount} senders instead of ${o.senders}`);
  if (online < 2) ctx.warn('fewer than two members online: nobody to deliver to');
  ctx.checkRateLimit(o.rate / senderCount);
  ctx.checkContentKey();
  const users = await ctx.users('g', o.members);
  const protocol = ctx.opts.common.protocol;
  const protocolOf = (i: number) => ctx.protocolFor('member', i);
  // The first member creates the group with everyone in it: over its own connection, or (a
  // WebSocket, tcp12, MSync or OMTP member) over a TeamTalk one of its own, closed before the members log in.
  const tempCreator = protocolOf(0) !== 'teamtalk' ? await ctx.login(users[0], { heartbeat: false }) : undefined;
  let conns: Awaited<ReturnType<RunContext['loginAllAs']>> = [];
  if (!tempCreator) conns = await ctx.loginAllAs(users.slice(0, online), 'group members', protocolOf);
  const creator = tempCreator ?? (conns[0] as BenchConnection);
  let created: IM.Group.IMGroupCreateRsp;
  try {
    created = await creator.request(
      GroupCmdID.CID_GROUP_CREATE_REQUEST,
      IM.Group.IMGroupCreateReq,
      { userId: creator.userId, groupType: o.groupType, groupName: `bench ${ctx.runId}`, groupAvatar: '', memberIdList: users.map((u) => u.id) },
      IM.Group.IMGroupCreateRsp,
      15_000,
    );
  } catch (err) {
    tempCreator?.close();
    for (const c of conns) c.close();
    throw new Error(`group-chat: creating the group failed (${(err as Error).message}); does this server serve groups (IMGroupCreateReq 0x0405)?`);
  }
  if (created.resultCode !== 0 || !created.groupId) {
    tempCreator?.close();
    for (const c of conns) c.close();
    throw new Error(`group-chat: the server refused to create a ${o.groupTypeName} group of ${o.members} members (result ${created.resultCode})`);
  }
  const groupId = created.groupId;
  ctx.log(`group ${groupId} created with ${created.userIdList.length} members; ${online} online, ${senderCount} sending`);
  if (tempCreator) {
    tempCreator.close();
    await sleep(200); // its logout, before the member logs in again over the WebSocket front
    conns = await ctx.loginAllAs(users.slice(0, online), 'group members', protocolOf);
  }
  await sleep(300);
  const before = await sampler.sample();

  const ackLatency = new LatencyHistogram();
  const deliveryLatency = new LatencyHistogram();
  const fanoutLatency = new LatencyHistogram();
  const totals = newTotals();
  const receivers = online - 1;
  // receipts[receiver][sender stream]
  const receipts = conns.map(() => Array.from({ length: senderCount }, () => new Receipt()));
  // Per sent message: deliveries still expected and its send time, for the fan-out latency.
  const remaining: Int32Array[] = Array.from({ length: senderCount }, () => new Int32Array(o.messages));
  const sentAt: Float64Array[] = Array.from({ length: senderCount }, () => new Float64Array(o.messages));
  const senderIds = users.slice(0, senderCount).map((u) => u.id);
  let deliveries = 0;
  let lastDeliveryAt = 0;
  let fanoutsComplete = 0;

  const t0 = ctx.startClock();
  const series = new TimeSeries(['sent', 'acked', 'delivered'], t0, 10);
  conns.forEach((conn, r) => {
    conn.onDeliver = (msg, at) => {
      const p = checkDelivery(msg.msgData, ctx.runTag, totals);
      if (!p) return;
      if (msg.fromUserId === conn.userId) {
        totals.echoes += 1; // our own message back (another device's copy): not a delivery
        return;
      }
      if (p.stream >= senderCount || msg.fromUserId !== senderIds[p.stream] || msg.toSessionId !== groupId || msg.msgType !== MsgType.MSG_TYPE_GROUP_TEXT) {
        totals.misrouted += 1;
        return;
      }
      if (!receipts[r][p.stream].record(p.seq, msg.msgId)) return;
      deliveries += 1;
      lastDeliveryAt = at;
      deliveryLatency.record(at - p.sentAt);
      series.add('delivered', at);
      if (p.seq < o.messages && --remaining[p.stream][p.seq] === 0) {
        fanoutLatency.record(at - sentAt[p.stream][p.seq]);
        fanoutsComplete += 1;
      }
    };
  });
  const streams = conns.slice(0, senderCount).map((c, i) => newStream(i, c, groupId, MsgType.MSG_TYPE_GROUP_TEXT, o.messages));
  const sender = new StreamSender(streams, { runTag: ctx.runTag, rate: o.rate, window: o.window, size: o.size, textPayload: protocol !== 'teamtalk', ackTimeoutMs: 10_000, series, ackLatency, deadline: ctx.deadline });
  sender.onSent = (s, seq, at) => {
    remaining[s.index][seq] = receivers;
    sentAt[s.index][seq] = at;
  };
  ctx.log(`sending${protocol === 'teamtalk' ? '' : ` (${protocol})`}: ${senderCount} senders × ${o.messages} messages to ${receivers} online receivers, ${o.rate > 0 ? `${o.rate} msgs/s in all` : 'max rate'}`);
  const progress = setInterval(() => ctx.log(`  sent ${sender.sent}, acked ${sender.acked}, delivered ${deliveries}`), 5000);
  await sender.run();
  const sendEnd = performance.now();
  await sender.drain(o.drainS * 1000);
  await waitFor(() => deliveries >= sender.sent * receivers, Math.max(0, o.drainS * 1000 - (performance.now() - sendEnd)));
  clearInterval(progress);
  const after = await sampler.sample();

  let lost = 0;
  let ackDeliveryMismatch = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let msgIdOrderErrors = 0;
  for (const [r, perSender] of receipts.entries()) {
    for (const [s, rec] of perSender.entries()) {
      duplicates += rec.duplicates;
      outOfOrder += rec.outOfOrder;
      msgIdOrderErrors += rec.msgIdOrderErrors;
      if (r === s) continue; // a sender does not receive its own messages
      for (let seq = 0; seq < streams[s].sent; seq++) {
        if (!rec.seen.has(seq)) lost += 1;
        else {
          const acked = streams[s].ackMsgIds.get(seq);
          if (acked !== 0 && acked !== rec.msgIds.get(seq)) ackDeliveryMismatch += 1;
        }
      }
    }
  }
  const sent = sender.sent;
  const expected = sent * receivers;
  const counts: Record<string, number> = {
    membersOnline: online,
    senders: senderCount,
    sent,
    acked: sender.acked,
    delivered: deliveries,
    expectedDeliveries: expected,
    lost,
    fanoutsComplete,
    unacked: streams.reduce((n, s) => n + s.ackTimeouts, 0),
    duplicates,
    outOfOrder,
    msgIdOrderErrors,
    ackOrderErrors: streams.reduce((n, s) => n + s.ackOrderErrors, 0),
    ackDeliveryMismatch,
    unexpectedAcks: streams.reduce((n, s) => n + s.unexpectedAcks, 0),
    rejected: streams.reduce((n, s) => n + s.rejected, 0),
    misrouted: totals.misrouted,
    echoes: totals.echoes,
    corrupt: totals.corrupt,
    foreign: totals.foreign,
    decodeErrors: ctx.stats.decodeErrors,
    closedByServer: ctx.stats.closedByServer,
    ...wsCounts(ctx, false),
  };
  if (before && after) {
    counts.serverStored = after.messagesStored - before.messagesStored;
    counts.serverRejected = after.messagesRejected - before.messagesRejected;
  }
  // With several senders, msg_ids of different senders may reach a member in another order than assigned.
  const failures = checkCounts(senderCount > 1 ? { ...counts, msgIdOrderErrors: 0 } : counts, sent, expected);
  const firstSend = Math.min(...streams.map((s) => s.firstSendAt).filter((t) => t > 0), Infinity);
  const window = (lastDeliveryAt - firstSend) / 1000;
  const cpuPerDelivery = before && after && deliveries > 0 ? round1(((after.cpuSeconds - before.cpuSeconds) * 1e6) / deliveries) : undefined;
  const del = deliveryLatency.summary();
  const fan = fanoutLatency.summary();
  const ack = ackLatency.summary();
  return {
    headline: {
      ...(protocol !== 'teamtalk' ? { protocol: protocol === 'mixed' ? 'mixed: members alternate TeamTalk / WebSocket' : protocolLabel(protocol) } : {}),
      'members / online / senders': `${o.members} / ${online} / ${senderCount}`,
      'messages sent / acked': `${sent} / ${sender.acked}`,
      'deliveries / expected': `${deliveries} / ${expected}`,
      'deliveries per second': round1(window > 0 ? deliveries / window : 0),
      'delivery latency p50 / p95 / p99 / max (ms)': `${del.p50} / ${del.p95} / ${del.p99} / ${del.max}`,
      'fan-out latency (to the last member) p50 / p99 (ms)': `${fan.p50} / ${fan.p99}`,
      'lost / out of order / duplicates': `${lost} / ${outOfOrder} / ${duplicates}`,
      ...(cpuPerDelivery !== undefined ? { 'msg_server CPU per delivery (µs)': cpuPerDelivery } : {}),
    },
    counts,
    latency: { delivery: del, fanout: fan, ack },
    checks: { passed: failures.length === 0, failures },
    timeline: { title: 'THROUGHPUT (PER SECOND)', unit: 'PER S', ...series.rates() },
    distribution: {
      title: 'LATENCY FROM SEND TO EACH DELIVERY',
      bins: deliveryLatency.bins(60),
      markers: [
        { label: 'P50', ms: del.p50 },
        { label: 'P99', ms: del.p99 },
        { label: 'FAN-OUT P99', ms: fan.p99 },
      ],
    },
    details: { protocol, groupId, groupType: o.groupTypeName, sendSeconds: round1((sendEnd - t0) / 1000), deliveryWindowSeconds: round1(window), sourceAddresses: ctx.sourceIps },
  };
}
