// A lean client connection to msg_server's OMTP front (seed 004,
// docs/fronts/omtp.md) for load generation, with the same surface as the
// other protocols' connections (ChatConnection). Log-in is PT_LOGIN with the
// account's password (LoginReq, deviceType Linux); a send is a
// PT_MSG_SINGLE_CHAT / PT_MSG_GROUP_CHAT whose packId is a per-connection
// prefix + the bench's sequence number (unique across runs: the server
// de-duplicates messages by packId for good), answered with a MsgAck that
// carries the session's seqId (TeamTalk's msg_id). Message pushes go to
// onDeliver and are acknowledged (ACK=1 with a MsgAck) as clients do; the
// rest is only counted. Payloads are plain (no zlib, no AES): the bench
// measures the front, not zlib.
import { randomBytes } from 'node:crypto';
import { IM } from '@tt/proto';
import { decodePack, decodeStruct, DeviceType, encodeStruct, Flags, framePack, hasFlag, LoginReq, LoginResp, MsgAck, MsgReq, OMTP_VERSION, OmtpFrameDecoder, PackType, type OTIMPack } from '@tt/omtp';
import { connectSocket, EMPTY, StreamBenchConnection, type StreamConnOptions } from './stream-conn';

const { MsgType } = IM.BaseDefine;
/** MsgReq.contentType of text. */
const CONTENT_TEXT = 1;
const OK = 0;

export interface OmtpConnOptions extends StreamConnOptions {
  /** LoginReq.deviceId; one per user, so reruns against the same users reuse the device. */
  deviceId?: string;
}

export class OmtpBenchConnection extends StreamBenchConnection<OmtpConnOptions> {
  readonly protocol = 'omtp';
  private seq = 0;
  /** packIds of this connection's messages: this + the bench's sequence number. */
  private readonly packIdPrefix = `ttb-${randomBytes(8).toString('hex')}-`;
  private readonly decoder = new OmtpFrameDecoder();
  /** The PT_LOGIN request waiting for its answer. */
  private login?: { packId: string; resolve: (payload: Buffer) => void };

  static async connect(opts: OmtpConnOptions): Promise<OmtpBenchConnection> {
    return new OmtpBenchConnection(await connectSocket(opts), opts);
  }

  /** PT_LOGIN with the account's password (deviceType Linux); throws when refused. */
  async loginWithPassword(userName: string, password: string): Promise<void> {
    const packId = `${this.packIdPrefix}login`;
    const answer = this.answerWithin<Buffer>('PT_LOGIN answer', (resolve) => (this.login = { packId, resolve }));
    const req = { clientId: '', userName, password, deviceType: DeviceType.DEVICE_LINUX, deviceName: 'tt-bench', deviceId: this.opts.deviceId ?? 'tt-bench', version: 'tt-bench/0.1' };
    this.write(PackType.PT_LOGIN, packId, 0, encodeStruct(LoginReq, req));
    const rsp = decodeStruct(LoginResp, await answer);
    if (rsp.code !== OK) throw new Error(`OMTP PT_LOGIN of ${userName} refused: code ${rsp.code} ${rsp.extraData}`);
    this.userName = rsp.clientId || userName;
    this.userId = this.opts.directory.ids.get(this.userName) ?? 0;
  }

  /** A text message (the payload's text form) to a user or group (TeamTalk ids), without waiting. */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number {
    const group = msgType === MsgType.MSG_TYPE_GROUP_TEXT || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
    const seq = ++this.seq;
    const to = group ? String(toSessionId) : (this.opts.directory.names.get(toSessionId) ?? String(toSessionId));
    const msg = { sessionId: '', from: this.userName, to, contentType: CONTENT_TEXT, content: Buffer.from(data).toString('utf8') };
    this.write(group ? PackType.PT_MSG_GROUP_CHAT : PackType.PT_MSG_SINGLE_CHAT, this.packIdPrefix + seq, 0, encodeStruct(MsgReq, msg));
    return seq;
  }

