import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { corkThisTick } from '@tt/codec';
import { ClientConnection } from '@tt/connection';
import { MAX_PENDING_WRITE_BYTES, type ConnectionEvents } from '../connection';
import type { Front } from './front';

/** WebSocket close codes (RFC 6455). */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
export const WS_CLOSE_INVALID_PAYLOAD = 1007;
export const WS_CLOSE_POLICY = 1008;

/**
 * A client on a WebSocket (`ws`), whatever its messages: the socket's plumbing
 * in one place for every WebSocket front. Framing, limits (maxPayload) and
 * ping/pong are `ws`'s; output leaves with the socket corked until the end of
 * the tick, so the frames of one tick go in one writev, as TCP fronts' do; a
 * close tells the peer its code and reason. Subclasses read the binary
 * messages (`onBinary`, called only while the connection reads); text
 * messages close with 1003.
 */
export abstract class WebSocketConnection extends ClientConnection<Front> {
  private closeCode = 1000;
  private closeReason = '';

  constructor(id: number, front: Front, protected readonly socket: WebSocket, private readonly remote: string, events: ConnectionEvents, private readonly protocolName: string) {
    super(id, front, events, { maxPendingWriteBytes: MAX_PENDING_WRITE_BYTES });
    socket.on('message', (data, isBinary) => {
      if (!this.received()) return;
      if (!isBinary) return this.refuse(`text frames are not accepted: send binary ${this.protocolName} frames`, WS_CLOSE_UNSUPPORTED_DATA);
      this.onBinary(Array.isArray(data) ? Buffer.concat(data as Buffer[]) : (data as Buffer));
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
    return this.socket.bufferedAmount;
  }

  protected writeFrame(frame: Buffer): void {
    this.sendNow(frame);
  }

  /** Sends through `ws` with its net.Socket (`_socket`) corked until the end of the tick. */
  protected sendNow(frame: Buffer): void {
    const raw = (this.socket as unknown as { _socket?: Writable })._socket;
    if (raw) corkThisTick(raw);
    this.socket.send(frame, { binary: true });
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
}
