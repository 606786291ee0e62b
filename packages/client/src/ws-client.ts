// A client of msg_server's WebSocket front (seed 003, docs/fronts/websocket.md):
// every binary frame is one IM.Ws.WebSocketMessage whose body is the
// command's own message. Made for tests and tools, like TeamTalkClient: it
// keeps what it received (bounded) so tests can look back, decodes every
// frame strictly and collects failures in `decodeErrors`.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import WebSocket from 'ws';
import { IM } from '@tt/proto';
import type { WebSocketTls } from './stream';
import type { MessageType } from './teamtalk-client';

const Ws = IM.Ws;
const { CommandType, ErrorCode } = IM.Ws;

/** One frame as received: the envelope, and the decoded body when the command is known. */
export interface WsFrame {
  command: number;
  sequence: number;
  timestamp: number;
  body: Uint8Array;
  /** The decoded body (responses: decoded when matched to their request; pushes: on arrival). */
  message?: unknown;
}

export interface WsClientOptions {
  /** Default deadline of request() and the waits (ms, default 5000). */
  requestTimeoutMs?: number;
  /** Send CMD_HEARTBEAT_REQ this often; 0 = never (default). The server closes after 90 s of silence. */
  heartbeatIntervalMs?: number;
  /** Answer every CMD_PUSH_MSG with CMD_MSG_ACK {message_id, seq} (default true, as clients do). */
  autoAck?: boolean;
  /** Largest frame accepted from the server (default 16 MiB). */
  maxPayload?: number;
  /** Local address to connect from (127.0.0.N). */
  localAddress?: string;
  /** Offer permessage-deflate (default false). */
  perMessageDeflate?: boolean;
  /** Connect deadline (ms, default 10000). */
  connectTimeoutMs?: number;
  /** Received frames kept in `received` (default 10 000). */
  keepFrames?: number;
  /** wss://: what to trust (ca), a client certificate (cert, key)... */
  tls?: WebSocketTls;
}

/** The body type of every server push. */
export const WS_PUSH_TYPES: Readonly<Record<number, MessageType<unknown>>> = {
  [CommandType.CMD_PUSH_MSG]: Ws.PushMessage,
  [CommandType.CMD_REVOKE_MSG_PUSH]: Ws.RevokeMessagePush,
  [CommandType.CMD_READ_RECEIPT_PUSH]: Ws.ReadReceiptPush,
  [CommandType.CMD_TYPING_STATUS_PUSH]: Ws.TypingStatusPush,
  [CommandType.CMD_KICK_NOTIFY]: Ws.ErrorNotice,
};

/** What each push command decodes to (for waitForPush's result type). */
export interface WsPushTypes {
  [CommandType.CMD_PUSH_MSG]: IM.Ws.PushMessage;
  [CommandType.CMD_REVOKE_MSG_PUSH]: IM.Ws.RevokeMessagePush;
  [CommandType.CMD_READ_RECEIPT_PUSH]: IM.Ws.ReadReceiptPush;
  [CommandType.CMD_TYPING_STATUS_PUSH]: IM.Ws.TypingStatusPush;
  [CommandType.CMD_KICK_NOTIFY]: IM.Ws.ErrorNotice;
}
export type WsPushCommand = keyof WsPushTypes;

/** ERR_AUTH_FAILED (100), or the number when the code is not one of the seed's. */
export function wsErrorName(code: number): string {
  const name = ErrorCode[code];
  return name === undefined ? `error ${code}` : `${name} (${code})`;
}

/** A response whose error_code is not ERR_SUCCESS (thrown by ok() and the *OrThrow helpers). */
export class WsResponseError extends Error {
  constructor(
    readonly what: string,
    readonly errorCode: number,
    readonly errorMsg: string,
  ) {
    super(`${what}: ${wsErrorName(errorCode)}${errorMsg ? ` ${errorMsg}` : ''}`);
    this.name = 'WsResponseError';
  }
}

/** Returns the response when its error_code is 0, throws WsResponseError otherwise. */
export function ok<T extends { errorCode?: number | null; errorMsg?: string | null }>(res: T, what = 'request'): T {
  if (res.errorCode) throw new WsResponseError(what, res.errorCode, res.errorMsg ?? '');
  return res;
}

