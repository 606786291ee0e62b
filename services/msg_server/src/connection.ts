import type * as net from 'node:net';
import { encodePdu, FrameDecoder, FrameError, type Pdu } from '@tt/codec';

export interface EncodableType {
  encode(message: any): { finish(): Uint8Array };
}

/** Identity of a logged-in connection. */
export interface ConnectionIdentity {
  userId: number;
  clientType: number;
  status: number;
}

const MAX_PENDING_WRITE_BYTES = 8 * 1024 * 1024;

/** Connections written to in this tick; one nextTick sends all their writes. */
let corkedThisTick: ClientConnection[] = [];
function uncorkAll(): void {
  const list = corkedThisTick;
  corkedThisTick = [];
  for (const conn of list) conn.flushWrites();
}

/**
 * One client TCP connection: framing in, PDUs out, and the little state a
 * TeamTalk connection has. It knows nothing about commands.
 */
export class ClientConnection {
  identity?: ConnectionIdentity;
  loginInProgress = false;
  readonly connectedAt = Date.now();
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  closed = false;
  private corked = false;
  /** Set by stopReading(): further input is ignored (drain). */
  private reading = true;
  private readonly decoder: FrameDecoder;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    maxFrameBytes: number,
    private readonly events: {
      onPdu(conn: ClientConnection, pdu: Pdu): void;
      onFrameError(conn: ClientConnection, err: FrameError): void;
      onClose(conn: ClientConnection): void;
    },
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      /* 'close' follows; nothing to add */
    });
    socket.on('close', () => {
      this.closed = true;
      events.onClose(this);
    });
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get userId(): number {
    return this.identity?.userId ?? 0;
  }

  /** Writes a complete PDU. A client that stops reading is cut off rather than buffered forever. */
  write(pdu: Buffer): void {
    if (this.closed) return;
    if (this.socket.writableLength > MAX_PENDING_WRITE_BYTES) {
      this.close();
      return;
    }
    // Writes of one tick leave in one writev (a fan-out often sends a client
    // several PDUs at once): one system call instead of one per PDU.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      corkedThisTick.push(this);
      if (corkedThisTick.length === 1) process.nextTick(uncorkAll);
    }
    this.socket.write(pdu);
    this.lastSentAt = Date.now();
  }

  send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    this.write(encodePdu(commandId >> 8, commandId, seqNum, type.encode(message).finish()));
  }

  /** @internal Sends what this tick's writes corked. */
  flushWrites(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** Sends what is buffered, then closes. */
  close(): void {
    if (this.closed) return;
    this.socket.end();
    // A peer that never reads must not keep the socket half-open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Takes no more requests from this client; what it sent before still runs. */
  stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  private onData(chunk: Buffer): void {
    if (!this.reading) return;
    this.lastReceivedAt = Date.now();
    try {
      this.decoder.push(chunk, (pdu) => this.events.onPdu(this, pdu));
    } catch (err) {
      if (err instanceof FrameError) {
        this.events.onFrameError(this, err);
        this.socket.destroy();
        return;
      }
      throw err;
    }
  }
}
