// A client of msg_server's OMTP front (seed 004, docs/fronts/omtp.md): frames
// of a 4-byte big-endian length (counting itself) and a Tars OTIMPack.
// Made for tests and tools: it uses @tt/omtp's structs and payload transforms
// but frames the stream on its own (not with the server's code), keeps every
// packet it received, and collects what it could not read in `decodeErrors`.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { connectStream, portFromAnswer, type ClientTls } from './stream';
import {
  compressOf,
  cryptoOf,
  decodePack,
  decodeStruct,
  DeviceType,
  encodeStruct,
  Flags,
  framePack,
  hasFlag,
  hasReservedBits,
  LoginReq,
  LoginResp,
  MsgAck,
  MsgReq,
  OMTP_VERSION,
  PacketPayloads,
  PackType,
  packPayload,
  packTypeName,
  unpackPayload,
  withTransforms,
  type OTIMHeader,
  type StructSchema,
  type TarsInput,
} from '@tt/omtp';

export interface OmtpClientOptions {
  /** AES-256 key as 64 hex digits (the server's MSG_SERVER_OMTP_AES_KEY). */
  aesKeyHex?: string;
  /** Default deadline of requests and waits (ms, default 5000). */
  requestTimeoutMs?: number;
  /** Compression (0 none, 1 zlib) and encryption (0 none, 1 AES) of every request unless a call says otherwise. */
  compress?: number;
  crypto?: number;
  /** Acknowledge every push (ACK=1, same type and packId) as it arrives (default false). */
  autoAck?: boolean;
  /** Largest frame accepted from the server (default 64 MiB); a larger length closes the connection. */
  maxFrameBytes?: number;
  /** Connect over TLS with these options (MSG_SERVER_OMTP_TLS_PORT). */
  tls?: ClientTls;
}

/** A packet as received: its header, its payload unpacked (decrypted, inflated), and the payload as it came. */
export interface OmtpPacket {
  header: OTIMHeader;
  payload: Buffer;
  rawPayload: Buffer;
}

/** An answer (ACK=1) with its payload decoded by the answer's struct (undefined for types whose answer has no payload). */
export interface OmtpAnswer<A> extends OmtpPacket {
  body: A;
}

export interface OmtpRequestOptions<A> {
  /** Flags to send (DUP, HIGHPRJ, …). ACK is never set here. Compression/crypto bits in them are used when compress/crypto are not given. */
  flags?: number;
  /** Default: a fresh UUID. */
  packId?: string;
  /** The struct to decode the answer with; default: the type's answer struct from PacketPayloads. */
  answer?: StructSchema<A>;
  compress?: number;
  crypto?: number;
  version?: number;
  timeoutMs?: number;
}

export interface OmtpSendOptions extends Omit<OmtpRequestOptions<MsgAck>, 'answer'> {
  contentType?: number;
  pushInfo?: string;
  /** Sent as given; the server ignores it on send (it goes by `to`). */
  sessionId?: string;
}

interface Pending {
  resolve(p: OmtpPacket): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  predicate(p: OmtpPacket): boolean;
  resolve(p: OmtpPacket): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const LENGTH_BYTES = 4;

/**
 * An OMTP client. Requests carry a fresh packId and resolve with the answer
 * (ACK=1) of that packId. Other packets with ACK=0 are pushes: kept in
 * `pushes`, emitted as 'push', and handed to `waitFor`.
 */
export class OmtpClient extends EventEmitter {
  /** Every packet received, in order. */
  readonly received: OmtpPacket[] = [];
  /** Every push (ACK=0 from the server) received, in order. */
  readonly pushes: OmtpPacket[] = [];
  readonly decodeErrors: string[] = [];
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  isClosed = false;
  /** The account name once logged in (LoginResp.clientId). */
  userName = '';
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<string, Pending>();
  /** Pushes no waitFor has taken yet. */
  private readonly unclaimed: OmtpPacket[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly key?: Buffer;
  private readonly timeoutMs: number;
  private readonly maxFrameBytes: number;
  private resolveClosed!: () => void;

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: OmtpClientOptions,
  ) {
    super();
    this.key = options.aesKeyHex ? Buffer.from(options.aesKeyHex, 'hex') : undefined;
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.emit('socketError', err));
    socket.on('close', () => this.onClose());
  }

  static async connect(host: string, port: number, options: OmtpClientOptions = {}): Promise<OmtpClient> {
    return new OmtpClient(await connectStream({ host, port }, options.tls), options);
  }