/** Single-chat conversation id: `si_<a>_<b>`, the two account names in byte order (the same for both sides). */
export function singleConversationId(a: string, b: string): string {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) <= 0 ? `si_${a}_${b}` : `si_${b}_${a}`;
}

/** Group conversation id: `sg_<groupId>`. */
export function groupConversationId(groupId: number | string): string {
  return `sg_${groupId}`;
}

/** Splits a message_id `<conversation_id>:<msg_id>`; undefined when it is not one. */
export function parseMessageId(messageId: string): { conversationId: string; msgId: number } | undefined {
  const i = messageId.lastIndexOf(':');
  if (i <= 0) return undefined;
  const msgId = Number(messageId.slice(i + 1));
  if (!Number.isSafeInteger(msgId) || msgId <= 0) return undefined;
  return { conversationId: messageId.slice(0, i), msgId };
}

/** Encodes one WebSocketMessage (for sendRaw in tests of odd input). */
export function encodeFrame(frame: { command: number; sequence?: number; body?: Uint8Array; timestamp?: number }): Buffer {
  const bytes = Ws.WebSocketMessage.encode({ command: frame.command, sequence: frame.sequence ?? 0, body: frame.body ?? new Uint8Array(0), timestamp: frame.timestamp ?? Date.now() }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes one WebSocketMessage (throws when the bytes are not one). */
export function decodeFrame(data: Uint8Array): WsFrame {
  const m = Ws.WebSocketMessage.decode(data);
  return { command: m.command, sequence: m.sequence, timestamp: m.timestamp, body: m.body };
}

const base = (loginUrl: string) => loginUrl.replace(/\/+$/, '');

/**
 * Asks login_server for a token: POST /auth/token {"user_id", "password"}.
 * Throws with login_server's answer when it gives none.
 */
export async function fetchToken(loginUrl: string, userName: string, password: string): Promise<string> {
  const res = await fetch(`${base(loginUrl)}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userName, password }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`POST /auth/token for ${userName}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  const token = body?.token ?? body?.data?.token;
  if (!res.ok || (body?.code !== undefined && body.code !== 0) || typeof token !== 'string' || token === '') {
    throw new Error(`POST /auth/token for ${userName}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  return token;
}

/** Asks login_server where the WebSocket front is: GET /msg_server?protocol=ws → url (tls: the wss:// one, tlsUrl). */
export async function wsUrlVia(loginUrl: string, opts: { tls?: boolean } = {}): Promise<string> {
  const res = await fetch(`${base(loginUrl)}/msg_server?protocol=ws`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { code?: number; msg?: string; url?: string; tlsUrl?: string; tls?: boolean };
  if (body.code !== 0 || typeof body.url !== 'string' || !body.url) throw new Error(`GET /msg_server?protocol=ws answered code ${body.code}: ${body.msg ?? JSON.stringify(body)}`);
  if (!opts.tls) return body.url;
  const url = body.tlsUrl ?? (body.tls ? body.url : undefined);
  if (!url) throw new Error(`GET /msg_server?protocol=ws names no wss:// address: ${JSON.stringify(body)}`);
  return url;
}

/**
 * Opens a WebSocket and resolves once it is open; a refused upgrade, an
 * error or a close before opening rejects (and the socket is terminated).
 */
export function openWebSocket(url: string, options: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const fail = (err: Error) => {
      cleanup();
      ws.on('error', () => undefined); // terminate() while connecting reports an error of its own
      ws.terminate();
      reject(err);
    };
    const onUnexpected = (_req: unknown, res: { statusCode?: number }) => fail(new Error(`WebSocket upgrade to ${url} refused: HTTP ${res.statusCode}`));
    const onOpen = () => {
      cleanup();
      resolve(ws);
    };
    const onClose = (code: number) => fail(new Error(`WebSocket to ${url} closed before it opened (${code})`));
    const cleanup = () => {
      ws.off('error', fail);
      ws.off('open', onOpen);
      ws.off('unexpected-response', onUnexpected);
      ws.off('close', onClose);
    };
    ws.once('error', fail);
    ws.once('open', onOpen);
    ws.once('unexpected-response', onUnexpected);
    ws.once('close', onClose);
  });
}

/** Who a message goes to: a user (single chat), a group, or just a conversation id. */
export interface WsTarget {
  receiverId?: string;
  groupId?: string | number;
  conversationId?: string;
}

interface Pending {
  command: number;
  resolve: (f: WsFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface PushWaiter {
  command: number;
  predicate: (m: any) => boolean;
  resolve: (m: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A WebSocket-front client. Requests get sequence numbers (never 0, never one
 * still waiting) and resolve with the response of the same sequence, whose
 * command must be the request's + 1. Pushes (sequence 0) are decoded, kept in
 * `pushes(command)`, and queued for waitForPush until claimed.
 */
export class WsImClient extends EventEmitter {
  readonly decodeErrors: string[] = [];
  /** Every frame received, in order (bounded by keepFrames). */
  readonly received: WsFrame[] = [];
  /** The account name after a successful auth. */
  userId = '';
  /** AuthResponse.max_seq of the successful auth. */
  maxSeq = 0;
  closed = false;
  closeInfo?: { code: number; reason: string };
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly history = new Map<number, unknown[]>();
  /** Pushes not yet claimed by waitForPush, in arrival order. */
  private readonly unclaimed: Array<{ command: number; message: unknown }> = [];
  private readonly waiters = new Set<PushWaiter>();
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly options: Required<Omit<WsClientOptions, 'localAddress' | 'tls'>> & { localAddress?: string };

  private constructor(
    private readonly ws: WebSocket,
    options: WsClientOptions,
  ) {
    super();
    this.options = { requestTimeoutMs: 5000, heartbeatIntervalMs: 0, autoAck: true, maxPayload: 16 * 1024 * 1024, perMessageDeflate: false, connectTimeoutMs: 10_000, keepFrames: 10_000, ...options };
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString('utf8')));
    ws.on('error', (err) => this.emit('socketError', err));
    if (this.options.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => {
        this.heartbeat().catch(() => undefined);
      }, this.options.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  /** Opens the WebSocket (ws://host:port/path); resolves once it is open. */
  static async connect(url: string, options: WsClientOptions = {}): Promise<WsImClient> {
    const ws = await openWebSocket(url, {
      perMessageDeflate: options.perMessageDeflate ?? false,
      maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
      handshakeTimeout: options.connectTimeoutMs ?? 10_000,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...options.tls,
    });
    const client = new WsImClient(ws, options);
    (ws as unknown as { _socket?: net.Socket })._socket?.setNoDelay(true);
    return client;
  }

  /** Asks login_server for the WebSocket front's URL (with options.tls: its wss:// one), then connects to it. */
  static async connectVia(loginUrl: string, options: WsClientOptions = {}): Promise<WsImClient> {
    return WsImClient.connect(await wsUrlVia(loginUrl, { tls: !!options.tls }), options);
  }

  /**
   * The whole login as a client does it: token from login_server, the front's
   * URL from login_server, connect, CMD_AUTH_REQ. Throws WsResponseError when
   * the auth is refused (the server closes the connection then).
   */
  static async login(loginUrl: string, userName: string, password: string, options: WsClientOptions & { platform?: string } = {}): Promise<WsImClient> {
    const token = await fetchToken(loginUrl, userName, password);
    const client = await WsImClient.connectVia(loginUrl, options);
    try {
      ok(await client.auth(userName, token, options.platform), `auth of ${userName}`);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  /** Sends bytes (a binary frame) or a string (a text frame) as they are: for tests of bad input. */
  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  /** Sends one frame without waiting for anything (sequence 0 unless given). */
  sendFrame<T>(command: number, type: MessageType<T>, body: object, sequence = 0): void {
    this.ws.send(encodeFrame({ command, sequence, body: type.encode(body).finish() }));
  }

  /**
   * Sends `body` (already encoded) as `command` with a fresh sequence and
   * resolves with the frame carrying that sequence, whatever its command (for
   * tests of unknown commands and bodies that do not decode).
   */
  requestRaw(command: number, body: Uint8Array, timeoutMs = this.options.requestTimeoutMs): Promise<WsFrame> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const sequence = this.nextSeq();
    const reply = new Promise<WsFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(sequence);
        reject(new Error(`no response to ${commandName(command)} (sequence ${sequence}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(sequence, { command, resolve, reject, timer });
    });
    this.ws.send(encodeFrame({ command, sequence, body }));
    return reply;
  }

  /** Sends a request and resolves with its decoded response (command + 1, same sequence). */
  async request<Q, R>(command: number, requestType: MessageType<Q>, body: object, responseType: MessageType<R>, timeoutMs = this.options.requestTimeoutMs): Promise<R> {
    const frame = await this.requestRaw(command, requestType.encode(body).finish(), timeoutMs);
    if (frame.command !== command + 1) {
      const msg = `${commandName(command)} (sequence ${frame.sequence}) answered by ${commandName(frame.command)}, expected ${commandName(command + 1)}`;
      this.decodeErrors.push(msg);
      throw new Error(msg);
    }
    try {
      frame.message = responseType.decode(frame.body);
    } catch (err) {
      const msg = `${commandName(frame.command)}: ${(err as Error).message}`;
      this.decodeErrors.push(msg);
      throw new Error(`response did not decode: ${msg}`);
    }
    return frame.message as R;
  }

  /** CMD_AUTH_REQ. Returns the response as is (check errorCode, or wrap it in ok()); remembers user and max_seq on success. */
  async auth(userName: string, token: string, platform = 'Web'): Promise<IM.Ws.AuthResponse> {
    const res = await this.request(CommandType.CMD_AUTH_REQ, Ws.AuthRequest, { userId: userName, token, platform }, Ws.AuthResponse);
    if (res.errorCode === ErrorCode.ERR_SUCCESS) {
      this.userId = userName;
      this.maxSeq = res.maxSeq;
    }
    return res;
  }

  heartbeat(timeoutMs?: number): Promise<IM.Ws.HeartbeatResponse> {
    return this.request(CommandType.CMD_HEARTBEAT_REQ, Ws.HeartbeatRequest, { clientTime: Date.now() }, Ws.HeartbeatResponse, timeoutMs);
  }

  /** Sends a text message (content = the text's UTF-8 bytes). */
  sendText(to: WsTarget, text: string, opts: { clientMsgId?: string; extra?: Record<string, string> } = {}): Promise<IM.Ws.SendMessageResponse> {
    return this.send({
      clientMsgId: opts.clientMsgId ?? '',
      conversationId: to.conversationId ?? '',
      receiverId: to.receiverId ?? '',
      groupId: to.groupId === undefined ? '' : String(to.groupId),
      messageType: 1,
      content: Buffer.from(text, 'utf8'),
      extra: opts.extra ?? {},
    });
  }

  /** CMD_SEND_MSG_REQ as given (send_time filled in when missing). */
  send(req: IM.Ws.ISendMessageRequest, timeoutMs?: number): Promise<IM.Ws.SendMessageResponse> {
    return this.request(CommandType.CMD_SEND_MSG_REQ, Ws.SendMessageRequest, { ...req, sendTime: req.sendTime || Date.now() }, Ws.SendMessageResponse, timeoutMs);
  }

  /** CMD_SYNC_REQ: the user's entries with minSeq <= seq <= maxSeq (0 = newest), at most limit (0 = 100). */
  sync(minSeq: number, maxSeq = 0, limit = 0, timeoutMs?: number): Promise<IM.Ws.SyncResponse> {
    return this.request(CommandType.CMD_SYNC_REQ, Ws.SyncRequest, { minSeq, maxSeq, limit }, Ws.SyncResponse, timeoutMs);
  }

  /** CMD_MSG_ACK (no response). */
  ack(messageId: string, seq: number): void {
    this.sendFrame(CommandType.CMD_MSG_ACK, Ws.MessageAck, { messageId, seq });
  }

  readReceipt(conversationId: string, messageIds: string[], timeoutMs?: number): Promise<IM.Ws.ReadReceiptResponse> {
    return this.request(CommandType.CMD_READ_RECEIPT_REQ, Ws.ReadReceiptRequest, { conversationId, messageIds }, Ws.ReadReceiptResponse, timeoutMs);
  }

  /** status 1 typing, 0 stopped. */
  typing(conversationId: string, status: number, timeoutMs?: number): Promise<IM.Ws.TypingStatusResponse> {
    return this.request(CommandType.CMD_TYPING_STATUS_REQ, Ws.TypingStatusRequest, { conversationId, status }, Ws.TypingStatusResponse, timeoutMs);
  }

  revoke(messageId: string, conversationId: string, timeoutMs?: number): Promise<IM.Ws.RevokeMessageResponse> {
    return this.request(CommandType.CMD_REVOKE_MSG_REQ, Ws.RevokeMessageRequest, { messageId, conversationId }, Ws.RevokeMessageResponse, timeoutMs);
  }

  /** Every push of this command received so far (claimed or not), oldest first. */
  pushes<C extends WsPushCommand>(command: C): WsPushTypes[C][] {
    return ((this.history.get(command) as WsPushTypes[C][] | undefined) ?? []).slice();
  }

  /**
   * The first push of `command` matching `predicate` that no earlier wait
   * claimed: one already received, or the next to arrive. Rejects on timeout
   * or when the connection closes first.
   */
  waitForPush<C extends WsPushCommand>(command: C, predicate: (m: WsPushTypes[C]) => boolean = () => true, timeoutMs = this.options.requestTimeoutMs): Promise<WsPushTypes[C]> {
    const i = this.unclaimed.findIndex((p) => p.command === command && predicate(p.message as WsPushTypes[C]));
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0].message as WsPushTypes[C]);
    if (this.closed) return Promise.reject(new Error(`connection closed (${this.closeInfo?.code}) while waiting for ${commandName(command)}`));
    return new Promise((resolve, reject) => {
      const w: PushWaiter = {
        command,
        predicate: predicate as (m: any) => boolean,
        resolve: resolve as (m: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`no ${commandName(command)} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Resolves with the close code and reason once the connection is closed (by either side). */
  waitForClose(timeoutMs = this.options.requestTimeoutMs): Promise<{ code: number; reason: string }> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('close', onClose);
        reject(new Error(`connection still open after ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = (info: { code: number; reason: string }) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.once('close', onClose);
    });
  }

  /** Closes with a close frame (default 1000). */
  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): void {
    this.ws.terminate();
  }

  private nextSeq(): number {
    for (;;) {
      this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
      if (!this.pending.has(this.seq)) return this.seq;
    }
  }

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!isBinary) {
      this.decodeErrors.push(`text frame from the server: ${bytes.toString('utf8').slice(0, 100)}`);
      return;
    }
    let frame: WsFrame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      this.decodeErrors.push(`frame is not a WebSocketMessage: ${(err as Error).message}`);
      return;
    }
    if (this.received.length < this.options.keepFrames) this.received.push(frame);
    if (frame.sequence !== 0) {
      const waiter = this.pending.get(frame.sequence);
      if (waiter) {
        this.pending.delete(frame.sequence);
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
      } else {
        this.decodeErrors.push(`${commandName(frame.command)} with sequence ${frame.sequence} answers no request`);
      }
      this.emit('frame', frame);
      return;
    }
    const type = WS_PUSH_TYPES[frame.command];
    if (!type) {
      this.decodeErrors.push(`unknown push command ${frame.command}`);
      this.emit('frame', frame);
      return;
    }
    try {
      frame.message = type.decode(frame.body);
    } catch (err) {
      this.decodeErrors.push(`${commandName(frame.command)}: ${(err as Error).message}`);
      this.emit('frame', frame);
      return;
    }
    if (frame.command === CommandType.CMD_PUSH_MSG && this.options.autoAck) {
      const m = frame.message as IM.Ws.PushMessage;
      this.ack(m.messageId, m.seq);
    }
    this.onPush(frame.command, frame.message);
    this.emit('frame', frame);
    this.emit('push', frame.command, frame.message);
  }

  private onPush(command: number, message: unknown): void {
    let list = this.history.get(command);
    if (!list) this.history.set(command, (list = []));
    if (list.length < this.options.keepFrames) list.push(message);
    for (const w of this.waiters) {
      if (w.command === command && w.predicate(message)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(message);
        return;
      }
    }
    if (this.unclaimed.length >= this.options.keepFrames) this.unclaimed.shift();
    this.unclaimed.push({ command, message });
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeInfo = { code, reason };
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const [seq, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`connection closed (${code}${reason ? ` ${reason}` : ''})`));
      this.pending.delete(seq);
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection closed (${code}${reason ? ` ${reason}` : ''}) while waiting for ${commandName(w.command)}`));
    }
    this.waiters.clear();
    this.emit('close', this.closeInfo);
  }
}

/** CMD_AUTH_REQ (100), or the number of an unknown command. */
export function commandName(command: number): string {
  const name = CommandType[command];
  return name === undefined ? `command ${command}` : `${name} (${command})`;
}
