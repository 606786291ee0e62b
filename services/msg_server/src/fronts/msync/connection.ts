import type * as net from 'node:net';
import type { WebSocket } from 'ws';
import { FrameError, LengthPrefixedSplitter, writeThisTick } from '@tt/codec';
import { IM } from '@tt/proto';
import { ClientConnection as BaseConnection, SocketConnection, type ConnectionLimits } from '@tt/connection';
import type { ConnectionEvents } from '../../connection';
import type { Front } from '../front';
import { WS_CLOSE_INVALID_PAYLOAD, WebSocketConnection } from '../websocket-connection';

export { WS_CLOSE_INVALID_PAYLOAD, WS_CLOSE_POLICY, WS_CLOSE_UNSUPPORTED_DATA } from '../websocket-connection';

/** TCP framing: every MSync message follows its length, 4 bytes big-endian. */
export const TCP_LENGTH_BYTES = 4;

/** A device's state on its connection, set at PROVISION. */
export interface MsyncSession {
  /** The device: the JID resource. */
  resource: string;
  appKey: string;
  /** The user's queue JID as NOTICE, UNREAD and SYNC answers name it. */
  queue: IM.MSync.IJID;
  /** The user sync seq this device has confirmed (its key). */
  confirmedSeq: number;
  /** Seqs of what this connection sent itself (its own messages and recalls): skipped when it pulls. */
  ownSeqs: Set<number>;
}

/** What the msync handlers need of a connection, whichever transport carries it. */
export interface MsyncConnection extends BaseConnection<Front> {
  session?: MsyncSession;
  readonly transport: 'ws' | 'tcp';
  /** Closes the connection after what is buffered, telling a WebSocket peer why. */
  closeWith(code: number, reason: string): void;
}

/** MSync envelopes decoded by the connections, so the router does not decode them again. */
const decodedEnvelopes = new WeakMap<Uint8Array, IM.MSync.MSync>();

/** The router's decoder for MSync requests: the envelope the connection decoded. */
export const envelopeDecoder = {
  decode(body: Uint8Array): IM.MSync.MSync {
    return decodedEnvelopes.get(body) ?? IM.MSync.MSync.decode(body);
  },
};

/** Decodes an envelope and hands it on as a request; false when the bytes are not an MSync message. */
function dispatchEnvelope(conn: BaseConnection<Front>, events: ConnectionEvents, bytes: Uint8Array): boolean {
  let envelope: IM.MSync.MSync;
  try {
    envelope = IM.MSync.MSync.decode(bytes);
  } catch {
    return false;
  }
  decodedEnvelopes.set(bytes, envelope);
  events.onRequest(conn as never, { commandId: envelope.command ?? 0, seqNum: 0, body: bytes });
  return true;
}

/**
 * An MSync client over a WebSocket (the Web SDK): each binary message one
 * MSync envelope, no length prefix. Framing and size limits are `ws`'s.
 */
export class MsyncWsConnection extends WebSocketConnection implements MsyncConnection {
  session?: MsyncSession;
  readonly transport = 'ws' as const;

  constructor(id: number, front: Front, socket: WebSocket, remote: string, events: ConnectionEvents, limits: ConnectionLimits) {
    super(id, front, socket, remote, events, 'MSync', limits);
  }

  protected onBinary(bytes: Buffer): void {
    if (!dispatchEnvelope(this, this.events as ConnectionEvents, bytes)) this.refuse('not an MSync message', WS_CLOSE_INVALID_PAYLOAD);
  }
}

/**
 * An MSync client over TCP (native clients): each MSync envelope follows its
 * length as a 4-byte big-endian unsigned integer. A length of 0 or above the
 * frame limit, or bytes that are not an MSync message, close the connection.
 */
export class MsyncTcpConnection extends SocketConnection<Front> implements MsyncConnection {
  session?: MsyncSession;
  readonly transport = 'tcp' as const;
  private readonly splitter: LengthPrefixedSplitter<Buffer>;
  /** Set once the stream was found broken: what follows in the same read is dropped. */
  private broken = false;

  constructor(id: number, front: Front, socket: net.Socket, maxFrameBytes: number, events: ConnectionEvents, limits: ConnectionLimits) {
    super(id, front, socket, events, { limits });
    // A length of 0 or over the limit is a FrameError: "frame length N is outside 1..max".
    this.splitter = new LengthPrefixedSplitter({
      headerBytes: TCP_LENGTH_BYTES,
      lengthIncludesHeader: false,
      minLength: 1,
      maxLength: maxFrameBytes,
      frame: (bytes, start, end) => bytes.subarray(start + TCP_LENGTH_BYTES, end),
    });
  }

  /** Frames are MSync envelopes (the front's); TCP puts each after its length. */
  protected override writeFrame(frame: Buffer): void {
    const prefix = Buffer.allocUnsafe(TCP_LENGTH_BYTES);
    prefix.writeUInt32BE(frame.length, 0);
    writeThisTick(this.socket, prefix);
    writeThisTick(this.socket, frame);
  }

  closeWith(_code: number, _reason: string): void {
    this.close();
  }

  protected onBytes(chunk: Buffer, borrowed: boolean): void {
    try {
      this.splitter.push(
        chunk,
        (bytes) => {
          if (this.closed || this.broken) return;
          if (!dispatchEnvelope(this, this.events as ConnectionEvents, bytes)) this.fail('not an MSync message');
        },
        () => !this.mayTakeFrame(),
        borrowed,
      );
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      if (!this.broken) this.fail(err.message);
    }
  }

  private fail(reason: string): void {
    this.broken = true;
    this.reading = false;
    this.brokenStream(new Error(reason));
  }
}