  protected heartbeat(): void {
    this.write(PackType.PT_PING, `${this.packIdPrefix}ping`, 0, EMPTY);
  }

  private write(type: number, packId: string, flags: number, payload: Uint8Array): void {
    this.writeFrame(framePack({ type, version: OMTP_VERSION, flags, packId }, payload));
  }

  protected onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (pack) => this.onPack(pack));
    } catch {
      // A length out of bounds: the stream cannot be followed any further.
      this.opts.stats.frameErrors += 1;
      this.socket.destroy();
    }
  }

  private onPack(bytes: Buffer): void {
    const stats = this.opts.stats;
    stats.pdusIn += 1;
    stats.bytesIn += 4 + bytes.length;
    let pack: OTIMPack;
    try {
      pack = decodePack(bytes);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    const { type, packId, flags } = pack.header;
    stats.countCommand(type);
    // Only plain payloads are asked for (a compressed or encrypted one would be a server fault).
    if ((flags & (Flags.COMPRESS_MASK | Flags.CRYPTO_MASK)) !== 0) {
      stats.decodeErrors += 1;
      return;
    }
    const now = performance.now();
    if (hasFlag(flags, Flags.ACK)) {
      if (type === PackType.PT_LOGIN && this.login?.packId === packId) {
        const l = this.login;
        this.login = undefined;
        l.resolve(pack.payload);
        return;
      }
      if (type === PackType.PT_MSG_SINGLE_CHAT || type === PackType.PT_MSG_GROUP_CHAT) this.onSendAnswer(packId, pack.payload, now);
      return; // PT_PING answers: counted above
    }
    if (type === PackType.PT_KICKOUT) {
      stats.kicked += 1;
      return;
    }
    if (type !== PackType.PT_MSG_SINGLE_CHAT && type !== PackType.PT_MSG_GROUP_CHAT) return; // reads, sync commands, …: counted above
    let m: MsgReq;
    try {
      m = decodeStruct(MsgReq, pack.payload);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    // Acknowledged as a client does (the server only drops it): ACK=1, same type and packId, a MsgAck.
    this.write(type, packId, Flags.ACK, encodeStruct(MsgAck, { code: OK, sessionId: m.sessionId, seqId: m.seqId, timestamp: m.timestamp }));
    if (m.contentType !== CONTENT_TEXT) return;
    const group = type === PackType.PT_MSG_GROUP_CHAT;
    const d = this.delivery;
    d.fromUserId = this.idOf(m.from);
    d.toSessionId = group ? Number(m.to) : (this.opts.directory.ids.get(m.to) ?? -1);
    d.msgType = group ? MsgType.MSG_TYPE_GROUP_TEXT : MsgType.MSG_TYPE_SINGLE_TEXT;
    if (!(m.seqId > 0)) stats.wsIdErrors += 1;
    d.msgId = m.seqId > 0 ? m.seqId : 0;
    d.msgData = Buffer.from(m.content, 'utf8');
    this.deliver(now);
  }

  /** A MsgAck: the sequence number is the packId's tail; the seqId is the msg_id. */
  private onSendAnswer(packId: string, payload: Buffer, now: number): void {
    const stats = this.opts.stats;
    const seq = packId.startsWith(this.packIdPrefix) ? Number(packId.slice(this.packIdPrefix.length)) : NaN;
    let ack: MsgAck;
    try {
      ack = decodeStruct(MsgAck, payload);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    if (!Number.isInteger(seq)) {
      stats.wsIdErrors += 1; // an answer with a packId this connection never sent
      return;
    }
    if (ack.code !== OK) {
      stats.wsErrorResponses += 1;
      this.onMsgReject?.(seq, ack.code, now);
      return;
    }
    if (!(ack.seqId > 0)) stats.wsIdErrors += 1;
    this.onMsgAck?.(seq, ack.seqId > 0 ? ack.seqId : 0, now);
  }
}
