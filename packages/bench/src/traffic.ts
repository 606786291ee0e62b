// Sending numbered messages and checking what arrives, shared by single-chat
// and group-chat (and offline-sync's seeding).
//
// A stream is one sender's numbered sequence to one session (a user or a
// group). Senders keep at most `window` messages unacknowledged; with a
// target rate they also pace themselves (open loop at rate/streams each),
// otherwise every ack lets the next message go. The server's ack carries the
// msg_id; each receiver checks every delivery: ours, not corrupt, from the
// right sender, not seen before, in sequence, msg_id increasing.
//
// Streams run over either protocol (ChatConnection): a WebSocket sender's
// answer carries message_id `<conversation_id>:<msg_id>`, whose msg_id is
// the number checked here, the same a TeamTalk client would see.
import type { ChatConnection } from './conn';
import { decodePayload, encodePayload, encodeTextPayload } from './payload';
import { BitSet, LatencyHistogram, TimeSeries, U32Column } from './stats';

export interface Stream {
  index: number;
  conn: ChatConnection;
  /** to_session_id: the peer user or the group. */
  to: number;
  msgType: number;
  /** Messages this stream sends at most. */
  limit: number;
  sent: number;
  acked: number;
  ackTimeouts: number;
  ackOrderErrors: number;
  unexpectedAcks: number;
  /** Refused by the server with an error code (WebSocket senders). */
  rejected: number;
  lastAckMsgId: number;
  /** seq_num of the request -> our sequence number and send time. */
  inflight: Map<number, { seq: number; sentAt: number }>;
  /** Our sequence number -> msg_id the server acknowledged. */
  ackMsgIds: U32Column;
  /** Our sequence number -> performance.now() of sending (for fan-out bookkeeping). */
  firstSendAt: number;
  lastAckAt: number;
}

export interface SenderOptions {
  runTag: number;
  /** Messages per second over all streams; 0 = as fast as the windows allow. */
  rate: number;
  window: number;
  size: number;
  /** Send the payload's text form (base64; runs with WebSocket clients, whose text content is UTF-8). */
  textPayload?: boolean;
  /** An ack not here after this long is given up (the window slot is freed). */
  ackTimeoutMs: number;
  series?: TimeSeries;
  ackLatency: LatencyHistogram;
  /** performance.now() after which nothing more is sent. */
  deadline: number;
}

export function newStream(index: number, conn: ChatConnection, to: number, msgType: number, limit: number): Stream {
  return {
    index,
    conn,
    to,
    msgType,
    limit,
    sent: 0,
    acked: 0,
    ackTimeouts: 0,
    ackOrderErrors: 0,
    unexpectedAcks: 0,
    rejected: 0,
    lastAckMsgId: 0,
    inflight: new Map(),
    ackMsgIds: new U32Column(),
    firstSendAt: 0,
    lastAckAt: 0,
  };
}

export class StreamSender {
  private ticker?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private startedAt = 0;
  private finished = false;
  private resolveDone?: () => void;
  /** Called with each message just sent (stream, seq, sentAt). */
  onSent?: (s: Stream, seq: number, at: number) => void;

  constructor(
    readonly streams: Stream[],
    private readonly o: SenderOptions,
  ) {
    for (const s of streams) {
      s.conn.onMsgAck = (seqNum, msgId, at) => this.onAck(s, seqNum, msgId, at);
      s.conn.onMsgReject = (seqNum, _code, at) => this.onReject(s, seqNum, at);
    }
  }

  get sent(): number {
    return this.streams.reduce((n, s) => n + s.sent, 0);
  }
  get acked(): number {
    return this.streams.reduce((n, s) => n + s.acked, 0);
  }
  get inflight(): number {
    return this.streams.reduce((n, s) => n + s.inflight.size, 0);
  }

  /** Sends until every stream reached its limit or the deadline passed. */
  run(): Promise<void> {
    this.startedAt = performance.now();
    const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.sweeper = setInterval(() => this.sweep(), 250);
    if (this.o.rate > 0) {
      this.ticker = setInterval(() => this.tick(), 5);
      this.tick();
    } else {
      for (const s of this.streams) this.fill(s);
      this.ticker = setInterval(() => this.checkDone(), 20);
    }
    return done;
  }

