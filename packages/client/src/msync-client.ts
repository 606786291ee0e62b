// A small MSync (seed 002) client for protocol-level tests: the same
// envelope over a WebSocket (one message per binary frame) or over TCP
// (each message after a 4-byte big-endian length). 64-bit ids (server ids,
// meta ids) are read and written exactly, as bigint.
import * as net from 'node:net';
import { connectStream, type ClientTls, type WebSocketTls } from './stream';
import type WebSocket from 'ws';
import { IM } from '@tt/proto';
import { openWebSocket } from './ws-client';

const { Command } = IM.MSync.MSync;

/** A varint field (tag + value) for a 64-bit unsigned value. */
export function msyncUint64Field(fieldNumber: number, value: bigint): Buffer {
  const out: number[] = [];
  let tag = (fieldNumber << 3) | 0;
  while (tag >= 0x80) {
    out.push((tag & 0x7f) | 0x80);
    tag >>>= 7;
  }
  out.push(tag);
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** The last value of a top-level varint field, exactly; or the bytes of a length-delimited one (all: every occurrence). */
export function msyncField(buf: Uint8Array, fieldNumber: number): { varint?: bigint; bytes?: Uint8Array; all?: Uint8Array[] } {
  let at = 0;
  const found: { varint?: bigint; bytes?: Uint8Array; all?: Uint8Array[] } = {};
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new Error('truncated varint');
      const b = buf[at++];
      r |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return r;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    const field = tag >>> 3;
    if (wire === 0) {
      const v = varint();
      if (field === fieldNumber) found.varint = v;
    } else if (wire === 2) {
      const len = Number(varint());
      if (field === fieldNumber) {
        found.bytes = buf.subarray(at, at + len);
        (found.all ??= []).push(found.bytes);
      }
      at += len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`wire type ${wire}`);
  }
  return found;
}

/** A meta as received: decoded, with its exact id and its body when it is a chat message. */
export interface ReceivedMeta {
  id: bigint;
  meta: IM.MSync.Meta;
  body?: IM.MSync.MessageBody;
  /** The body's ack_message_id, exactly (recalls). */
  ackMessageId?: bigint;
}

/** A SYNC answer: decoded, with exact 64-bit ids. */
export interface SyncAnswer {
  dl: IM.MSync.CommSyncDL;
  metaId: bigint;
  serverId: bigint;
  metas: ReceivedMeta[];
}

export function decodeSyncAnswer(payload: Uint8Array): SyncAnswer {
  const dl = IM.MSync.CommSyncDL.decode(payload);
  const metas: ReceivedMeta[] = [];
  // Every field-4 entry as bytes, to read each meta's id exactly.
  const metaBytes = msyncField(payload, 4).all ?? [];
  for (const bytes of metaBytes) {
    const meta = IM.MSync.Meta.decode(bytes);
    const entry: ReceivedMeta = { id: msyncField(bytes, 1).varint ?? 0n, meta };
    if (meta.ns === IM.MSync.Meta.NameSpace.CHAT && meta.payload?.length) {
      entry.body = IM.MSync.MessageBody.decode(meta.payload);
      entry.ackMessageId = msyncField(meta.payload, 6).varint;
    }
    metas.push(entry);
  }
  return { dl, metaId: msyncField(payload, 2).varint ?? 0n, serverId: msyncField(payload, 3).varint ?? 0n, metas };
}

interface Waiter {
  command: number;
  accept: (m: IM.MSync.MSync) => boolean;
  resolve: (m: IM.MSync.MSync) => void;
  reject: (err: Error) => void;
}

export interface MsyncLogin {
  name: string;
  appKey?: string;
  resource: string;
  /** An access token (POST /auth/token or /{org}/{app}/token). */
  token?: string;
  password?: string;
}

