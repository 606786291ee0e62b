import type * as net from 'node:net';
import type { WebSocket } from 'ws';
import { flushThisTick, heldThisTick, writeThisTick } from '@tt/codec';
import { ClientConnection, type ConnectionLimits } from '@tt/connection';
import type { ConnectionEvents } from '../connection';
import type { Front } from './front';

/** WebSocket close codes (RFC 6455). */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
export const WS_CLOSE_INVALID_PAYLOAD = 1007;
export const WS_CLOSE_POLICY = 1008;

/** The header of an unmasked, final, binary WebSocket frame (RFC 6455 5.2) carrying `length` bytes. */
export function binaryFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x82;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x82;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/**
 * A client on a WebSocket (`ws`), whatever its messages: the socket's plumbing
 * in one place for every WebSocket front. Input framing, limits (maxPayload),
 * ping/pong and the closing handshake are `ws`'s. Output frames (binary, no
 * compression: the servers turn permessage-deflate off) are written here,
 * straight to the TCP socket with writeThisTick, so the frames of one tick
 * leave as one buffer, as TCP fronts' do, and a client that does not read
 * holds a few large buffers, not two small ones per message. Back-pressure as
 * for every connection (ClientConnection): `ws` is paused, and messages it had
 * already parsed wait here (no per-turn budget: `ws` parses a whole read at
 * once). A close tells the peer its code and reason. Subclasses read the
 * binary messages (`onBinary`, called only while the connection takes input);
 * text messages close with 1003.
 */
export abstract class WebSocketConnection extends ClientConnection<Front> {
  private closeCode = 1000;
  private closeReason = '';
  /** The TCP socket under `ws`: output goes straight to it. */
  private readonly raw: net.Socket;
  /** Messages `ws` emitted after input was paused (at most one read's worth), handed on when it resumes. */
  private readonly heldMessages: Buffer[] = [];

  constructor(id: number, front: Front, protected readonly socket: WebSocket, private readonly remote: string, events: ConnectionEvents, private readonly protocolName: string, limits: ConnectionLimits) {
    super(id, front, events, { limits });
    this.raw = (socket as unknown as { _socket: net.Socket })._socket;
    this.raw.on('drain', () => this.outputDrained());
    socket.on('message', (data, isBinary) => {
      if (!this.received()) return;
      if (!isBinary) return this.refuse(`text frames are not accepted: send binary ${this.protocolName} frames`, WS_CLOSE_UNSUPPORTED_DATA);
      const bytes = Array.isArray(data) ? Buffer.concat(data as Buffer[]) : (data as Buffer);
      // No turn budget here: ws parses a whole read at once anyway, and what it emitted after a pause would wait in heldMessages.
      if (this.heldMessages.length > 0 || this.holdingInput) this.heldMessages.push(bytes);
      else this.onBinary(bytes);
    });
    socket.on('error', () => {
      /* 'close' follows */
    });
    socket.on('close', () => this.markClosed());
  }

  /** One binary message from the client. */
  protected abstract onBinary(bytes: Buffer): void;

  get remoteAddress(): string {
    return this.remote;
  }

  protected get pendingBytes(): number {
    return this.socket.bufferedAmount + heldThisTick(this.raw);
  }

  protected writeFrame(frame: Buffer): void {
    this.sendNow(frame);
  }

  /** Sends one binary message now (with the other frames of this tick). */
  protected sendNow(frame: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    writeThisTick(this.raw, binaryFrameHeader(frame.length));
    writeThisTick(this.raw, frame);
  }

  /** Closes with this code and reason (after what is buffered). */
  closeWith(code: number, reason: string): void {
    this.closeCode = code;
    // A close reason is at most 123 bytes (RFC 6455); ws throws on a longer one.
    let r = reason.slice(0, 123);
    while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
    this.closeReason = r;
    this.close();
  }

  /** Input that breaks the protocol: reported (onFrameError), then the connection closes with `code`. */
  protected refuse(reason: string, code: number): void {
    this.events.onFrameError(this, new Error(reason));
    this.closeWith(code, reason);
  }

  protected endGracefully(): void {
    // Frames of this tick before ws's close frame.
    flushThisTick(this.raw);
    this.socket.close(this.closeCode, this.closeReason);
    // A peer that never answers the closing handshake must not keep the socket.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  destroy(): void {
    this.socket.terminate();
  }

  protected pauseInput(): void {
    this.socket.pause();
  }

  protected resumeInput(): void {
    this.socket.resume();
    while (this.heldMessages.length > 0 && !this.closed && !this.holdingInput) this.onBinary(this.heldMessages.shift()!);
  }
}
