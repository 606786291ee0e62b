import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { connectStream, peerFingerprintOf, portFromAnswer, type ClientTls } from './stream';
import { encodePdu, FrameDecoder, type Pdu } from '@tt/codec';
import { IM, messageForCommand } from '@tt/proto';
import { encryptContent } from '@tt/codec';

const { LoginCmdID, MessageCmdID, OtherCmdID, ClientType, UserStatType, MsgType, SessionType } = IM.BaseDefine;

/** Anything protobufjs generated: encode to a writer, decode from bytes. */
export interface MessageType<T> {
  encode(message: any): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

export interface ReceivedPdu {
  serviceId: number;
  commandId: number;
  seqNum: number;
  body: Buffer;
  /** The decoded body, when the command is known and the body parsed. */
  message?: unknown;
}

export interface ClientOptions {
  host: string;
  port: number;
  /** Default deadline of request(). */
  requestTimeoutMs?: number;
  /** Send IMHeartBeat this often; 0 = never (default). */
  heartbeatIntervalMs?: number;
  /** Answer each delivered IMMsgData with IMMsgDataAck, as stock clients do (default true). */
  autoAckDeliveries?: boolean;
  maxFrameBytes?: number;
  /** Local address to connect from (e.g. 127.0.0.2), to spread source ports. */
  localAddress?: string;
  /** Connect over TLS with these options (a msg_server's MSG_SERVER_TLS_PORT, a file_server's FILE_SERVER_TLS_PORT). */
  tls?: ClientTls;
}

export interface LoginOptions {
  userName: string;
  /** Plain password; the client sends its lowercase hex MD5 like stock clients. */
  password?: string;
  passwordMd5?: string;
  clientType?: number;
  onlineStatus?: number;
  clientVersion?: string;
}

export const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** Asks login_server which msg_server to use (GET /msg_server). */
export async function fetchMsgServer(loginUrl: string): Promise<{ code: number; msg: string; priorIP?: string; backupIP?: string; port?: string; tlsPort?: string; msfsPrior?: string; msfsBackup?: string; discovery?: string }> {
  const url = loginUrl.replace(/\/+$/, '') + '/msg_server';
  const res = await fetch(url);
  return (await res.json()) as any;
}

/**
 * A TeamTalk client speaking the wire protocol as stock clients do. Every PDU
 * the server sends is decoded strictly (proto2 required fields enforced);
 * failures are collected in `decodeErrors` so tests can assert there are none.
 */
export class TeamTalkClient extends EventEmitter {
  readonly decodeErrors: string[] = [];
  /** Every PDU received, in order (bounded). */
  readonly received: ReceivedPdu[] = [];
  userId = 0;
  closed = false;
  private seq = 0;
  private readonly pending = new Map<number, { commandId: number; resolve: (p: ReceivedPdu) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly decoder: FrameDecoder;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly options: Required<Omit<ClientOptions, 'localAddress' | 'tls'>> & { localAddress?: string };

  private constructor(
    private readonly socket: net.Socket,
    options: ClientOptions,
  ) {
    super();
    this.options = { requestTimeoutMs: 5000, heartbeatIntervalMs: 0, autoAckDeliveries: true, maxFrameBytes: 16 * 1024 * 1024, ...options };
    this.decoder = new FrameDecoder(this.options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      try {
        this.decoder.push(chunk, (pdu) => this.onPdu(pdu));
      } catch (err) {
        this.emit('protocolError', err);
        socket.destroy();
      }
    });
    socket.on('close', () => this.onClose());
    socket.on('error', (err) => this.emit('socketError', err));
    if (this.options.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.send(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}), this.options.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  static async connect(options: ClientOptions): Promise<TeamTalkClient> {
    return new TeamTalkClient(await connectStream(options, options.tls), options);
  }

  /** Asks login_server for a msg_server, then connects to it (with options.tls: to the tlsPort it names). */
  static async connectVia(loginUrl: string, options: Omit<ClientOptions, 'host' | 'port'> = {}): Promise<TeamTalkClient> {
    const answer = await fetchMsgServer(loginUrl);
    if (answer.code !== 0) throw new Error(`login_server answered code ${answer.code}: ${answer.msg}`);
    return TeamTalkClient.connect({ ...options, host: answer.priorIP!, port: portFromAnswer(answer, !!options.tls, 'TeamTalk') });
  }

  /** SHA-256 fingerprint of the server's TLS certificate; undefined on a plain connection. */
  get peerFingerprint(): string | undefined {
    return peerFingerprintOf(this.socket);
  }

  /** Writes raw bytes (for tests of broken frames). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends one PDU; returns its seq_num. */
  send<T>(commandId: number, type: MessageType<T>, message: object, seqNum?: number): number {
    const seq = seqNum ?? this.nextSeq();
    this.socket.write(encodePdu(commandId >> 8, commandId, seq, type.encode(message).finish()));
    return seq;
  }

  /** Sends a request and resolves with the response carrying the same seq_num. */
  async request<R>(commandId: number, type: MessageType<unknown>, message: object, timeoutMs = this.options.requestTimeoutMs): Promise<R> {
    if (this.closed) throw new Error('connection closed');
    const seq = this.nextSeq();
    const reply = new Promise<ReceivedPdu>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no response to command 0x${commandId.toString(16)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { commandId, resolve, reject, timer });
    });
    this.send(commandId, type, message, seq);
    const pdu = await reply;
    if (pdu.message === undefined) throw new Error(`response 0x${pdu.commandId.toString(16)} did not decode`);
    return pdu.message as R;
  }

