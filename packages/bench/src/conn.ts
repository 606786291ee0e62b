// A lean TeamTalk client connection for load generation. Unlike @tt/client's
// TeamTalkClient (made for tests: it keeps up to 10 000 received PDUs per
// client, copies and decodes every one), it keeps nothing it has handled:
// responses resolve their request, deliveries go to a callback, everything
// else is only counted. Tens of thousands of these fit in one process.
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { encodePdu, FrameDecoder, type Pdu } from '@tt/codec';
import { IM } from '@tt/proto';

const { LoginCmdID, MessageCmdID, OtherCmdID, UserStatType, MsgType, SessionType } = IM.BaseDefine;

export const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** A protobufjs generated type. */
export interface MessageType<T> {
  encode(message: any): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

/**
 * A delivered chat message, the same for every protocol. A TeamTalk delivery
 * is the decoded IMMsgData itself; another front's push is translated into one
 * object per connection, refilled for every push: valid only during the
 * onDeliver call.
 */
export interface Delivery {
  fromUserId: number;
  /** The receiving user (single chat) or the group. */
  toSessionId: number;
  /** The conversation's msg_id (WebSocket: the number after the last ':' of message_id). */
  msgId: number;
  /** TeamTalk's MsgType (WebSocket text: MSG_TYPE_SINGLE_TEXT or MSG_TYPE_GROUP_TEXT). */
  msgType: number;
  msgData: Uint8Array;
}

/** The front a simulated client uses (--protocol, mixed aside). */
export type ClientProtocol = 'teamtalk' | 'ws' | 'tcp12' | 'msync' | 'omtp';

/** What the chat scenarios need of a connection, whatever its protocol. */
export interface ChatConnection {
  readonly protocol: ClientProtocol;
  /** TeamTalk user id (WebSocket connections: the id of the account they authenticated as). */
  userId: number;
  closed: boolean;
  /** A delivered message (already acknowledged to the server if autoAck). `at` is performance.now(). */
  onDeliver?: (msg: Delivery, at: number) => void;
  /** The server accepted a message sent with sendMsg (matched by the request's sequence number). */
  onMsgAck?: (seqNum: number, msgId: number, at: number) => void;
  /** The server refused a message sent with sendMsg (WebSocket error_code; TeamTalk drops without an answer). */
  onMsgReject?: (seqNum: number, errorCode: number, at: number) => void;
  onClosed?: () => void;
  /** Sends a message to a user or a group (TeamTalk ids) without waiting; returns the request's sequence number. */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number;
  close(): void;
  /**
   * Hands the TCP socket over (the abuse scenario): no more heartbeats, input
   * no longer read (paused, listeners gone), only 'close' still reported.
   */
  detachSocket(): net.Socket;
}

/** Stops a socket's reading for good: its data listeners removed, the stream paused (the kernel buffers fill, TCP back-pressure reaches the peer). */
export function stopReadingSocket(socket: net.Socket): net.Socket {
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

/** Counters shared by every connection of a run (one object, not one per connection). */
export class ConnStats {
  pdusIn = 0;
  bytesIn = 0;
  pdusOut = 0;
  bytesOut = 0;
  decodeErrors = 0;
  frameErrors = 0;
  kicked = 0;
  closedByServer = 0;
  socketErrors = 0;
  requestTimeouts = 0;
  /** WebSocket: responses with an error_code (sends refused included). */
  wsErrorResponses = 0;
  /** WebSocket: message_id not `<conversation_id>:<msg_id>`, or a conversation_id not the expected one. */
  wsIdErrors = 0;
  /** WebSocket: sender_id or receiver_id of a push that is not the account name of one of the run's users. */
  wsUnknownNames = 0;
  /** WebSocket: pushes without a seq. */
  wsMissingSeq = 0;
  /** WebSocket: pushes whose seq is not above the last one the connection got (can happen legitimately across senders). */
  wsSeqRegressions = 0;
  readonly byCommand = new Map<number, number>();
  readonly byWsCommand = new Map<number, number>();
  readonly wsCloseCodes = new Map<number, number>();

  countCommand(commandId: number): void {
    this.byCommand.set(commandId, (this.byCommand.get(commandId) ?? 0) + 1);
  }

  countWsCommand(command: number): void {
    this.byWsCommand.set(command, (this.byWsCommand.get(command) ?? 0) + 1);
  }

  toJSON() {
    const byCommand: Record<string, number> = {};
    for (const [cmd, n] of [...this.byCommand].sort((a, b) => a[0] - b[0])) byCommand[`0x${cmd.toString(16).padStart(4, '0')}`] = n;
    return {
      pdusIn: this.pdusIn,
      bytesIn: this.bytesIn,
      pdusOut: this.pdusOut,
      bytesOut: this.bytesOut,
      decodeErrors: this.decodeErrors,
      frameErrors: this.frameErrors,
      kicked: this.kicked,
      closedByServer: this.closedByServer,
      socketErrors: this.socketErrors,
      requestTimeouts: this.requestTimeouts,
      pdusInByCommand: byCommand,
      ...(this.byWsCommand.size > 0
        ? {
            wsErrorResponses: this.wsErrorResponses,
            wsIdErrors: this.wsIdErrors,
            wsUnknownNames: this.wsUnknownNames,
            wsMissingSeq: this.wsMissingSeq,
            wsSeqRegressions: this.wsSeqRegressions,
            wsFramesInByCommand: Object.fromEntries([...this.byWsCommand].sort((a, b) => a[0] - b[0])),
            wsCloseCodes: Object.fromEntries(this.wsCloseCodes),
          }
        : {}),
    };
  }
}

export interface ConnOptions {
  host: string;
  port: number;
  /** Source address (127.0.0.N) to spread connections over more ephemeral ports. */
  localAddress?: string;
  /** Send IMHeartBeat this often; 0 = never. */
  heartbeatMs?: number;
  /** Answer every delivery with IMMsgDataAck as stock clients do (default true). */
  autoAck?: boolean;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  stats: ConnStats;
}

interface Pending {
  type: MessageType<unknown>;
  resolve: (m: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class BenchConnection implements ChatConnection {
  readonly protocol = 'teamtalk';
  userId = 0;
  closed = false;
  /** A delivered message, the decoded IMMsgData itself (already acknowledged to the server if autoAck). `at` is performance.now(). */
  onDeliver?: (msg: Delivery, at: number) => void;
  /** The msg_id of the server's IMMsgDataAck for a message sent with sendMsg (matched by seq_num). */
  onMsgAck?: (seqNum: number, msgId: number, at: number) => void;
  /** Never called: msg_server drops a refused message without an answer. */
  onMsgReject?: (seqNum: number, errorCode: number, at: number) => void;
  onClosed?: () => void;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder: FrameDecoder;
  private readonly stopHeartbeat: () => void;
  private closingByUs = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: ConnOptions,
  ) {
    this.decoder = new FrameDecoder(opts.maxFrameBytes ?? 16 * 1024 * 1024);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      opts.stats.bytesIn += chunk.length;
      // What handling one read sends back (acks of a burst of deliveries) leaves in one write.
      socket.cork();
      try {
        this.decoder.push(chunk, (pdu) => this.onPdu(pdu));
      } catch {
        opts.stats.frameErrors += 1;
        socket.destroy();
      } finally {
        socket.uncork();
      }
    });
    socket.on('error', () => {
      opts.stats.socketErrors += 1;
    });
    socket.on('close', () => this.onClose());
    this.stopHeartbeat = spreadHeartbeat(opts.heartbeatMs, () => this.sendHeartbeat());
  }

  static connect(opts: ConnOptions): Promise<BenchConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${opts.host}:${opts.port} timed out`));
      }, opts.connectTimeoutMs ?? 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new BenchConnection(socket, opts));
      });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
    });
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** Sends one PDU with the given seq_num (0 for notifications). */
  send(commandId: number, type: MessageType<unknown>, message: object, seqNum: number): void {
    if (this.closed) return;
    const frame = encodePdu(commandId >> 8, commandId, seqNum, type.encode(message).finish());
    this.opts.stats.pdusOut += 1;
    this.opts.stats.bytesOut += frame.length;
    this.socket.write(frame);
  }

  /** Sends a request and resolves with the decoded response carrying the same seq_num. */
  request<R>(commandId: number, type: MessageType<unknown>, message: object, responseType: MessageType<R>, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<R> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const seq = this.nextSeq();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.opts.stats.requestTimeouts += 1;
        reject(new Error(`no response to command 0x${commandId.toString(16)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { type: responseType, resolve: resolve as (m: unknown) => void, reject, timer });
      this.send(commandId, type, message, seq);
    });
  }

  async login(userName: string, passwordMd5: string, clientType: number): Promise<IM.Login.IMLoginRes> {
    const res = await this.request(
      LoginCmdID.CID_LOGIN_REQ_USERLOGIN,
      IM.Login.IMLoginReq,
      { userName, password: passwordMd5, onlineStatus: UserStatType.USER_STATUS_ONLINE, clientType, clientVersion: 'tt-bench/0.1' },
      IM.Login.IMLoginRes,
    );
    if (res.resultCode === 0 && res.userInfo) this.userId = res.userInfo.userId;
    return res;
  }

  /** Sends IMMsgData without waiting; the ack comes to onMsgAck with the returned seq_num. */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number {
    const seq = this.nextSeq();
    this.send(
      MessageCmdID.CID_MSG_DATA,
      IM.Message.IMMsgData,
      { fromUserId: this.userId, toSessionId, msgId: 0, createTime: Math.floor(Date.now() / 1000), msgType, msgData: data },
      seq,
    );
    return seq;
  }

  close(): void {
    if (this.closed) return;
    this.closingByUs = true;
    this.socket.end();
    this.socket.destroy();
  }

  detachSocket(): net.Socket {
    this.stopHeartbeat();
    return stopReadingSocket(this.socket);
  }

  private sendHeartbeat(): void {
    if (!this.closed) this.send(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}, 0);
  }

  private nextSeq(): number {
    // 16-bit, never 0 (0 marks server-initiated PDUs), never one still waiting for its response.
    for (let i = 0; i < 0xffff; i++) {
      this.seq = (this.seq % 0xffff) + 1;
      if (!this.pending.has(this.seq)) return this.seq;
    }
    throw new Error('65535 requests pending on one connection');
  }

  private onPdu(pdu: Pdu): void {
    const stats = this.opts.stats;
    stats.pdusIn += 1;
    stats.countCommand(pdu.commandId);
    const at = performance.now();
    if (pdu.seqNum !== 0) {
      const waiter = this.pending.get(pdu.seqNum);
      if (waiter) {
        this.pending.delete(pdu.seqNum);
        clearTimeout(waiter.timer);
        try {
          waiter.resolve(waiter.type.decode(pdu.body));
        } catch (err) {
          stats.decodeErrors += 1;
          waiter.reject(new Error(`response 0x${pdu.commandId.toString(16)} did not decode: ${(err as Error).message}`));
        }
        return;
      }
      if (pdu.commandId === MessageCmdID.CID_MSG_DATA_ACK) {
        let ack: IM.Message.IMMsgDataAck;
        try {
          ack = IM.Message.IMMsgDataAck.decode(pdu.body);
        } catch {
          stats.decodeErrors += 1;
          return;
        }
        this.onMsgAck?.(pdu.seqNum, ack.msgId, at);
        return;
      }
    }
    switch (pdu.commandId) {
      case MessageCmdID.CID_MSG_DATA: {
        let msg: IM.Message.IMMsgData;
        try {
          msg = IM.Message.IMMsgData.decode(pdu.body);
        } catch {
          stats.decodeErrors += 1;
          return;
        }
        if (this.opts.autoAck !== false) {
          const group = msg.msgType === MsgType.MSG_TYPE_GROUP_TEXT || msg.msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
          this.send(
            MessageCmdID.CID_MSG_DATA_ACK,
            IM.Message.IMMsgDataAck,
            {
              userId: this.userId,
              sessionId: group ? msg.toSessionId : msg.fromUserId,
              msgId: msg.msgId,
              sessionType: group ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE,
            },
            0,
          );
        }
        this.onDeliver?.(msg, at);
        return;
      }
      case LoginCmdID.CID_LOGIN_KICK_USER:
        stats.kicked += 1;
        return;
      default:
        return; // heartbeats, status notifies, …: counted above, nothing else to do
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.closingByUs) this.opts.stats.closedByServer += 1;
    this.stopHeartbeat();
    for (const [seq, w] of this.pending) {
      clearTimeout(w.timer);
      w.reject(new Error('connection closed'));
      this.pending.delete(seq);
    }
    this.onClosed?.();
  }
}

/**
 * Beats every `intervalMs`, the first beat spread at random over the interval so
 * a ramp of connections does not beat in lockstep. Returns the stop function.
 */
export function spreadHeartbeat(intervalMs: number | undefined, beat: () => void): () => void {
  if (!intervalMs || intervalMs <= 0) return () => {};
  let timer: NodeJS.Timeout = setTimeout(() => {
    beat();
    timer = setInterval(beat, intervalMs);
    timer.unref();
  }, Math.floor(Math.random() * intervalMs));
  timer.unref();
  return () => {
    clearTimeout(timer);
    clearInterval(timer);
  };
}
