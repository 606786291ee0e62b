// A lean client connection to msg_server's MSync front (seed 002,
// docs/fronts/msync.md) over its TCP transport (each MSync message after a
// 4-byte big-endian length) for load generation, with the same surface as the
// other protocols' connections (ChatConnection). Log-in is PROVISION with a
// token; a send is SYNC{meta} whose answer echoes the meta id (the bench's
// sequence number) with the server id; a NOTICE makes the connection pull its
// queue (SYNC{queue, key}), one pull in flight at a time, each pull
// confirming the previous answer's next_key, every chat meta going to
// onDeliver in queue order. The rest is only counted.
import * as net from 'node:net';
import { IM } from '@tt/proto';
import { decodeSyncAnswer, msyncUint64Field } from '@tt/client';
import { spreadHeartbeat, type ChatConnection, type ConnStats, type Delivery } from './conn';
import type { Directory } from './ws-conn';

const M = IM.MSync;
const { Command } = IM.MSync.MSync;
const BodyType = IM.MSync.MessageBody.Type;
const ContentType = IM.MSync.MessageBody.Content.Type;
const { MsgType } = IM.BaseDefine;
const EMPTY = new Uint8Array(0);
const USER_DOMAIN = 'easemob.com';
const GROUP_DOMAIN = 'conference.easemob.com';
const LOW32 = 0xffffffffn;

