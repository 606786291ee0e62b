// A lean client connection to msg_server's tcp12 front (seed 001,
// docs/fronts/tcp12.md) for load generation, with the same surface as the
// other protocols' connections (ChatConnection): frames are cut and decoded
// once, answers resolve their request or go to onMsgAck/onMsgReject, MPS
// deliveries to onDeliver, the rest is only counted. Bodies are sent plain
// (no gzip, no AES): the bench measures the front, not zlib.
import { IM } from '@tt/proto';
import { TCP12_HEADER, encodeTcp12Frame } from '@tt/client';
import { connectSocket, StreamBenchConnection, type StreamConnOptions } from './stream-conn';

const T = IM.Tcp12;
const { IMCommand, Status, ConversationType, MessageContentType } = IM.Tcp12;
const { MsgType } = IM.BaseDefine;
const FLOW_RESPONSE = 1;

export type Tcp12ConnOptions = StreamConnOptions;

export class Tcp12BenchConnection extends StreamBenchConnection<Tcp12ConnOptions> {
  readonly protocol = 'tcp12';
  maxSeq = 0;
  private seq = 0;
  private sentMsgs = 0;
  /** The LOGIN request waiting for its answer. */
  private login?: { seq: number; resolve: (f: { status: number; body: Buffer }) => void };

  static async connect(opts: Tcp12ConnOptions): Promise<Tcp12BenchConnection> {
    return new Tcp12BenchConnection(await connectSocket(opts), opts);
  }

  /** LOGIN with a token from POST /auth/token; throws when refused. */
  async loginWithToken(userName: string, token: string, platform: string): Promise<void> {
    const seq = this.nextSeq();
    const answer = this.answerWithin<{ status: number; body: Buffer }>('LOGIN answer', (resolve) => (this.login = { seq, resolve }));
    this.write(IMCommand.LOGIN, seq, T.LoginRequest.encode({ token, platform }).finish());
    const { status, body } = await answer;
    if (status !== Status.OK) throw new Error(`tcp12 LOGIN of ${userName} refused: ${T.Status[status] ?? status}`);
    const rsp = T.LoginResponse.decode(body);
    this.userName = rsp.userId;
    this.userId = this.opts.directory.ids.get(rsp.userId) ?? 0;
    this.maxSeq = Number(rsp.maxSeq);
  }

  /** MS of a TEXT (the payload's text form) to a user or group (TeamTalk ids), without waiting. */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number {
    const group = msgType === MsgType.MSG_TYPE_GROUP_TEXT || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
    const seq = this.nextSeq();
    const conversation = group ? { type: ConversationType.GROUP, target: String(toSessionId) } : { type: ConversationType.SIGNAL, target: this.opts.directory.names.get(toSessionId) ?? String(toSessionId) };
    const body = T.Message.encode({ messageId: ++this.sentMsgs, conversation, messageContent: { contentType: MessageContentType.TEXT, searchableContent: Buffer.from(data).toString('utf8') } }).finish();
    this.write(IMCommand.MS, seq, body);
    return seq;
  }

  protected heartbeat(): void {
    this.write(IMCommand.PING, this.nextSeq(), new Uint8Array(0));
  }

  private write(command: number, seq: number, body: Uint8Array): void {
    this.writeFrame(encodeTcp12Frame({ seq, command }, body));
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  protected onData(chunk: Buffer): void {
    this.cutFrames(chunk, TCP12_HEADER, (data, at, len) => this.onFrame(data, at, len));
  }

  private onFrame(data: Buffer, at: number, len: number): void {
    const stats = this.opts.stats;
    stats.pdusIn += 1;
    stats.bytesIn += TCP12_HEADER + len;
    const seq = data.readUInt32BE(at + 5);
    const command = data[at + 9];
    const flag = data[at + 10];
    const status = data[at + 11];
    const body = data.subarray(at + TCP12_HEADER, at + TCP12_HEADER + len);
    stats.countCommand(command);
    if (flag >> 2 !== 0) {
      // This connection never asks for packed frames.
      stats.decodeErrors += 1;
      return;
    }
    const now = performance.now();
    if ((flag & 3) === FLOW_RESPONSE) {
      if (command === IMCommand.LOGIN && this.login?.seq === seq) {
        const l = this.login;
        this.login = undefined;
        l.resolve({ status, body: Buffer.from(body) });
        return;
      }
      if (command !== IMCommand.MS) return; // PING answers: counted above
      if (status !== Status.OK) {
        stats.wsErrorResponses += 1;
        this.onMsgReject?.(seq, status, now);
        return;
      }
      try {
        const uid = T.SendResponse.decode(body).messageUid;
        const msgId = Number(uid.slice(uid.lastIndexOf(':') + 1));
        if (!(msgId > 0)) stats.wsIdErrors += 1;
        this.onMsgAck?.(seq, msgId > 0 ? msgId : 0, now);
      } catch {
        stats.decodeErrors += 1;
      }
      return;
    }
    if (command === IMCommand.LOGOUT) {
      stats.kicked += 1;
      return;
    }
    if (command !== IMCommand.MPS) return; // MN notices: counted above
    let m: IM.Tcp12.DeliveredMessage;
    try {
      m = T.DeliveredMessage.decode(body);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    const msg = m.message;
    if (!msg || msg.messageContent?.contentType !== MessageContentType.TEXT) return;
    const dir = this.opts.directory;
    const d = this.delivery;
    d.fromUserId = this.idOf(msg.from ?? '');
    const group = msg.conversation?.type === ConversationType.GROUP;
    d.toSessionId = group ? Number(msg.to) : (dir.ids.get(msg.to ?? '') ?? -1);
    d.msgType = group ? MsgType.MSG_TYPE_GROUP_TEXT : MsgType.MSG_TYPE_SINGLE_TEXT;
    const uid = m.messageUid;
    const msgId = Number(uid.slice(uid.lastIndexOf(':') + 1));
    if (!(msgId > 0)) stats.wsIdErrors += 1;
    if (!(Number(m.seq) > 0)) stats.wsMissingSeq += 1;
    d.msgId = msgId > 0 ? msgId : 0;
    d.msgData = Buffer.from(msg.messageContent.searchableContent ?? '', 'utf8');
    this.deliver(now);
  }
}
