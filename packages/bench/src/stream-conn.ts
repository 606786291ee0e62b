// What the lean connections to msg_server's TCP fronts with account-name ids
// (tcp12, MSync, OMTP) share: the socket and its counters, heartbeats, the
// wait for a log-in answer, closing, the one Delivery object refilled for
// every push, and cutting length-prefixed frames. Each protocol's file keeps
// only its own frames and log-in.
import * as net from 'node:net';
import { spreadHeartbeat, stopReadingSocket, type ChatConnection, type ClientProtocol, type ConnStats, type Delivery } from './conn';
import type { Directory } from './ws-conn';

export const EMPTY = new Uint8Array(0);

export interface StreamConnOptions {
  host: string;
  port: number;
  localAddress?: string;
  /** The protocol's heartbeat this often; 0 = never. */
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  stats: ConnStats;
  /** Account names <-> user ids of the run's users (deliveries name users by account name). */
  directory: Directory;
}

/** A TCP connection to host:port (from localAddress when given). */
export function connectSocket(opts: StreamConnOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

export abstract class StreamBenchConnection<O extends StreamConnOptions = StreamConnOptions> implements ChatConnection {
  abstract readonly protocol: ClientProtocol;
  userId = 0;
  userName = '';
  closed = false;
  onDeliver?: (msg: Delivery, at: number) => void;
  onMsgAck?: (seqNum: number, msgId: number, at: number) => void;
  onMsgReject?: (seqNum: number, errorCode: number, at: number) => void;
  onClosed?: () => void;
  /** Refilled for every push; valid only during the onDeliver call. */
  protected readonly delivery: Delivery = { fromUserId: 0, toSessionId: 0, msgId: 0, msgType: 0, msgData: EMPTY };
  private buffered: Buffer = Buffer.alloc(0);
  private readonly stopHeartbeat: () => void;
  private closingByUs = false;

  protected constructor(
    protected readonly socket: net.Socket,
    protected readonly opts: O,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      opts.stats.socketErrors += 1;
    });
    socket.on('close', () => this.onClose());
    this.stopHeartbeat = spreadHeartbeat(opts.heartbeatMs, () => this.heartbeat());
  }

  /** Sends a message to a user or group (TeamTalk ids) without waiting; returns the sequence number its answer is matched by. */
  abstract sendMsg(toSessionId: number, msgType: number, data: Uint8Array): number;

  close(): void {
    if (this.closed) return;
    this.closingByUs = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  detachSocket(): net.Socket {
    this.stopHeartbeat();
    return stopReadingSocket(this.socket);
  }

  protected abstract onData(chunk: Buffer): void;
  protected abstract heartbeat(): void;

  /** Writes one whole frame, counted. */
  protected writeFrame(frame: Uint8Array): void {
    if (this.closed) return;
    this.opts.stats.pdusOut += 1;
    this.opts.stats.bytesOut += frame.length;
    this.socket.write(frame);
  }

  /**
   * A promise `arm` settles by calling its resolve (e.g. from the frame
   * handler), rejected (and counted) when that has not happened within the
   * request timeout. `what` names the answer in the error.
   */
  protected answerWithin<T>(what: string, arm: (resolve: (value: T) => void) => void): Promise<T> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opts.stats.requestTimeouts += 1;
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      arm((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  /**
   * Cuts a stream of frames that start with `headerBytes` bytes, the first 4
   * the body's length (big-endian, the header not counted), and calls
   * onFrame with each whole one (the data, where the frame starts, the body's length).
   */
  protected cutFrames(chunk: Buffer, headerBytes: number, onFrame: (data: Buffer, at: number, bodyLength: number) => void): void {
    let data = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= headerBytes) {
      const len = data.readUInt32BE(at);
      if (data.length - at < headerBytes + len) break;
      onFrame(data, at, len);
      at += headerBytes + len;
    }
    data = data.subarray(at);
    this.buffered = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
  }

  /** Gives a refilled delivery to onDeliver, then lets go of its content. */
  protected deliver(at: number): void {
    this.onDeliver?.(this.delivery, at);
    this.delivery.msgData = EMPTY;
  }

  /** The user id of an account name of the run; -1 (counted as unknown) otherwise. */
  protected idOf(name: string): number {
    const id = this.opts.directory.ids.get(name) ?? -1;
    if (id === -1) this.opts.stats.wsUnknownNames += 1;
    return id;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.closingByUs) this.opts.stats.closedByServer += 1;
    this.stopHeartbeat();
    this.onClosed?.();
  }
}
