import { IM } from '@tt/proto';
import type { WebSocket } from 'ws';
import type { ConnectionLimits } from '@tt/connection';
import type { ConnectionEvents } from '../../connection';
import type { Front } from '../front';
import { WS_CLOSE_INVALID_PAYLOAD, WebSocketConnection } from '../websocket-connection';

export { WS_CLOSE_INVALID_PAYLOAD, WS_CLOSE_POLICY, WS_CLOSE_UNSUPPORTED_DATA } from '../websocket-connection';

/**
 * A seed-003 client over a WebSocket: each binary message one
 * WebSocketMessage. Framing, limits (maxPayload) and ping/pong are the `ws`
 * library's; the shared parts (identity, output cap, idle tracking, request
 * queue) are @tt/connection's (ClientConnection, CommandRouter), as for every front.
 */
export class WsConnection extends WebSocketConnection {
  /** While set, frames are held back (the auth response must be the first thing an authenticating client sees). */
  private held?: Buffer[];

  constructor(id: number, front: Front, socket: WebSocket, remote: string, events: ConnectionEvents, limits: ConnectionLimits) {
    super(id, front, socket, remote, events, 'WebSocketMessage', limits);
  }

  protected override writeFrame(frame: Buffer): void {
    if (this.held) this.held.push(frame);
    else this.sendNow(frame);
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

  protected override endGracefully(): void {
    if (this.held) this.release();
    super.endGracefully();
  }

  protected onBinary(bytes: Buffer): void {
    let envelope: IM.Ws.WebSocketMessage;
    try {
      envelope = IM.Ws.WebSocketMessage.decode(bytes);
    } catch (err) {
      return this.refuse(`not a WebSocketMessage: ${(err as Error).message}`, WS_CLOSE_INVALID_PAYLOAD);
    }
    this.events.onRequest(this, { commandId: envelope.command, seqNum: envelope.sequence, body: envelope.body });
  }
}
