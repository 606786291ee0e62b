// A client of msg_server's tcp12 front (seed 001, docs/fronts/tcp12.md):
// 12-byte-header frames (len, version, seq, command, connect flag, status;
// big-endian) with protobuf bodies, optionally gzipped and/or AES-encrypted.
// Made for tests and tools: it frames and packs on its own (not with the
// server's code), keeps what it received, and collects frames it could not
// read in `decodeErrors`.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { connectStream, portFromAnswer, type ClientTls } from './stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IM } from '@tt/proto';
import type { MessageType } from './teamtalk-client';

const T = IM.Tcp12;
const { IMCommand, Status } = IM.Tcp12;

export const TCP12_HEADER = 12;

/** How a frame's body is packed: connect-flag compression (0 none, 1 gzip) and encryption (0 none, 1 AES). */
export interface Tcp12Mode {
  compression?: number;
  encryption?: number;
}

export interface Tcp12Frame {
  version: number;
  seq: number;
  command: number;
  flag: number;
  status: number;
  /** The body unpacked (decrypted, gunzipped). */
  body: Buffer;
  /** Bits of the connect flag. */
  compression: number;
  encryption: number;
  flow: number;
}

export interface Tcp12ClientOptions {
  /** AES-256 key as 64 hex digits (the server's MSG_SERVER_TCP12_AES_KEY). */
  aesKeyHex?: string;
  /** Default deadline of requests and waits (ms, default 5000). */
  requestTimeoutMs?: number;
  /** Packing of every request unless a call says otherwise. */
  mode?: Tcp12Mode;
  /** Connect over TLS with these options (MSG_SERVER_TCP12_TLS_PORT). */
  tls?: ClientTls;
}