/** An MSync connection for tests: send commands, wait for answers and notices. */
export class MsyncClient {
  readonly received: IM.MSync.MSync[] = [];
  /** How the server closed the connection (WebSocket close code; TCP: 0). */
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private onClosed!: (v: { code: number; reason: string }) => void;
  private pending = Buffer.alloc(0);
  private guid: IM.MSync.IJID = {};

  private constructor(
    private readonly transport: { ws?: WebSocket; tcp?: net.Socket },
  ) {
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
    if (transport.ws) {
      transport.ws.on('message', (data) => this.onFrame(Buffer.from(data as Buffer)));
      transport.ws.on('close', (code, reason) => this.finish(code, reason.toString()));
      transport.ws.on('error', () => undefined);
    } else {
      const socket = transport.tcp!;
      socket.on('data', (chunk: Buffer) => {
        this.pending = Buffer.concat([this.pending, chunk]);
        while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readUInt32BE(0)) {
          const len = this.pending.readUInt32BE(0);
          this.onFrame(this.pending.subarray(4, 4 + len));
          this.pending = this.pending.subarray(4 + len);
        }
      });
      socket.on('close', () => this.finish(0, ''));
      socket.on('error', () => undefined);
    }
  }

  /** ws:// or wss:// (then `tls` holds e.g. the CA to trust). */
  static async connectWs(url: string, tls: WebSocketTls = {}): Promise<MsyncClient> {
    return new MsyncClient({ ws: await openWebSocket(url, tls) });
  }

  /** Length-prefixed MSync over TCP, or over TLS when `tls` is given (MSG_SERVER_MSYNC_TCP_TLS_PORT). */
  static async connectTcp(host: string, port: number, tls?: ClientTls): Promise<MsyncClient> {
    return new MsyncClient({ tcp: await connectStream({ host, port }, tls) });
  }

  /** Raw bytes as one message (WebSocket: one binary frame; TCP: as given, no prefix added). */
  sendRaw(bytes: Uint8Array, opts: { text?: boolean } = {}): void {
    if (this.transport.ws) this.transport.ws.send(opts.text ? Buffer.from(bytes).toString('latin1') : bytes, { binary: !opts.text });
    else this.transport.tcp!.write(bytes);
  }

  /** One MSync message with this command and payload, framed for the transport. */
  send(command: number, payload: Uint8Array, header: Partial<IM.MSync.IMSync> = {}): void {
    const bytes = IM.MSync.MSync.encode({ version: IM.MSync.MSync.Version.MSYNC_V1, command, payload, ...header }).finish();
    if (this.transport.ws) this.transport.ws.send(bytes, { binary: true });
    else {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(bytes.length);
      this.transport.tcp!.write(Buffer.concat([prefix, bytes]));
    }
  }

  waitFor(command: number, accept: (m: IM.MSync.MSync) => boolean = () => true, timeoutMs = 5000): Promise<IM.MSync.MSync> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no MSync command ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        command,
        accept,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a command and waits for the next message of the same command. */
  async request(command: number, payload: Uint8Array, header: Partial<IM.MSync.IMSync> = {}): Promise<IM.MSync.MSync> {
    const answer = this.waitFor(command);
    this.send(command, payload, header);
    return answer;
  }

  async provision(login: MsyncLogin): Promise<IM.MSync.Provision> {
    this.guid = { appKey: login.appKey ?? 'ttorg#ttapp', name: login.name, domain: 'easemob.com', clientResource: login.resource };
    const payload = IM.MSync.Provision.encode({
      resource: login.resource,
      ...(login.token ? { authToken: JSON.stringify({ token: `$t$${login.token}` }) } : {}),
      ...(login.password ? { password: login.password } : {}),
    }).finish();
    const answer = await this.request(Command.PROVISION, payload, { guid: this.guid, ...(login.token ? { auth: `$t$${login.token}` } : {}) });
    return IM.MSync.Provision.decode(answer.payload);
  }

  async unread(): Promise<IM.MSync.CommUnreadDL> {
    return IM.MSync.CommUnreadDL.decode((await this.request(Command.UNREAD, new Uint8Array())).payload);
  }

  /** Sends a chat message (CHAT to a user, GROUPCHAT to a group id) with this meta id; resolves with the ack. */
  async sendText(to: string, text: string, opts: { metaId: bigint; group?: boolean }): Promise<SyncAnswer> {
    return this.sendBody(to, { type: opts.group ? IM.MSync.MessageBody.Type.GROUPCHAT : IM.MSync.MessageBody.Type.CHAT, contents: [{ type: IM.MSync.MessageBody.Content.Type.TEXT, text }] }, opts);
  }

  /** Recalls a message by its server id. */
  async recall(to: string, serverId: bigint, opts: { metaId: bigint; group?: boolean }): Promise<SyncAnswer> {
    const body = Buffer.concat([IM.MSync.MessageBody.encode({ type: IM.MSync.MessageBody.Type.RECALL, from: { name: this.guid.name }, to: { name: to }, contents: [{}] }).finish(), msyncUint64Field(6, serverId)]);
    return this.sendMeta(to, body, opts);
  }

  private sendBody(to: string, body: IM.MSync.IMessageBody, opts: { metaId: bigint; group?: boolean }): Promise<SyncAnswer> {
    return this.sendMeta(to, IM.MSync.MessageBody.encode({ from: { name: this.guid.name }, to: { name: to }, ...body }).finish(), opts);
  }

  private async sendMeta(to: string, payload: Uint8Array, opts: { metaId: bigint; group?: boolean }): Promise<SyncAnswer> {
    const meta = Buffer.concat([msyncUint64Field(1, opts.metaId), IM.MSync.Meta.encode({ to: { appKey: this.guid.appKey, name: to, domain: opts.group ? 'conference.easemob.com' : 'easemob.com' }, ns: IM.MSync.Meta.NameSpace.CHAT, payload }).finish()]);
    const ul = Buffer.concat([Buffer.from([0x0a]), varintBytes(meta.length), meta]);
    const answer = this.waitFor(Command.SYNC, (m) => decodeSyncAnswer(m.payload).metaId === opts.metaId);
    this.send(Command.SYNC, ul);
    return decodeSyncAnswer((await answer).payload);
  }

  /** Pulls the device's queue from key (0: from where the device is). */
  async pull(key = 0): Promise<SyncAnswer> {
    const answer = this.waitFor(Command.SYNC, (m) => decodeSyncAnswer(m.payload).metaId === 0n);
    this.send(Command.SYNC, IM.MSync.CommSyncUL.encode({ queue: { name: this.guid.name, domain: 'easemob.com' }, key }).finish());
    return decodeSyncAnswer((await answer).payload);
  }

  /** Pulls until is_last, confirming each answer: every meta the queue held. */
  async pullAll(): Promise<ReceivedMeta[]> {
    const out: ReceivedMeta[] = [];
    let key = 0;
    for (let i = 0; i < 100; i++) {
      const answer = await this.pull(key);
      out.push(...answer.metas);
      if (answer.dl.isLast) return out;
      key = Number(answer.dl.nextKey);
    }
    throw new Error('the queue never ended');
  }

  logout(): Promise<IM.MSync.MSync> {
    return this.request(Command.LOGOUT, IM.MSync.Logout.encode({ sessionId: 's', reason: 'test' }).finish());
  }

  close(): void {
    this.transport.ws?.terminate();
    this.transport.tcp?.destroy();
  }

  private onFrame(bytes: Buffer): void {
    let m: IM.MSync.MSync;
    try {
      m = IM.MSync.MSync.decode(bytes);
    } catch {
      return;
    }
    const command = m.command ?? 0;
    const i = this.waiters.findIndex((w) => w.command === command && w.accept(m));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(m);
      return;
    }
    this.received.push(m);
  }

  private finish(code: number, reason: string): void {
    this.onClosed({ code, reason });
    for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${code} ${reason})`));
  }
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
