import type * as net from 'node:net';
import { FrameDecoder, FrameError, writeThisTick, type Pdu } from '@tt/codec';

/** Something that encodes a protobuf message (the generated classes). */
export interface EncodableType {
  encode(message: any): { finish(): Uint8Array };
}

/** What a connection frames its output with: the protocol (a server's front, file_server's TeamTalk framing). */
export interface Framer {
  /** One complete frame of this protocol: a response (seqNum = the request's) or a push (seqNum 0). */
  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer;
}

/** Identity of a logged-in connection. */
export interface ConnectionIdentity {
  userId: number;
  clientType: number;
  status: number;
  /** Account name, when the front knows it (string-id protocols). */
  name?: string;
}

/** One request as a connection decoded it: the same shape for every protocol. */
export interface FrontRequest {
  commandId: number;
  seqNum: number;
  body: Uint8Array;
}

/** What a connection reports to its listener; C is the listener's connection type. */
export interface ConnectionEvents<C = ClientConnection> {
  onRequest(conn: C, request: FrontRequest): void;
  onFrameError(conn: C, err: Error): void;
  onClose(conn: C): void;
}

export interface ConnectionOptions {
  /** Unsent output past which a client that does not read is cut off. */
  maxPendingWriteBytes: number;
}

/**
 * One client connection of any protocol: identity, timing, and the output cap
 * every listener shares. Subclasses only move bytes (TCP framing, WebSocket);
 * what goes out is framed by the connection's front (F).
 */
export abstract class ClientConnection<F extends Framer = Framer> {
  identity?: ConnectionIdentity;
  loginInProgress = false;
  readonly connectedAt = Date.now();
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  closed = false;
  /** Cleared by stopReading(): further input is ignored (drain). */
  protected reading = true;
  private readonly maxPendingWriteBytes: number;

  constructor(
    readonly id: number,
    readonly front: F,
    protected readonly events: ConnectionEvents<ClientConnection<F>>,
    opts: ConnectionOptions,
  ) {
    this.maxPendingWriteBytes = opts.maxPendingWriteBytes;
  }

  abstract get remoteAddress(): string;
  /** Bytes written but not yet sent. */
  protected abstract get pendingBytes(): number;
  protected abstract writeFrame(frame: Buffer): void;
  /** Sends what is buffered, then closes (with a protocol-level reason where the protocol has one). */
  protected abstract endGracefully(): void;
  abstract destroy(): void;
  protected abstract pauseInput(): void;

  get userId(): number {
    return this.identity?.userId ?? 0;
  }

  /** Writes a complete frame of this connection's protocol. A client that stops reading is cut off rather than buffered forever. */
  write(frame: Buffer): void {
    if (this.closed) return;
    if (this.pendingBytes > this.maxPendingWriteBytes) {
      this.close();
      return;
    }
    this.writeFrame(frame);
    this.lastSentAt = Date.now();
  }

  /** Encodes and sends one message of this connection's protocol. */
  send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    this.write(this.front.frame(commandId, seqNum, type.encode(message).finish()));
  }

  /** Sends what is buffered, then closes. */
  close(): void {
    if (this.closed) return;
    this.endGracefully();
  }

  /** Takes no more requests from this client; what it sent before still runs. */
  stopReading(): void {
    this.reading = false;
    this.pauseInput();
  }

  /** Called by subclasses for every byte of input (idle tracking). */
  protected received(): boolean {
    if (!this.reading) return false;
    this.lastReceivedAt = Date.now();
    return true;
  }

  protected markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.onClose(this);
  }
}

export interface TcpConnectionOptions extends ConnectionOptions {
  /** A frame announcing more is broken: the connection is reported (onFrameError) and destroyed. */
  maxFrameBytes: number;
}

/**
 * A client on a TCP socket, whatever its framing: the socket's plumbing
 * (events, output, graceful end, back-pressure) in one place. Subclasses cut
 * the input into frames (`onBytes`, called only while the connection reads)
 * and may pack output differently (`writeFrame`).
 */
export abstract class SocketConnection<F extends Framer = Framer> extends ClientConnection<F> {
  constructor(id: number, front: F, protected readonly socket: net.Socket, events: ConnectionEvents<ClientConnection<F>>, opts: ConnectionOptions) {
    super(id, front, events, opts);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.received()) this.onBytes(chunk);
    });
    socket.on('error', () => {
      /* 'close' follows; nothing to add */
    });
    socket.on('close', () => this.markClosed());
  }

  /** Input bytes, in order; a stream that cannot be followed should call `brokenStream`. */
  protected abstract onBytes(chunk: Buffer): void;

  /** The input cannot be framed any further: reported (onFrameError) and the socket destroyed. */
  protected brokenStream(err: Error): void {
    this.events.onFrameError(this, err);
    this.socket.destroy();
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  protected get pendingBytes(): number {
    return this.socket.writableLength;
  }

  protected writeFrame(frame: Buffer): void {
    writeThisTick(this.socket, frame);
  }

  protected endGracefully(): void {
    this.socket.end();
    // A peer that never reads must not keep the socket half-open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  protected pauseInput(): void {
    this.socket.pause();
  }
}

/** A TeamTalk client over TCP: 16-byte-header PDUs both ways. */
export class TcpConnection<F extends Framer = Framer> extends SocketConnection<F> {
  private readonly decoder: FrameDecoder;

  constructor(id: number, front: F, socket: net.Socket, opts: TcpConnectionOptions, events: ConnectionEvents<ClientConnection<F>>) {
    super(id, front, socket, events, opts);
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
  }

  protected onBytes(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (pdu: Pdu) => this.events.onRequest(this, pdu));
    } catch (err) {
      if (err instanceof FrameError) return this.brokenStream(err);
      throw err;
    }
  }
}