/** A response whose status is not OK. */
export class Tcp12StatusError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${tcp12StatusName(status)}${detail ? `: ${detail}` : ''}`);
    this.name = 'Tcp12StatusError';
  }
}

export function tcp12StatusName(status: number): string {
  return T.Status[status] ?? `status ${status}`;
}

export function aesEncrypt(key: Buffer, plain: Uint8Array): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

export function aesDecrypt(key: Buffer, data: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
  return Buffer.concat([d.update(data.subarray(16)), d.final()]);
}

/** One frame's bytes: body as given (already packed), header as given. For tests of odd input too. */
export function encodeTcp12Frame(h: { seq: number; command: number; flag?: number; status?: number; version?: number }, body: Uint8Array, lengthOverride?: number): Buffer {
  const out = Buffer.alloc(TCP12_HEADER + body.length);
  out.writeUInt32BE(lengthOverride ?? body.length, 0);
  out[4] = h.version ?? 1;
  out.writeUInt32BE(h.seq >>> 0, 5);
  out[9] = h.command;
  out[10] = h.flag ?? 0;
  out[11] = h.status ?? 0;
  Buffer.from(body).copy(out, TCP12_HEADER);
  return out;
}

export const connectFlag = (compression: number, encryption: number, flow: number, reserved = 0) => (reserved << 6) | (compression << 4) | (encryption << 2) | flow;

interface Pending {
  resolve(f: Tcp12Frame): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  command: number;
  predicate(m: any): boolean;
  resolve(m: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A tcp12 client. Requests get fresh seqs and resolve with the frame of
 * that seq whose flow is "response". Notices (flow 2) are decoded: MPS as
 * DeliveredMessage, MN as Notice, LOGOUT as ErrorInfo (a kick); each is kept
 * and handed to waitForNotice.
 */
export class Tcp12Client extends EventEmitter {
  readonly decodeErrors: string[] = [];
  readonly received: Tcp12Frame[] = [];
  userId = '';
  maxSeq = 0;
  closed = false;
  private seq = 0;
  private buffered = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private readonly unclaimed: Array<{ command: number; status: number; message: unknown }> = [];
  private readonly waiters = new Set<Waiter>();
  private readonly key?: Buffer;
  private readonly timeoutMs: number;
  private readonly mode: Tcp12Mode;

  private constructor(
    private readonly socket: net.Socket,
    options: Tcp12ClientOptions,
  ) {
    super();
    this.key = options.aesKeyHex ? Buffer.from(options.aesKeyHex, 'hex') : undefined;
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.mode = options.mode ?? {};
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.emit('socketError', err));
    socket.on('close', () => this.onClose());
  }

  static async connect(host: string, port: number, options: Tcp12ClientOptions = {}): Promise<Tcp12Client> {
    return new Tcp12Client(await connectStream({ host, port }, options.tls), options);
  }

  /** Asks login_server (GET /msg_server?protocol=tcp12) where the front is, then connects. */
  static async connectVia(loginUrl: string, options: Tcp12ClientOptions = {}): Promise<Tcp12Client> {
    const res = await fetch(`${loginUrl.replace(/\/+$/, '')}/msg_server?protocol=tcp12`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; priorIP?: string; port?: string; tlsPort?: string; tls?: boolean };
    if (body.code !== 0 || !body.priorIP || !body.port) throw new Error(`GET /msg_server?protocol=tcp12: ${JSON.stringify(body)}`);
    return Tcp12Client.connect(body.priorIP, portFromAnswer(body, !!options.tls, 'tcp12'), options);
  }

  /** Writes bytes as they are (tests of bad input). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Packs a body as a mode asks (gzip first, then AES). */
  pack(body: Uint8Array, mode: Tcp12Mode): Buffer {
    let out: Buffer = Buffer.from(body);
    if (mode.compression === 1) out = gzipSync(out);
    if (mode.encryption === 1) {
      if (!this.key) throw new Error('no AES key given to this client');
      out = aesEncrypt(this.key, out);
    }
    return out;
  }

  /** Sends a request with an already encoded body; resolves with the response frame of its seq, whatever its status. */
  requestRaw(command: number, body: Uint8Array, mode: Tcp12Mode = this.mode, timeoutMs = this.timeoutMs): Promise<Tcp12Frame> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const seq = this.nextSeq();
    const reply = this.awaitResponse(seq, command, timeoutMs);
    this.socket.write(encodeTcp12Frame({ seq, command, flag: connectFlag(mode.compression ?? 0, mode.encryption ?? 0, 0) }, this.pack(body, mode)));
    return reply;
  }

  /** Waits for the response with this seq (after a sendRaw of a hand-made frame). */
  awaitResponse(seq: number, command: number, timeoutMs = this.timeoutMs): Promise<Tcp12Frame> {
    return new Promise<Tcp12Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no answer to command ${command} (seq ${seq}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
    });
  }

  /** A request whose answer must be OK: resolves with the decoded body, throws Tcp12StatusError otherwise. */
  async request<R>(command: number, requestType: MessageType<unknown>, body: object, responseType: MessageType<R>, mode?: Tcp12Mode): Promise<R> {
    const frame = await this.requestRaw(command, requestType.encode(body).finish(), mode);
    return this.decodeAnswer(frame, command, responseType);
  }

  /** The answer's body, or Tcp12StatusError with its ErrorInfo when the status is not OK. */
  decodeAnswer<R>(frame: Tcp12Frame, command: number, responseType: MessageType<R>): R {
    if (frame.command !== command) this.decodeErrors.push(`command ${command} answered by ${frame.command}`);
    if (frame.status !== Status.OK) throw new Tcp12StatusError(frame.status, errorText(frame.body));
    try {
      return responseType.decode(frame.body);
    } catch (err) {
      this.decodeErrors.push(`answer to ${command}: ${(err as Error).message}`);
      throw err;
    }
  }

  async login(credentials: { token?: string; account?: string; password?: string; platform?: string }, mode?: Tcp12Mode): Promise<IM.Tcp12.LoginResponse> {
    const rsp = await this.request(IMCommand.LOGIN, T.LoginRequest, { platform: 'pc', ...credentials }, T.LoginResponse, mode);
    this.userId = rsp.userId;
    this.maxSeq = Number(rsp.maxSeq);
    return rsp;
  }

  ping(mode?: Tcp12Mode): Promise<IM.Tcp12.Ping> {
    return this.request(IMCommand.PING, T.Ping, { time: Date.now() }, T.Ping, mode);
  }

  /** MS with a Message as given. */
  sendMessage(message: IM.Tcp12.IMessage, mode?: Tcp12Mode): Promise<IM.Tcp12.SendResponse> {
    return this.request(IMCommand.MS, T.Message, message, T.SendResponse, mode);
  }

  /** A TEXT to a user (by account name), a group (`{ group: id }`) or a chat room (`{ room: id }`). */
  sendText(to: string | { group: number } | { room: number }, text: string, messageId = 0, mode?: Tcp12Mode): Promise<IM.Tcp12.SendResponse> {
    return this.sendMessage({ messageId, conversation: conversationOf(to), messageContent: { contentType: T.MessageContentType.TEXT, searchableContent: text } }, mode);
  }

  pull(minSeq: number, maxSeq = 0, limit = 0, mode?: Tcp12Mode): Promise<IM.Tcp12.PullResponse> {
    return this.request(IMCommand.MP, T.PullRequest, { minSeq, maxSeq, limit }, T.PullResponse, mode);
  }

  /** MR: resolves when the server answers OK (throws Tcp12StatusError otherwise). */
  async recall(messageUid: string, mode?: Tcp12Mode): Promise<void> {
    const frame = await this.requestRaw(IMCommand.MR, T.RecallRequest.encode({ messageUid }).finish(), mode);
    if (frame.status !== Status.OK) throw new Tcp12StatusError(frame.status, errorText(frame.body));
  }

  /** RJ: joins a chat room (room id in decimal). */
  joinRoom(roomId: number | string, mode?: Tcp12Mode): Promise<IM.Tcp12.RoomResponse> {
    return this.request(T.RoomCommand.RJ, T.RoomRequest, { roomId: String(roomId) }, T.RoomResponse, mode);
  }

  /** RL: leaves a chat room; resolves on an OK answer. */
  async leaveRoom(roomId: number | string, mode?: Tcp12Mode): Promise<void> {
    const frame = await this.requestRaw(T.RoomCommand.RL, T.RoomRequest.encode({ roomId: String(roomId) }).finish(), mode);
    if (frame.status !== Status.OK) throw new Tcp12StatusError(frame.status, errorText(frame.body));
  }

  /** RH: a room's kept history, newest first. */
  roomHistory(roomId: number | string, beforeMsgId = 0, limit = 0, mode?: Tcp12Mode): Promise<IM.Tcp12.RoomHistoryResponse> {
    return this.request(T.RoomCommand.RH, T.RoomHistoryRequest, { roomId: String(roomId), beforeMsgId, limit }, T.RoomHistoryResponse, mode);
  }

  /** LOGOUT: the server closes the connection (the seed gives it no answer). */
  logout(): void {
    this.socket.write(encodeTcp12Frame({ seq: this.nextSeq(), command: IMCommand.LOGOUT }, Buffer.alloc(0)));
  }

  /** The first notice of `command` (MPS, MN, LOGOUT) matching `predicate` not claimed before: one received, or the next. */
  waitForNotice<M = unknown>(command: number, predicate: (m: M) => boolean = () => true, timeoutMs = this.timeoutMs): Promise<M> {
    const i = this.unclaimed.findIndex((n) => n.command === command && predicate(n.message as M));
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0].message as M);
    if (this.closed) return Promise.reject(new Error(`connection closed while waiting for command ${command}`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        command,
        predicate: predicate as (m: any) => boolean,
        resolve: resolve as (m: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`no notice ${command} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  waitForMessage(predicate: (m: IM.Tcp12.DeliveredMessage) => boolean = () => true, timeoutMs?: number): Promise<IM.Tcp12.DeliveredMessage> {
    return this.waitForNotice<IM.Tcp12.DeliveredMessage>(IMCommand.MPS, predicate, timeoutMs);
  }

  waitForClose(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  private nextSeq(): number {
    for (;;) {
      this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
      if (!this.pending.has(this.seq)) return this.seq;
    }
  }

  private onData(chunk: Buffer): void {
    let data = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (data.length >= TCP12_HEADER) {
      const len = data.readUInt32BE(0);
      if (data.length < TCP12_HEADER + len) break;
      this.onFrame(data.subarray(0, TCP12_HEADER + len));
      data = data.subarray(TCP12_HEADER + len);
    }
    this.buffered = Buffer.from(data);
  }

  private onFrame(bytes: Buffer): void {
    const flag = bytes[10];
    const frame: Tcp12Frame = {
      version: bytes[4],
      seq: bytes.readUInt32BE(5),
      command: bytes[9],
      flag,
      status: bytes[11],
      body: Buffer.alloc(0),
      compression: (flag >> 4) & 3,
      encryption: (flag >> 2) & 3,
      flow: flag & 3,
    };
    try {
      if (flag >> 6) throw new Error('reserved bits set');
      let body: Buffer = Buffer.from(bytes.subarray(TCP12_HEADER));
      if (frame.encryption === 1) {
        if (!this.key) throw new Error('an AES frame, and no key');
        body = aesDecrypt(this.key, body);
      } else if (frame.encryption !== 0) throw new Error(`encryption ${frame.encryption}`);
      if (frame.compression === 1) body = gunzipSync(body);
      else if (frame.compression !== 0) throw new Error(`compression ${frame.compression}`);
      frame.body = body;
    } catch (err) {
      this.decodeErrors.push(`frame ${frame.command}/${frame.seq}: ${(err as Error).message}`);
      return;
    }
    this.received.push(frame);
    this.emit('frame', frame);
    if (frame.flow === 1) {
      const p = this.pending.get(frame.seq);
      if (!p) return void this.decodeErrors.push(`answer ${frame.command} with seq ${frame.seq} answers no request`);
      this.pending.delete(frame.seq);
      clearTimeout(p.timer);
      p.resolve(frame);
      return;
    }
    if (frame.flow !== 2) return void this.decodeErrors.push(`flow ${frame.flow} from the server`);
    let message: unknown;
    try {
      if (frame.command === IMCommand.MPS) message = T.DeliveredMessage.decode(frame.body);
      else if (frame.command === IMCommand.MN) message = T.Notice.decode(frame.body);
      else if (frame.command === IMCommand.LOGOUT) message = { status: frame.status, message: errorText(frame.body) };
      else return void this.decodeErrors.push(`unexpected notice command ${frame.command}`);
    } catch (err) {
      return void this.decodeErrors.push(`notice ${frame.command}: ${(err as Error).message}`);
    }
    for (const w of this.waiters) {
      if (w.command === frame.command && w.predicate(message)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(message);
        return;
      }
    }
    this.unclaimed.push({ command: frame.command, status: frame.status, message });
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('connection closed'));
      this.pending.delete(seq);
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection closed while waiting for notice ${w.command}`));
    }
    this.waiters.clear();
    this.emit('close');
  }
}

/** A Conversation of the seed: a user by account name, `{ group: id }` or `{ room: id }`. */
export function conversationOf(to: string | { group: number } | { room: number }): IM.Tcp12.IConversation {
  if (typeof to === 'string') return { type: T.ConversationType.SIGNAL, target: to };
  return 'group' in to ? { type: T.ConversationType.GROUP, target: String(to.group) } : { type: T.ConversationType.CHATINGROOM, target: String(to.room) };
}

function errorText(body: Uint8Array): string {
  try {
    return T.ErrorInfo.decode(body).message;
  } catch {
    return '';
  }
}
