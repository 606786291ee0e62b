// A lean client connection to msg_server's MSync front (seed 002,
// docs/fronts/msync.md) over its TCP transport (each MSync message after a
// 4-byte big-endian length) for load generation, with the same surface as the
// other protocols' connections (ChatConnection). Log-in is PROVISION with a
// token; a send is SYNC{meta} whose answer echoes the meta id (the bench's
// sequence number) with the server id; a NOTICE makes the connection pull its
// queue (SYNC{queue, key}), one pull in flight at a time, each pull
// confirming the previous answer's next_key, every chat meta going to
// onDeliver in queue order. The rest is only counted.
import { IM } from '@tt/proto';
import { decodeSyncAnswer, msyncUint64Field } from '@tt/client';
import { connectSocket, EMPTY, StreamBenchConnection, type StreamConnOptions } from './stream-conn';

const M = IM.MSync;
const { Command } = IM.MSync.MSync;
const BodyType = IM.MSync.MessageBody.Type;
const ContentType = IM.MSync.MessageBody.Content.Type;
const { MsgType } = IM.BaseDefine;
const USER_DOMAIN = 'easemob.com';
const GROUP_DOMAIN = 'conference.easemob.com';
const LOW32 = 0xffffffffn;

/** heartbeatMs: UNREAD (the Web SDK's heartbeat). */
export interface MsyncConnOptions extends StreamConnOptions {
  /** The device (Provision.resource); one per user, so reruns against the same users reuse it. */
  resource?: string;
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

export class MsyncBenchConnection extends StreamBenchConnection<MsyncConnOptions> {
  readonly protocol = 'msync';
  /** Pull answers received (each NOTICE costs at least two: the metas, then the confirming empty one). */
  pulls = 0;
  private seq = 0;
  /** Meta ids are metaBase + the bench's sequence number: unique per user across runs (the server de-duplicates by meta id). */
  private readonly metaBase = BigInt(Date.now()) << 22n;
  private waiter?: { command: number; resolve: (m: IM.MSync.MSync) => void };
  /** The key to confirm with the next pull (the last answer's next_key; 0 = where the device is). */
  private key = 0;
  private pulling = false;
  private pullAgain = false;
  /** Deliveries held back until login's first drain is over (that drain only skips the backlog). */
  private live = false;
  private drained?: () => void;

  static async connect(opts: MsyncConnOptions): Promise<MsyncBenchConnection> {
    return new MsyncBenchConnection(await connectSocket(opts), opts);
  }

  /**
   * PROVISION with a token from POST /auth/token, then a pull of the queue
   * (what clients do on log-in) whose metas are skipped: a device new to a
   * user that already has messages starts with a backlog. Throws when refused.
   */
  async loginWithToken(userName: string, token: string): Promise<void> {
    const answer = this.answerWithin<IM.MSync.MSync>('PROVISION answer', (resolve) => (this.waiter = { command: Command.PROVISION, resolve }));
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
    const drained = this.answerWithin<void>(`end of the MSync log-in pull of ${userName}`, (resolve) => (this.drained = resolve));
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

  protected heartbeat(): void {
    this.write(Command.UNREAD, EMPTY);
  }

  private write(command: number, payload: Uint8Array, header: Partial<IM.MSync.IMSync> = {}): void {
    if (this.closed) return;
    const bytes = M.MSync.encode({ version: M.MSync.Version.MSYNC_V1, command, payload, ...header }).finish();
    const frame = Buffer.allocUnsafe(4 + bytes.length);
    frame.writeUInt32BE(bytes.length, 0);
    frame.set(bytes, 4);
    this.writeFrame(frame);
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

  protected onData(chunk: Buffer): void {
    this.cutFrames(chunk, 4, (data, at, len) => this.onFrame(data.subarray(at + 4, at + 4 + len)));
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
    if (this.live) for (const meta of answer.metas) this.deliverMeta(meta, now);
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

  private deliverMeta(meta: ReturnType<typeof decodeSyncAnswer>['metas'][number], now: number): void {
    const stats = this.opts.stats;
    const body = meta.body;
    if (!body || (body.type !== BodyType.CHAT && body.type !== BodyType.GROUPCHAT)) return; // recalls, receipts: not the bench's
    const content = body.contents?.[0];
    if (!content || content.type !== ContentType.TEXT) return;
    const dir = this.opts.directory;
    const d = this.delivery;
    d.fromUserId = this.idOf(body.from?.name ?? '');
    const group = body.type === BodyType.GROUPCHAT;
    d.toSessionId = group ? Number(body.to?.name) : (dir.ids.get(body.to?.name ?? '') ?? -1);
    d.msgType = group ? MsgType.MSG_TYPE_GROUP_TEXT : MsgType.MSG_TYPE_SINGLE_TEXT;
    const msgId = Number(meta.id & LOW32);
    if (!(msgId > 0)) stats.wsIdErrors += 1;
    d.msgId = msgId > 0 ? msgId : 0;
    d.msgData = Buffer.from(content.text ?? '', 'utf8');
    this.deliver(now);
  }
}