export interface MsyncConnOptions {
  host: string;
  port: number;
  localAddress?: string;
  /** UNREAD (the Web SDK's heartbeat) this often; 0 = never. */
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  /** The device (Provision.resource); one per user, so reruns against the same users reuse it. */
  resource?: string;
  stats: ConnStats;
  directory: Directory;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

export class MsyncBenchConnection implements ChatConnection {
  readonly protocol = 'msync';
  userId = 0;
  userName = '';
  closed = false;
  onDeliver?: (msg: Delivery, at: number) => void;
  onMsgAck?: (seqNum: number, msgId: number, at: number) => void;
  onMsgReject?: (seqNum: number, errorCode: number, at: number) => void;
  onClosed?: () => void;
  /** Pull answers received (each NOTICE costs at least two: the metas, then the confirming empty one). */
  pulls = 0;
  private seq = 0;
  /** Meta ids are metaBase + the bench's sequence number: unique per user across runs (the server de-duplicates by meta id). */
  private readonly metaBase = BigInt(Date.now()) << 22n;
  private buffered: Buffer = Buffer.alloc(0);
  private waiter?: { command: number; resolve: (m: IM.MSync.MSync) => void };
  /** The key to confirm with the next pull (the last answer's next_key; 0 = where the device is). */
  private key = 0;
  private pulling = false;
  private pullAgain = false;
  /** Deliveries held back until login's first drain is over (that drain only skips the backlog). */
  private live = false;
  private readonly delivery: Delivery = { fromUserId: 0, toSessionId: 0, msgId: 0, msgType: 0, msgData: EMPTY };
  private readonly stopHeartbeat: () => void;
  private closingByUs = false;
  private drained?: () => void;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: MsyncConnOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      opts.stats.socketErrors += 1;
    });
    socket.on('close', () => this.onClose());
    this.stopHeartbeat = spreadHeartbeat(opts.heartbeatMs, () => this.write(Command.UNREAD, EMPTY));
  }

  static connect(opts: MsyncConnOptions): Promise<MsyncBenchConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new MsyncBenchConnection(socket, opts));
      });
    });
  }

  /**
   * PROVISION with a token from POST /auth/token, then a pull of the queue
   * (what clients do on log-in) whose metas are skipped: a device new to a
   * user that already has messages starts with a backlog. Throws when refused.
   */
  async loginWithToken(userName: string, token: string): Promise<void> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
    const answer = new Promise<IM.MSync.MSync>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opts.stats.requestTimeouts += 1;
        this.waiter = undefined;
        reject(new Error(`no PROVISION answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        command: Command.PROVISION,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
    });
    const resource = this.opts.resource ?? 'tt-bench';
    this.write(Command.PROVISION, M.Provision.encode({ resource, authToken: JSON.stringify({ token: `$t$${token}` }) }).finish(), {
      guid: { name: userName, domain: USER_DOMAIN, clientResource: resource },
      auth: `$t$${token}`,
    });
    const rsp = M.Provision.decode((await answer).payload);
    const code = rsp.status?.errorCode ?? 0;
    if (code !== M.Status.ErrorCode.OK) throw new Error(`MSync PROVISION of ${userName} refused: ${M.Status.ErrorCode[code] ?? code} ${rsp.status?.reason ?? ''}`);
    this.userName = userName;
    this.userId = this.opts.directory.ids.get(userName) ?? 0;
    const drained = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opts.stats.requestTimeouts += 1;
        reject(new Error(`MSync log-in pull of ${userName} not done within ${timeoutMs} ms`));
      }, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.pull();
    await drained;
  }

  /** SYNC of a CHAT (or GROUPCHAT) text meta to a user or group (TeamTalk ids), without waiting; returns the sequence number the answer is matched by. */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number {
    const group = msgType === MsgType.MSG_TYPE_GROUP_TEXT || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
    const seq = ++this.seq;
    const to = group ? String(toSessionId) : (this.opts.directory.names.get(toSessionId) ?? String(toSessionId));
    const body = M.MessageBody.encode({
      type: group ? BodyType.GROUPCHAT : BodyType.CHAT,
      from: { name: this.userName },
      to: { name: to },
      contents: [{ type: ContentType.TEXT, text: Buffer.from(data).toString('utf8') }],
    }).finish();
    const meta = Buffer.concat([msyncUint64Field(1, this.metaBase + BigInt(seq)), M.Meta.encode({ to: { name: to, domain: group ? GROUP_DOMAIN : USER_DOMAIN }, ns: M.Meta.NameSpace.CHAT, payload: body }).finish()]);
    this.write(Command.SYNC, Buffer.concat([Buffer.from([0x0a]), varint(meta.length), meta]));
    return seq;
  }

  close(): void {
    if (this.closed) return;
    this.closingByUs = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private write(command: number, payload: Uint8Array, header: Partial<IM.MSync.IMSync> = {}): void {
    if (this.closed) return;
    const bytes = M.MSync.encode({ version: M.MSync.Version.MSYNC_V1, command, payload, ...header }).finish();
    const frame = Buffer.allocUnsafe(4 + bytes.length);
    frame.writeUInt32BE(bytes.length, 0);
    frame.set(bytes, 4);
    this.opts.stats.pdusOut += 1;
    this.opts.stats.bytesOut += frame.length;
    this.socket.write(frame);
  }

  private pull(): void {
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = true;
    this.pullAgain = false;
    this.write(Command.SYNC, M.CommSyncUL.encode({ queue: { name: this.userName, domain: USER_DOMAIN }, key: this.key }).finish());
  }

  private onData(chunk: Buffer): void {
    let data = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 4) {
      const len = data.readUInt32BE(at);
      if (data.length - at < 4 + len) break;
      this.onFrame(data.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    data = data.subarray(at);
    this.buffered = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
  }

  private onFrame(bytes: Uint8Array): void {
    const stats = this.opts.stats;
    stats.pdusIn += 1;
    stats.bytesIn += 4 + bytes.length;
    let m: IM.MSync.MSync;
    try {
      m = M.MSync.decode(bytes);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    const command = m.command ?? 0;
    stats.countCommand(command);
    if (this.waiter && this.waiter.command === command) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(m);
      return;
    }
    if (command === Command.NOTICE) {
      if (this.live || this.drained) this.pull();
      return;
    }
    if (command === Command.LOGOUT) {
      stats.kicked += 1;
      return;
    }
    if (command !== Command.SYNC) return; // UNREAD answers: counted above
    let answer: ReturnType<typeof decodeSyncAnswer>;
    try {
      answer = decodeSyncAnswer(m.payload);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    const now = performance.now();
    const code = answer.dl.status?.errorCode ?? 0;
    if (answer.metaId !== 0n) {
      // The answer to a send.
      const seq = Number(answer.metaId - this.metaBase);
      if (code !== M.Status.ErrorCode.OK) {
        stats.wsErrorResponses += 1;
        this.onMsgReject?.(seq, code, now);
        return;
      }
      const msgId = Number(answer.serverId & LOW32);
      if (!(msgId > 0)) stats.wsIdErrors += 1;
      this.onMsgAck?.(seq, msgId > 0 ? msgId : 0, now);
      return;
    }
    // The answer to a pull.
    this.pulls += 1;
    this.pulling = false;
    if (code !== M.Status.ErrorCode.OK) {
      stats.wsErrorResponses += 1;
      if (this.pullAgain) this.pull();
      return;
    }
    if (this.live) for (const meta of answer.metas) this.deliver(meta, now);
    if (answer.dl.nextKey != null && Number(answer.dl.nextKey) > this.key) this.key = Number(answer.dl.nextKey);
    if (!answer.dl.isLast || this.pullAgain) {
      this.pull();
      return;
    }
    if (!this.live) {
      this.live = true;
      const d = this.drained;
      this.drained = undefined;
      d?.();
    }
  }

  private deliver(meta: ReturnType<typeof decodeSyncAnswer>['metas'][number], now: number): void {
    const stats = this.opts.stats;
    const body = meta.body;
    if (!body || (body.type !== BodyType.CHAT && body.type !== BodyType.GROUPCHAT)) return; // recalls, receipts: not the bench's
    const content = body.contents?.[0];
    if (!content || content.type !== ContentType.TEXT) return;
    const dir = this.opts.directory;
    const d = this.delivery;
    d.fromUserId = dir.ids.get(body.from?.name ?? '') ?? -1;
    if (d.fromUserId === -1) stats.wsUnknownNames += 1;
    const group = body.type === BodyType.GROUPCHAT;
    d.toSessionId = group ? Number(body.to?.name) : (dir.ids.get(body.to?.name ?? '') ?? -1);
    d.msgType = group ? MsgType.MSG_TYPE_GROUP_TEXT : MsgType.MSG_TYPE_SINGLE_TEXT;
    const msgId = Number(meta.id & LOW32);
    if (!(msgId > 0)) stats.wsIdErrors += 1;
    d.msgId = msgId > 0 ? msgId : 0;
    d.msgData = Buffer.from(content.text ?? '', 'utf8');
    this.onDeliver?.(d, now);
    d.msgData = EMPTY;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.closingByUs) this.opts.stats.closedByServer += 1;
    this.stopHeartbeat();
    this.onClosed?.();
  }
}