  /** Asks login_server (GET /msg_server?protocol=omtp) where the front is, then connects. */
  static async connectVia(loginUrl: string, options: OmtpClientOptions = {}): Promise<OmtpClient> {
    const res = await fetch(`${loginUrl.replace(/\/+$/, '')}/msg_server?protocol=omtp`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { code: number; msg?: string; priorIP?: string; port?: string; tlsPort?: string; tls?: boolean };
    if (body.code !== 0 || !body.priorIP || !body.port) throw new Error(`GET /msg_server?protocol=omtp: ${JSON.stringify(body)}`);
    return OmtpClient.connect(body.priorIP, portFromAnswer(body, !!options.tls, 'omtp'), options);
  }

  /** Writes bytes as they are (tests of bad input). */
  raw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Writes one packet: header and payload exactly as given (no transforms applied). */
  sendPacket(header: TarsInput<OTIMHeader>, payload: Uint8Array = Buffer.alloc(0)): void {
    this.socket.write(framePack({ version: OMTP_VERSION, ...header }, payload));
  }

  /** Sends a packet as given and waits for the answer with its packId (the payload unpacked, not decoded). */
  requestPacket(header: TarsInput<OTIMHeader> & { packId: string }, payload: Uint8Array = Buffer.alloc(0), timeoutMs = this.timeoutMs): Promise<OmtpPacket> {
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    const answer = this.awaitAnswer(header.packId, timeoutMs, header.type ?? 0);
    this.sendPacket(header, payload);
    return answer;
  }

  /** Waits for the answer (ACK=1) with this packId, e.g. after a `raw` write. */
  awaitAnswer(packId: string, timeoutMs = this.timeoutMs, type = 0): Promise<OmtpPacket> {
    return new Promise<OmtpPacket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(packId);
        reject(new Error(`no answer to ${packTypeName(type)} (packId ${packId}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(packId, { resolve, reject, timer });
    });
  }

  /**
   * Encodes `value` with `payloadStruct` (none: an empty payload), packs it
   * (compression, then encryption) and resolves with the answer of the same
   * packId, its payload decoded with the answer struct. Rejects on timeout,
   * close, or an answer that does not decode (TarsDecodeError).
   */
  async request<A = undefined, R = unknown>(type: number, payloadStruct?: StructSchema<R>, value?: TarsInput<R>, options: OmtpRequestOptions<A> = {}): Promise<OmtpAnswer<A>> {
    const base = options.flags ?? 0;
    const compress = options.compress ?? (compressOf(base) || (this.options.compress ?? 0));
    const crypto = options.crypto ?? (cryptoOf(base) || (this.options.crypto ?? 0));
    // Reserved bits (tests of the server's 400) are sent as they are.
    const flags = hasReservedBits(base) ? base : withTransforms(base & ~Flags.ACK, compress, crypto);
    const plain = payloadStruct ? encodeStruct(payloadStruct, value ?? {}) : Buffer.alloc(0);
    const packId = options.packId ?? randomUUID();
    const packet = await this.requestPacket({ type, version: options.version ?? OMTP_VERSION, flags, packId }, packPayload(plain, { compress, crypto, key: this.key }), options.timeoutMs);
    const answerStruct = options.answer ?? (PacketPayloads as Record<number, { answer?: StructSchema<unknown> }>)[type]?.answer;
    const body = answerStruct ? decodeStruct(answerStruct, packet.payload) : undefined;
    return { ...packet, body: body as A };
  }

  /** PT_LOGIN; resolves with the LoginResp whatever its code (userName is set when it is 0). */
  async login(userName: string, password: string, deviceType: number = DeviceType.DEVICE_LINUX, extra: Partial<LoginReq> & Pick<OmtpRequestOptions<LoginResp>, 'compress' | 'crypto'> = {}): Promise<LoginResp> {
    const { compress, crypto, ...fields } = extra;
    const answer = await this.request(PackType.PT_LOGIN, LoginReq, { clientId: '', deviceId: `omtp-client-${randomUUID()}`, ...fields, userName, password, deviceType }, { answer: LoginResp, compress, crypto });
    if (answer.body.code === 0) this.userName = answer.body.clientId || userName;
    return answer.body;
  }

  /** PT_PING: resolves with the (empty) answer. */
  ping(): Promise<OmtpAnswer<undefined>> {
    return this.request(PackType.PT_PING);
  }

  /** PT_LOGOUT: the server answers, then closes. */
  logout(): Promise<OmtpAnswer<undefined>> {
    return this.request(PackType.PT_LOGOUT);
  }

  /** A PT_MSG_SINGLE_CHAT to an account name; resolves with its MsgAck (whatever its code). */
  async sendSingle(to: string, content: string, options: OmtpSendOptions = {}): Promise<MsgAck> {
    return (await this.sendMessage(PackType.PT_MSG_SINGLE_CHAT, to, content, options)).body;
  }

  /** A PT_MSG_GROUP_CHAT to a group (numeric id); resolves with its MsgAck. */
  async sendGroup(groupId: number | string, content: string, options: OmtpSendOptions = {}): Promise<MsgAck> {
    return (await this.sendMessage(PackType.PT_MSG_GROUP_CHAT, String(groupId), content, options)).body;
  }

  /** A message with its whole answer (header: flags, packId). contentType defaults to 1 (text). */
  sendMessage(type: number, to: string, content: string, options: OmtpSendOptions = {}): Promise<OmtpAnswer<MsgAck>> {
    const { contentType = 1, pushInfo = '', sessionId = '', ...requestOptions } = options;
    const msg: TarsInput<MsgReq> = { sessionId, from: this.userName, to, pushInfo, contentType, content };
    return this.request(type, MsgReq, msg, { ...requestOptions, answer: MsgAck });
  }

  /**
   * The first push matching `predicate` that no earlier waitFor took: one
   * already received, or the next to arrive.
   */
  waitFor(predicate: (p: OmtpPacket) => boolean = () => true, timeoutMs = this.timeoutMs): Promise<OmtpPacket> {
    const i = this.unclaimed.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0]);
    if (this.isClosed) return Promise.reject(new Error('connection closed while waiting for a push'));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`no matching push within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** The next push of `type` whose payload decodes with `struct` and matches `predicate`, decoded. */
  async waitForPush<T>(type: number, struct: StructSchema<T>, predicate: (body: T, p: OmtpPacket) => boolean = () => true, timeoutMs = this.timeoutMs): Promise<{ packet: OmtpPacket; body: T }> {
    const packet = await this.waitFor((p) => {
      if (p.header.type !== type) return false;
      try {
        return predicate(decodeStruct(struct, p.payload), p);
      } catch {
        return false;
      }
    }, timeoutMs);
    return { packet, body: decodeStruct(struct, packet.payload) };
  }

  /** Acknowledges a push: ACK=1, same type, version and packId; a message (14/15/16) with a MsgAck, anything else empty. */
  ack(push: OmtpPacket): void {
    const { type, version, packId } = push.header;
    let payload: Buffer = Buffer.alloc(0);
    if (type === PackType.PT_MSG_SINGLE_CHAT || type === PackType.PT_MSG_GROUP_CHAT || type === PackType.PT_MSG_BIZ_NOTIFY) {
      try {
        const m = decodeStruct(MsgReq, push.payload);
        payload = encodeStruct(MsgAck, { code: 0, sessionId: m.sessionId, seqId: m.seqId, timestamp: m.timestamp });
      } catch {
        payload = encodeStruct(MsgAck, { code: 400 });
      }
    }
    const compress = this.options.compress ?? 0;
    const crypto = this.options.crypto ?? 0;
    this.sendPacket({ type, version, packId, flags: withTransforms(Flags.ACK, compress, crypto) }, packPayload(payload, { compress, crypto, key: this.key }));
  }

  waitForClose(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let data = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (data.length >= LENGTH_BYTES) {
      const length = data.readUInt32BE(0);
      if (length <= LENGTH_BYTES || length > this.maxFrameBytes) {
        this.decodeErrors.push(`frame length ${length}: closing`);
        this.buffered = Buffer.alloc(0);
        this.socket.destroy();
        return;
      }
      if (data.length < length) break;
      this.onFrame(data.subarray(LENGTH_BYTES, length));
      data = data.subarray(length);
    }
    this.buffered = Buffer.from(data);
  }

  private onFrame(bytes: Buffer): void {
    let packet: OmtpPacket;
    try {
      const pack = decodePack(bytes);
      packet = { header: pack.header, rawPayload: pack.payload, payload: pack.payload };
    } catch (err) {
      this.decodeErrors.push(`frame of ${bytes.length} bytes: ${(err as Error).message}`);
      return;
    }
    try {
      packet.payload = unpackPayload(packet.rawPayload, packet.header.flags, { key: this.key, maxBytes: this.maxFrameBytes });
    } catch (err) {
      this.decodeErrors.push(`${packTypeName(packet.header.type)} ${packet.header.packId}: ${(err as Error).message}`);
      return;
    }
    this.received.push(packet);
    this.emit('packet', packet);
    if (hasReservedBits(packet.header.flags)) this.decodeErrors.push(`${packTypeName(packet.header.type)} ${packet.header.packId}: reserved flag bits ${packet.header.flags}`);
    if (hasFlag(packet.header.flags, Flags.ACK)) return this.onAnswer(packet);
    this.pushes.push(packet);
    this.emit('push', packet);
    if (this.options.autoAck) this.ack(packet);
    for (const w of this.waiters) {
      if (w.predicate(packet)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(packet);
        return;
      }
    }
    this.unclaimed.push(packet);
  }

  private onAnswer(packet: OmtpPacket): void {
    const p = this.pending.get(packet.header.packId);
    if (!p) return void this.decodeErrors.push(`answer ${packTypeName(packet.header.type)} with packId ${packet.header.packId} answers no request`);
    this.pending.delete(packet.header.packId);
    clearTimeout(p.timer);
    p.resolve(packet);
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [packId, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('connection closed'));
      this.pending.delete(packId);
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('connection closed while waiting for a push'));
    }
    this.waiters.clear();
    this.resolveClosed();
    this.emit('close');
  }
}
