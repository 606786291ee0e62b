import type * as net from 'node:net';
import { encodePdu, FrameDecoder, FrameError, writeThisTick, type Pdu } from '@tt/codec';

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
    writeThisTick(this.socket, pdu);
    this.lastSentAt = Date.now();
  }

  send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    this.write(encodePdu(commandId >> 8, commandId, seqNum, type.encode(message).finish()));
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
