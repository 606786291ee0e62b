// A lean client connection to msg_server's WebSocket front (seed 003,
// docs/fronts/websocket.md) for load generation: the WebSocket counterpart of
// conn.ts's BenchConnection, with the same surface for the chat scenarios
// (ChatConnection). It keeps nothing it has handled: every frame goes through
// one decode path (a method bound once per connection), responses resolve
// their request, send responses and pushes go to callbacks, the rest is only
// counted in the shared ConnStats.
//
// Users are account names on this front and TeamTalk ids in the scenarios; a
// Directory shared by the run translates. A push is checked on arrival:
// message_id must be `<conversation_id>:<msg_id>`, conversation_id the one of
// its sender and receiver (or group), seq present; failures are counted.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import WebSocket from 'ws';
import { IM } from '@tt/proto';
import { openWebSocket } from '@tt/client';
import { spreadHeartbeat, stopReadingSocket, type ChatConnection, type ConnStats, type Delivery, type MessageType } from './conn';

const Ws = IM.Ws;
const { CommandType, ErrorCode } = IM.Ws;
const { MsgType } = IM.BaseDefine;
const EMPTY = new Uint8Array(0);

/** Account names <-> TeamTalk user ids of a run's users (one object for all connections). */
export class Directory {
  readonly ids = new Map<string, number>();
  readonly names = new Map<number, string>();

  add(name: string, id: number): void {
    this.ids.set(name, id);
    this.names.set(id, name);
  }
}

/** The seed's platform for a TeamTalk client type name. */
export function wsPlatform(clientTypeName: string): string {
  return clientTypeName === 'ios' ? 'iOS' : clientTypeName === 'android' ? 'Android' : 'Web';
}

export interface WsConnOptions {
  /** ws://host:port/path (from login_server's GET /msg_server?protocol=ws). */
  url: string;
  localAddress?: string;
  /** Send CMD_HEARTBEAT_REQ this often; 0 = never. */
  heartbeatMs?: number;
  /** Acknowledge every push with CMD_MSG_ACK as clients do (default true). */
  autoAck?: boolean;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxPayload?: number;
  stats: ConnStats;
  directory: Directory;
}

