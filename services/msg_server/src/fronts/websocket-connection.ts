import type * as net from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { copyOut, flushThisTick, heldThisTick, writeThisTick } from '@tt/codec';
import { ClientConnection, claimEmitter, ownerOf, readIntoSharedBuffer, SHARED_READ_BYTES, type ConnectionLimits } from '@tt/connection';
import type { ConnectionEvents } from '../connection';
import type { Front } from './front';

/** WebSocket close codes (RFC 6455). */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
export const WS_CLOSE_INVALID_PAYLOAD = 1007;
export const WS_CLOSE_POLICY = 1008;

/**
 * Bytes of a read given to ws at once: ws parses all it is given, so this
 * bounds what one step of a turn parses (and copies), and the messages past
 * the turn's share that then wait for the next turn. With 4,000 bytes ~200
 * heartbeats waited per turn of a flood, long enough for them and their
 * slices to be promoted: the old generation grew ~1.7 MiB/s; with 1,024 it
 * stays flat.
 */
const FEED_BYTES = 1024;

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
 * already parsed (it parses a whole read at once) wait here; the same turn
 * budget as TCP's (FRAMES_PER_TURN), so a flood of small messages does not
 * keep every other client waiting. A close tells the peer its code and reason. Subclasses read the
 * binary messages (`onBinary`, called only while the connection takes input);
 * text messages close with 1003.
 */
export abstract class WebSocketConnection extends ClientConnection<Front> {
  private closeCode = 1000;
  private closeReason = '';
  /** The TCP socket under `ws`: output goes straight to it. */
  private readonly raw: net.Socket;
  /** Messages `ws` emitted after input was paused or this turn's share was used (at most one slice's worth), handed on when it resumes. */
  private readonly heldMessages: Buffer[] = [];
  /**
   * Bytes read but not yet given to `ws` (a read cut short by the turn budget
   * or back-pressure): bytes unparsedStart..unparsedEnd of a buffer of this
   * connection's own, used again while the client keeps sending faster than
   * its turns allow, dropped once a read is taken whole.
   */
  private unparsed?: Buffer;
  private unparsedStart = 0;
  private unparsedEnd = 0;

  // Listeners every connection shares (no closures per connection): `this` is the socket (claimEmitter).
  private static readonly onRead = function (this: net.Socket, nread: number, buffer: Buffer): void {
    ownerOf<WebSocketConnection>(this).takeRead(buffer, nread);
  };
  private static readonly onRawData = function (this: net.Socket): void {
    ownerOf<WebSocketConnection>(this).newTurn();
  };
  private static readonly onMessage = function (this: WebSocket, data: RawData, isBinary: boolean): void {
    ownerOf<WebSocketConnection>(this).takeMessage(data, isBinary);
  };

  constructor(id: number, front: Front, protected readonly socket: WebSocket, private readonly remote: string, events: ConnectionEvents, private readonly protocolName: string, limits: ConnectionLimits) {
    super(id, front, events, { limits });
    this.raw = (socket as unknown as { _socket: net.Socket })._socket;
    claimEmitter(this.raw, this);
    claimEmitter(socket, this);
    this.raw.on('drain', WebSocketConnection.onDrain);
    // Reads go to the shared read buffer and are given to ws a slice at a time (takeRead); where that
    // cannot be (TLS), ws reads the socket itself and each read starts a new turn.
    if (!readIntoSharedBuffer(this.raw, WebSocketConnection.onRead)) this.raw.prependListener('data', WebSocketConnection.onRawData);
    socket.on('message', WebSocketConnection.onMessage);
    socket.on('error', WebSocketConnection.onError);
    socket.on('close', WebSocketConnection.onClose);
  }

  private takeMessage(data: RawData, isBinary: boolean): void {
    if (!this.received()) return;
    if (!isBinary) return this.refuse(`text frames are not accepted: send binary ${this.protocolName} frames`, WS_CLOSE_UNSUPPORTED_DATA);
    const bytes = Array.isArray(data) ? Buffer.concat(data) : (data as Buffer);
    // Past this turn's share (or while input is held back) the socket is paused and messages ws
    // already parsed wait here, taken FRAMES_PER_TURN a turn.
    if (this.heldMessages.length > 0 || !this.mayTakeFrame()) this.heldMessages.push(bytes);
    else this.onBinary(bytes);
  }

  /** One read, in the shared read buffer: given to ws while the connection takes input, the rest kept. */
  private takeRead(buffer: Buffer, nread: number): void {
    this.newTurn();
    const fed = this.feed(buffer, 0, nread);
    if (fed === nread) {
      this.unparsed = undefined;
      return;
    }
    const rest = nread - fed;
    if (this.unparsed === undefined || this.unparsed.length < rest) this.unparsed = Buffer.allocUnsafeSlow(Math.max(rest, SHARED_READ_BYTES));
    buffer.copy(this.unparsed, 0, fed, nread);
    this.unparsedStart = 0;
    this.unparsedEnd = rest;
  }

  /**
   * Gives ws bytes start..end of `source` in slices of FEED_BYTES, while the
   * connection takes input and no message waits; returns where it stopped.
   * ws keeps views of what it is given (messages, partial frames): each slice
   * is a copy of its own, out of Node's pool.
   */
  private feed(source: Buffer, start: number, end: number): number {
    let at = start;
    while (at < end && !this.closed && this.heldMessages.length === 0 && !this.holdingInput) {
      const n = Math.min(FEED_BYTES, end - at);
      this.raw.emit('data', copyOut(source, at, at + n));
      at += n;
    }
    return at;
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
    // What was read before the pause first, a turn's share at a time; the socket is read again once it is taken.
    while (this.heldMessages.length > 0 && !this.closed && this.mayTakeFrame()) this.onBinary(this.heldMessages.shift()!);
    if (this.unparsedEnd > this.unparsedStart) {
      this.unparsedStart = this.feed(this.unparsed!, this.unparsedStart, this.unparsedEnd);
      if (this.unparsedStart === this.unparsedEnd) this.unparsedStart = this.unparsedEnd = 0;
    }
    if (this.heldMessages.length === 0 && this.unparsedEnd === 0 && !this.holdingInput) this.socket.resume();
  }
}