  /** Waits for a PDU the server sends on its own (delivery, notify, kick). */
  waitFor<R>(commandId: number, predicate: (m: R) => boolean = () => true, timeoutMs = this.options.requestTimeoutMs): Promise<R> {
    return new Promise((resolve, reject) => {
      const onPdu = (pdu: ReceivedPdu) => {
        if (pdu.commandId !== commandId || pdu.message === undefined || !predicate(pdu.message as R)) return;
        cleanup();
        resolve(pdu.message as R);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`connection closed while waiting for 0x${commandId.toString(16)}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no 0x${commandId.toString(16)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('pdu', onPdu);
        this.off('close', onClose);
      };
      this.on('pdu', onPdu);
      this.on('close', onClose);
    });
  }

  /** Resolves when the server closes the connection. */
  waitForClose(timeoutMs = this.options.requestTimeoutMs): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async login(opts: LoginOptions): Promise<IM.Login.IMLoginRes> {
    const res = await this.request<IM.Login.IMLoginRes>(LoginCmdID.CID_LOGIN_REQ_USERLOGIN, IM.Login.IMLoginReq, {
      userName: opts.userName,
      password: opts.passwordMd5 ?? md5Hex(opts.password ?? ''),
      onlineStatus: opts.onlineStatus ?? UserStatType.USER_STATUS_ONLINE,
      clientType: opts.clientType ?? ClientType.CLIENT_TYPE_WINDOWS,
      clientVersion: opts.clientVersion ?? 'tt-ts-client/0.1',
    });
    if (res.resultCode === 0 && res.userInfo) this.userId = res.userInfo.userId;
    return res;
  }

  async logout(): Promise<IM.Login.IMLogoutRsp> {
    return this.request(LoginCmdID.CID_LOGIN_REQ_LOGINOUT, IM.Login.IMLogoutReq, {});
  }

  /** Sends a single-chat text the way stock clients do (encrypted content). */
  sendText(toUserId: number, text: string): Promise<IM.Message.IMMsgDataAck> {
    return this.sendMessage(toUserId, MsgType.MSG_TYPE_SINGLE_TEXT, encryptContent(text));
  }

  sendMessage(toSessionId: number, msgType: number, data: Uint8Array): Promise<IM.Message.IMMsgDataAck> {
    return this.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, {
      fromUserId: this.userId,
      toSessionId,
      msgId: 0,
      createTime: Math.floor(Date.now() / 1000),
      msgType,
      msgData: data,
    });
  }

  unreadCounts(): Promise<IM.Message.IMUnreadMsgCntRsp> {
    return this.request(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: this.userId });
  }

  messageList(sessionId: number, msgIdBegin: number, msgCnt: number, sessionType = SessionType.SESSION_TYPE_SINGLE): Promise<IM.Message.IMGetMsgListRsp> {
    return this.request(MessageCmdID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq, { userId: this.userId, sessionType, sessionId, msgIdBegin, msgCnt });
  }

  /** Marks a session read up to msgId; the server answers nothing, so this only sends. */
  readAck(sessionId: number, msgId: number, sessionType = SessionType.SESSION_TYPE_SINGLE): void {
    this.send(MessageCmdID.CID_MSG_READ_ACK, IM.Message.IMMsgDataReadAck, { userId: this.userId, sessionId, msgId, sessionType });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private nextSeq(): number {
    this.seq = (this.seq % 0xffff) + 1;
    return this.seq;
  }

  private onPdu(pdu: Pdu): void {
    const received: ReceivedPdu = { serviceId: pdu.serviceId, commandId: pdu.commandId, seqNum: pdu.seqNum, body: Buffer.from(pdu.body) };
    const known = messageForCommand(pdu.commandId);
    if (!known) {
      this.decodeErrors.push(`unknown command 0x${pdu.commandId.toString(16)}`);
    } else {
      if (known.serviceId !== pdu.serviceId) this.decodeErrors.push(`command 0x${pdu.commandId.toString(16)} came with service id ${pdu.serviceId}`);
      try {
        received.message = known.type.decode(received.body);
      } catch (err) {
        this.decodeErrors.push(`0x${pdu.commandId.toString(16)} ${known.name}: ${(err as Error).message}`);
      }
    }
    if (this.received.length < 10_000) this.received.push(received);

    if (pdu.seqNum !== 0) {
      const waiter = this.pending.get(pdu.seqNum);
      if (waiter) {
        this.pending.delete(pdu.seqNum);
        clearTimeout(waiter.timer);
        waiter.resolve(received);
      }
    }
    if (pdu.commandId === MessageCmdID.CID_MSG_DATA && received.message && this.options.autoAckDeliveries) {
      const m = received.message as IM.Message.IMMsgData;
      const sessionType = m.msgType >= 0x10 ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE;
      const sessionId = sessionType === SessionType.SESSION_TYPE_GROUP ? m.toSessionId : m.fromUserId;
      this.send(MessageCmdID.CID_MSG_DATA_ACK, IM.Message.IMMsgDataAck, { userId: this.userId, sessionId, msgId: m.msgId, sessionType }, 0);
    }
    this.emit('pdu', received);
    if (pdu.commandId === MessageCmdID.CID_MSG_DATA && received.message) this.emit('message', received.message);
  }

  private onClose(): void {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const [seq, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('connection closed'));
      this.pending.delete(seq);
    }
    this.emit('close');
  }
}