interface Pending {
  command: number;
  type: MessageType<unknown>;
  resolve: (m: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** True when conv is `si_<a>_<b>` for the two names in byte order (ASCII names: JS order is byte order). */
function isSingleConversation(conv: string, x: string, y: string): boolean {
  const a = x < y ? x : y;
  const b = x < y ? y : x;
  return conv.length === 4 + a.length + b.length && conv.startsWith('si_') && conv.startsWith(a, 3) && conv.charCodeAt(3 + a.length) === 95 && conv.endsWith(b);
}

export class WsBenchConnection implements ChatConnection {
  readonly protocol = 'ws';
  userId = 0;
  userName = '';
  closed = false;
  /** AuthResponse.max_seq. */
  maxSeq = 0;
  /** The highest push seq seen. */
  lastPushSeq = 0;
  onDeliver?: (msg: Delivery, at: number) => void;
  onMsgAck?: (seqNum: number, msgId: number, at: number) => void;
  onMsgReject?: (seqNum: number, errorCode: number, at: number) => void;
  onClosed?: () => void;
  private seq = 0;
  private sentMsgs = 0;
  private readonly clientMsgPrefix = randomBytes(6).toString('hex') + '-';
  private readonly pending = new Map<number, Pending>();
  /** Refilled for every push (see Delivery). */
  private readonly delivery: Delivery = { fromUserId: 0, toSessionId: 0, msgId: 0, msgType: 0, msgData: EMPTY };
  private readonly stopHeartbeat: () => void;
  private closingByUs = false;

  private constructor(
    private readonly ws: WebSocket,
    private readonly socket: net.Socket,
    private readonly opts: WsConnOptions,
  ) {
    ws.on('message', this.onFrame);
    ws.on('error', () => {
      opts.stats.socketErrors += 1;
    });
    ws.on('close', (code: number) => this.onClose(code));
    // What handling one read sends back (the acks of a burst of pushes) leaves in one write: ws's own
    // 'data' listener emits the read's messages synchronously, between these two.
    socket.prependListener('data', () => socket.cork());
    socket.on('data', () => socket.uncork());
    this.stopHeartbeat = spreadHeartbeat(opts.heartbeatMs, () => this.sendHeartbeat());
  }

  static async connect(opts: WsConnOptions): Promise<WsBenchConnection> {
    let socket: net.Socket | undefined;
    const ws = await openWebSocket(opts.url, {
      perMessageDeflate: false,
      maxPayload: opts.maxPayload ?? 16 * 1024 * 1024,
      handshakeTimeout: opts.connectTimeoutMs ?? 10_000,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      // Our own socket, to cork it (ws's default does the same: the http path is not an IPC path).
      createConnection: ((o: net.NetConnectOpts & { socketPath?: string }) => {
        socket = net.connect({ ...o, path: o.socketPath } as net.NetConnectOpts);
        return socket;
      }) as never,
    });
    return new WsBenchConnection(ws, socket!, opts);
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** Sends one WebSocketMessage (sequence 0 for acks). */
  sendFrame(command: number, sequence: number, body: Uint8Array): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    const frame = Ws.WebSocketMessage.encode({ command, sequence, body, timestamp: Date.now() }).finish();
    this.opts.stats.pdusOut += 1;
    this.opts.stats.bytesOut += frame.length;
    this.ws.send(frame);
  }

  /** Sends a request and resolves with the decoded response of the same sequence (command + 1). */
  request<R>(command: number, type: MessageType<unknown>, message: object, responseType: MessageType<R>, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<R> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const seq = this.nextSeq();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.opts.stats.requestTimeouts += 1;
        reject(new Error(`no response to WebSocket command ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { command, type: responseType, resolve: resolve as (m: unknown) => void, reject, timer });
      this.sendFrame(command, seq, type.encode(message).finish());
    });
  }

  /** CMD_AUTH_REQ; remembers the user on success. */
  async auth(userName: string, token: string, platform: string): Promise<IM.Ws.AuthResponse> {
    const res = await this.request(CommandType.CMD_AUTH_REQ, Ws.AuthRequest, { userId: userName, token, platform }, Ws.AuthResponse);
    if (res.errorCode === ErrorCode.ERR_SUCCESS) {
      this.userName = userName;
      this.userId = this.opts.directory.ids.get(userName) ?? 0;
      this.maxSeq = res.maxSeq;
    }
    return res;
  }

  /**
   * Sends a text message to a user or group (TeamTalk ids, as the scenarios
   * name them) without waiting: the response goes to onMsgAck/onMsgReject
   * with the returned sequence.
   */
  sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number {
    const group = msgType === MsgType.MSG_TYPE_GROUP_TEXT || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
    const seq = this.nextSeq();
    const body = Ws.SendMessageRequest.encode({
      clientMsgId: this.clientMsgPrefix + ++this.sentMsgs,
      receiverId: group ? '' : (this.opts.directory.names.get(toSessionId) ?? String(toSessionId)),
      groupId: group ? String(toSessionId) : '',
      messageType: 1,
      content: data,
      sendTime: Date.now(),
    }).finish();
    this.sendFrame(CommandType.CMD_SEND_MSG_REQ, seq, body);
    return seq;
  }

  close(): void {
    if (this.closed) return;
    this.closingByUs = true;
    this.ws.close(1000);
    // Do not wait for the server's close frame longer than a moment.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** The socket under the WebSocket: `ws` no longer reads it (raw frames may be written to it). */
  detachSocket(): net.Socket {
    this.stopHeartbeat();
    return stopReadingSocket(this.socket);
  }

  private sendHeartbeat(): void {
    if (!this.closed) this.sendFrame(CommandType.CMD_HEARTBEAT_REQ, this.nextSeq(), Ws.HeartbeatRequest.encode({ clientTime: Date.now() }).finish());
  }

  private nextSeq(): number {
    // 32-bit, never 0 (0 marks pushes), never one still waiting for its response.
    do this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    while (this.pending.has(this.seq));
    return this.seq;
  }

  /** The one decode path of every frame the server sends. */
  private readonly onFrame = (data: Buffer, isBinary: boolean): void => {
    const stats = this.opts.stats;
    stats.pdusIn += 1;
    stats.bytesIn += data.length;
    if (!isBinary) {
      stats.decodeErrors += 1;
      return;
    }
    let frame: IM.Ws.WebSocketMessage;
    try {
      frame = Ws.WebSocketMessage.decode(data);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    const command = frame.command;
    stats.countWsCommand(command);
    const at = performance.now();
    if (frame.sequence !== 0) {
      const waiter = this.pending.get(frame.sequence);
      if (waiter) {
        this.pending.delete(frame.sequence);
        clearTimeout(waiter.timer);
        if (command !== waiter.command + 1) {
          stats.decodeErrors += 1;
          waiter.reject(new Error(`WebSocket command ${waiter.command} answered by ${command}`));
          return;
        }
        try {
          waiter.resolve(waiter.type.decode(frame.body));
        } catch (err) {
          stats.decodeErrors += 1;
          waiter.reject(new Error(`response ${command} did not decode: ${(err as Error).message}`));
        }
        return;
      }
      if (command === CommandType.CMD_SEND_MSG_RSP) {
        let rsp: IM.Ws.SendMessageResponse;
        try {
          rsp = Ws.SendMessageResponse.decode(frame.body);
        } catch {
          stats.decodeErrors += 1;
          return;
        }
        if (rsp.errorCode !== ErrorCode.ERR_SUCCESS) {
          stats.wsErrorResponses += 1;
          this.onMsgReject?.(frame.sequence, rsp.errorCode, at);
          return;
        }
        const mid = rsp.messageId;
        const colon = mid.lastIndexOf(':');
        const msgId = colon > 0 ? Number(mid.slice(colon + 1)) : NaN;
        if (!(msgId > 0)) stats.wsIdErrors += 1;
        this.onMsgAck?.(frame.sequence, msgId > 0 ? msgId : 0, at);
      }
      return; // heartbeat responses and the like: counted above
    }
    switch (command) {
      case CommandType.CMD_PUSH_MSG:
        this.onPush(frame.body, at);
        return;
      case CommandType.CMD_KICK_NOTIFY:
        stats.kicked += 1;
        return;
      default:
        return; // receipts, typing, recalls: counted above
    }
  };

  private onPush(body: Uint8Array, at: number): void {
    const stats = this.opts.stats;
    let m: IM.Ws.PushMessage;
    try {
      m = Ws.PushMessage.decode(body);
    } catch {
      stats.decodeErrors += 1;
      return;
    }
    if (this.opts.autoAck !== false) this.sendFrame(CommandType.CMD_MSG_ACK, 0, Ws.MessageAck.encode({ messageId: m.messageId, seq: m.seq }).finish());
    if (!(m.seq > 0)) stats.wsMissingSeq += 1;
    else if (m.seq <= this.lastPushSeq) stats.wsSeqRegressions += 1;
    else this.lastPushSeq = m.seq;

    const conv = m.conversationId;
    const mid = m.messageId;
    const colon = mid.lastIndexOf(':');
    const msgId = colon > 0 ? Number(mid.slice(colon + 1)) : NaN;
    let idOk = msgId > 0 && colon === conv.length && mid.startsWith(conv);
    const d = this.delivery;
    const dir = this.opts.directory;
    d.fromUserId = dir.ids.get(m.senderId) ?? -1;
    if (d.fromUserId === -1) stats.wsUnknownNames += 1;
    if (m.groupId !== '') {
      d.toSessionId = Number(m.groupId);
      if (!(conv.length === 3 + m.groupId.length && conv.startsWith('sg_') && conv.endsWith(m.groupId))) idOk = false;
      d.msgType = m.messageType === 1 ? MsgType.MSG_TYPE_GROUP_TEXT : 0x100 + m.messageType;
    } else {
      const receiver = m.receiverId || this.userName;
      d.toSessionId = dir.ids.get(receiver) ?? -1;
      if (d.toSessionId === -1) stats.wsUnknownNames += 1;
      if (!isSingleConversation(conv, m.senderId, receiver)) idOk = false;
      d.msgType = m.messageType === 1 ? MsgType.MSG_TYPE_SINGLE_TEXT : 0x100 + m.messageType;
    }
    if (!idOk) stats.wsIdErrors += 1;
    d.msgId = msgId > 0 ? msgId : 0;
    d.msgData = m.content;
    this.onDeliver?.(d, at);
    d.msgData = EMPTY;
  }

  private onClose(code: number): void {
    if (this.closed) return;
    this.closed = true;
    const stats = this.opts.stats;
    stats.wsCloseCodes.set(code, (stats.wsCloseCodes.get(code) ?? 0) + 1);
    if (!this.closingByUs) stats.closedByServer += 1;
    this.stopHeartbeat();
    for (const [seq, w] of this.pending) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection closed (${code})`));
      this.pending.delete(seq);
    }
    this.onClosed?.();
  }
}
