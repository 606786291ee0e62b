import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { corkThisTick } from '@tt/codec';
import { IM } from '@tt/proto';
import { ClientConnection as BaseConnection } from '@tt/connection';
import { MAX_PENDING_WRITE_BYTES, type ConnectionEvents } from '../../connection';
import type { Front } from '../front';

/** Close codes (RFC 6455). */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
export const WS_CLOSE_INVALID_PAYLOAD = 1007;
export const WS_CLOSE_POLICY = 1008;

/** A frame that is not a WebSocketMessage: the connection is closed (1007). */
export class WsFrameError extends Error {
  constructor(message: string, readonly closeCode: number) {
    super(message);
  }
}

/**
 * A seed-003 client over a WebSocket: each binary message one
 * WebSocketMessage. Framing, limits (maxPayload) and ping/pong are the `ws`
 * library's; the shared parts (identity, output cap, idle tracking, request
 * queue) are @tt/connection's (ClientConnection, CommandRouter), as for every front.
 */
export class WsConnection extends BaseConnection<Front> {
  /** While set, frames are held back (the auth response must be the first thing an authenticating client sees). */
  private held?: Buffer[];
  private closeCode = 1000;
  private closeReason = '';

  constructor(id: number, front: Front, private readonly socket: WebSocket, private readonly remote: string, events: ConnectionEvents) {
    super(id, front, events, { maxPendingWriteBytes: MAX_PENDING_WRITE_BYTES });
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[], isBinary));
    socket.on('error', () => {
      /* 'close' follows */
    });
    socket.on('close', () => this.markClosed());
  }

  get remoteAddress(): string {
    return this.remote;
  }

  protected get pendingBytes(): number {
    return this.socket.bufferedAmount;
  }

  protected writeFrame(frame: Buffer): void {
    if (this.held) this.held.push(frame);
    else this.sendNow(frame);
  }

  /**
   * Sends through `ws`, with its socket corked until the end of the tick, so
   * the frames of one tick (a burst of pushes, a response and its pushes)
   * leave in one writev as TeamTalk's do. `_socket` is ws's own net.Socket.
   */
  private sendNow(frame: Buffer): void {
    const raw = (this.socket as unknown as { _socket?: Writable })._socket;
    if (raw) corkThisTick(raw);
    this.socket.send(frame, { binary: true });
  }

  /** Holds frames back until release(); `first` (the auth response) then goes before them. */
  hold(): void {
    this.held ??= [];
  }

  release(first?: Buffer): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (first) this.write(first);
    for (const frame of held) this.sendNow(frame);
  }

  /** Closes with this code and reason (after what is buffered). */
  closeWith(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    this.close();
  }

  protected endGracefully(): void {
    if (this.held) this.release();
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

  private onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    if (!this.received()) return;
    if (!isBinary) return this.fail(new WsFrameError('text frames are not accepted: send binary WebSocketMessage frames', WS_CLOSE_UNSUPPORTED_DATA));
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data;
    let envelope: IM.Ws.WebSocketMessage;
    try {
      envelope = IM.Ws.WebSocketMessage.decode(bytes);
    } catch (err) {
      return this.fail(new WsFrameError(`not a WebSocketMessage: ${(err as Error).message}`, WS_CLOSE_INVALID_PAYLOAD));
    }
    this.events.onRequest(this, { commandId: envelope.command, seqNum: envelope.sequence, body: envelope.body });
  }

  private fail(err: WsFrameError): void {
    this.events.onFrameError(this, err);
    this.closeWith(err.closeCode, err.message.slice(0, 120));
  }
}