  /** Waits until every sent message is acked or given up, at most timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.inflight > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
    if (this.sweeper) clearInterval(this.sweeper);
    for (const s of this.streams) {
      s.ackTimeouts += s.inflight.size;
      s.inflight.clear();
    }
  }

  private canSend(s: Stream, now: number): boolean {
    return s.sent < s.limit && s.inflight.size < this.o.window && now < this.o.deadline && !s.conn.closed;
  }

  private sendOne(s: Stream, now: number): void {
    const seq = s.sent;
    const p = { runTag: this.o.runTag, stream: s.index, seq, sentAt: now };
    const payload = this.o.textPayload ? encodeTextPayload(p, this.o.size) : encodePayload(p, this.o.size);
    const seqNum = s.conn.sendMsg(s.to, s.msgType, payload);
    const stale = s.inflight.get(seqNum);
    if (stale) s.ackTimeouts += 1; // 65 535 messages later and still no ack
    s.inflight.set(seqNum, { seq, sentAt: now });
    if (s.sent === 0) s.firstSendAt = now;
    s.sent += 1;
    this.o.series?.add('sent', now);
    this.onSent?.(s, seq, now);
  }

  private fill(s: Stream): void {
    const now = performance.now();
    while (this.canSend(s, now)) this.sendOne(s, now);
  }

  private tick(): void {
    const now = performance.now();
    const n = this.streams.length;
    const perStream = this.o.rate / n;
    const elapsed = (now - this.startedAt) / 1000;
    for (const [i, s] of this.streams.entries()) {
      // Stream i's k-th message is due at (k + i/n) / perStream: the streams are out of phase, so
      // together they send evenly spaced messages instead of a burst of n at every step.
      const x = elapsed * perStream - i / n;
      const due = x < 0 ? 0 : Math.min(s.limit, Math.floor(x) + 1);
      while (s.sent < due && this.canSend(s, now)) this.sendOne(s, now);
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (this.finished) return;
    const now = performance.now();
    const allDone = now >= this.o.deadline || this.streams.every((s) => s.sent >= s.limit || s.conn.closed);
    if (!allDone) return;
    this.finished = true;
    if (this.ticker) clearInterval(this.ticker);
    this.resolveDone?.();
  }

  private onAck(s: Stream, seqNum: number, msgId: number, at: number): void {
    const entry = s.inflight.get(seqNum);
    if (!entry) {
      s.unexpectedAcks += 1;
      return;
    }
    s.inflight.delete(seqNum);
    s.acked += 1;
    s.lastAckAt = at;
    if (msgId <= s.lastAckMsgId) s.ackOrderErrors += 1;
    s.lastAckMsgId = Math.max(s.lastAckMsgId, msgId);
    s.ackMsgIds.set(entry.seq, msgId);
    this.o.ackLatency.record(at - entry.sentAt);
    this.o.series?.add('acked', at);
    if (this.o.rate === 0 && !this.finished) this.fill(s);
  }

  private onReject(s: Stream, seqNum: number, at: number): void {
    if (!s.inflight.delete(seqNum)) {
      s.unexpectedAcks += 1;
      return;
    }
    s.rejected += 1;
    s.lastAckAt = at;
    if (this.o.rate === 0 && !this.finished) this.fill(s);
  }

  private sweep(): void {
    const cutoff = performance.now() - this.o.ackTimeoutMs;
    for (const s of this.streams) {
      for (const [seqNum, e] of s.inflight) {
        if (e.sentAt < cutoff) {
          s.inflight.delete(seqNum);
          s.ackTimeouts += 1;
        }
      }
      if (this.o.rate === 0 && !this.finished) this.fill(s);
    }
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.sweeper) clearInterval(this.sweeper);
    this.finished = true;
    this.resolveDone?.();
  }
}

/** What one receiver got of one stream. */
export class Receipt {
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  msgIdOrderErrors = 0;
  private maxSeq = -1;
  private lastMsgId = 0;
  readonly seen = new BitSet();
  readonly msgIds = new U32Column();

  /** Records a delivery; returns false for a duplicate. */
  record(seq: number, msgId: number): boolean {
    if (this.seen.testAndSet(seq)) {
      this.duplicates += 1;
      return false;
    }
    if (seq < this.maxSeq) this.outOfOrder += 1;
    else this.maxSeq = seq;
    if (msgId <= this.lastMsgId) this.msgIdOrderErrors += 1;
    else this.lastMsgId = msgId;
    this.msgIds.set(seq, msgId);
    this.delivered += 1;
    return true;
  }
}

/** Counts over all receipts and streams. */
export interface DeliveryTotals {
  foreign: number;
  corrupt: number;
  misrouted: number;
  echoes: number;
}

export function newTotals(): DeliveryTotals {
  return { foreign: 0, corrupt: 0, misrouted: 0, echoes: 0 };
}

/**
 * Checks a delivered msg_data: returns the payload when it is one of this
 * run's messages, counting it as foreign or corrupt otherwise.
 */
export function checkDelivery(data: Uint8Array, runTag: number, totals: DeliveryTotals) {
  const r = decodePayload(data, runTag);
  if (!r.ok) {
    if (r.reason === 'corrupt') totals.corrupt += 1;
    else totals.foreign += 1;
    return undefined;
  }
  return r.payload;
}
