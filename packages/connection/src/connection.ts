import type * as net from 'node:net';
import { FrameDecoder, FrameError, flushThisTick, heldThisTick, writeThisTick, type Pdu } from '@tt/codec';
import { readIntoSharedBuffer } from './shared-read';

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

/** Why a connection was cut off for the memory it held (metric label). */
export type CutOffReason = 'slow_reader' | 'output_overflow';

/** What a connection reports to its listener; C is the listener's connection type. */
export interface ConnectionEvents<C = ClientConnection> {
  onRequest(conn: C, request: FrontRequest): void;
  onFrameError(conn: C, err: Error): void;
  onClose(conn: C): void;
  /** The connection is about to be destroyed for holding too much unsent output (counted, logged). */
  onCutOff?(conn: C, reason: CutOffReason): void;
}

/**
 * What one client may make the server hold, in bytes (CONN_MAX_OUTPUT_BYTES,
 * CONN_MAX_INPUT_BYTES, CONN_SLOW_READER_MS): past either cap the server stops
 * reading the client (back-pressure) instead of reading and answering more.
 */
export interface ConnectionLimits {
  /** Unsent output above which reading stops; it resumes once the output has drained to half of this. */
  maxOutputBytes: number;
  /** Bytes of requests read but not yet handled above which reading stops until they are handled. */
  maxInputBytes: number;
  /** Output above maxOutputBytes for this long closes the connection (slow_reader). */
  slowReaderMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxOutputBytes: 1024 * 1024, maxInputBytes: 1024 * 1024, slowReaderMs: 15_000 };
/** Output past this many times maxOutputBytes closes at once (output_overflow): pushes still arrive while reading is paused. */
export const OUTPUT_HARD_CAP_FACTOR = 8;
/** Requests queued (read, not yet handled) at which reading stops, whatever their size. */
export const MAX_QUEUED_REQUESTS = 256;
/**
 * Frames one connection hands on per turn of the event loop; then it yields
 * until the next turn. A read of 64 KiB can hold 4,000 heartbeats: handled in
 * one go they keep everything they allocate alive together (the garbage
 * collector then moves it to the old generation, and the process grows) and
 * make every other client wait.
 */
export const FRAMES_PER_TURN = 128;

export interface ConnectionOptions {
  limits: ConnectionLimits;
}

/**
 * The connection an emitter (a TCP socket, a WebSocket) belongs to: the
 * listeners every connection shares find it here, so a connection costs no
 * closures of its own.
 */
const OWNER = Symbol('connection');

/** Marks `emitter` as belonging to `conn` (before the shared listeners are attached). */
export function claimEmitter(emitter: object, conn: ClientConnection<any>): void {
  (emitter as { [OWNER]: ClientConnection<any> })[OWNER] = conn;
}

/** The connection `emitter` belongs to (claimEmitter). */
export function ownerOf<C extends ClientConnection<any>>(emitter: object): C {
  return (emitter as { [OWNER]: C })[OWNER];
}

/**
 * One client connection of any protocol: identity, timing, and the memory
 * bounds every listener shares. Subclasses only move bytes (TCP framing,
 * WebSocket); what goes out is framed by the connection's front (F).
 *
 * Back-pressure: input is taken only while the unsent output is under
 * maxOutputBytes and the requests not yet handled are under maxInputBytes
 * (and MAX_QUEUED_REQUESTS); otherwise the socket is paused (the kernel's
 * buffers fill and TCP slows the client down) and frames already read wait
 * undecoded. A client that keeps its output at the cap for slowReaderMs, or
 * lets it grow past the hard cap, is destroyed and reported (onCutOff).
 */
export abstract class ClientConnection<F extends Framer = Framer> {
  /** Listeners for a claimed emitter (claimEmitter), the same function for every connection. */
  protected static readonly onDrain = function (this: object): void {
    ownerOf<ClientConnection>(this).outputDrained();
  };
  protected static readonly onClose = function (this: object): void {
    ownerOf<ClientConnection>(this).markClosed();
  };
  protected static readonly onError = function (): void {
    /* 'close' follows; nothing to add */
  };

  identity?: ConnectionIdentity;
  loginInProgress = false;
  readonly connectedAt = Date.now();
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  closed = false;
  /** Cleared by stopReading(): further input is ignored (drain). */
  protected reading = true;
  protected readonly limits: ConnectionLimits;
  private readonly hardOutputCap: number;
  /** Set while the unsent output is above the cap; the slow-reader timer runs meanwhile. */
  private outputFull = false;
  private slowReaderTimer?: NodeJS.Timeout;
  private queuedInputBytes = 0;
  private queuedRequests = 0;
  /** Whether the transport is paused now (pauseInput called, resumeInput not yet). */
  private inputPaused = false;
  /** Frames handed on in this turn (see FRAMES_PER_TURN); set when the turn's share is used up. */
  private framesThisTurn = 0;
  private yielding = false;
  /** Set once cut off: nothing more is written while the socket closes. */
  private cut = false;

  constructor(
    readonly id: number,
    readonly front: F,
    protected readonly events: ConnectionEvents<ClientConnection<F>>,
    opts: ConnectionOptions,
  ) {
    this.limits = opts.limits;
    this.hardOutputCap = opts.limits.maxOutputBytes * OUTPUT_HARD_CAP_FACTOR;
  }

  abstract get remoteAddress(): string;
  /** Bytes written but not yet sent. */
  protected abstract get pendingBytes(): number;
  protected abstract writeFrame(frame: Buffer): void;
  /** Sends what is buffered, then closes (with a protocol-level reason where the protocol has one). */
  protected abstract endGracefully(): void;
  abstract destroy(): void;
  /** Stops taking input from the transport. */
  protected abstract pauseInput(): void;
  /** Takes input again, first what was read before the pause and not yet handed on. */
  protected abstract resumeInput(): void;

  get userId(): number {
    return this.identity?.userId ?? 0;
  }

  /** Writes a complete frame of this connection's protocol; past the hard cap the client is cut off instead. */
  write(frame: Buffer): void {
    if (this.closed || this.cut) return;
    if (this.pendingBytes + frame.length > this.hardOutputCap) return this.cutOff('output_overflow');
    this.writeFrame(frame);
    this.lastSentAt = Date.now();
    if (!this.outputFull && this.pendingBytes > this.limits.maxOutputBytes) {
      this.outputFull = true;
      this.slowReaderTimer = setTimeout(() => this.cutOff('slow_reader'), this.limits.slowReaderMs);
      this.slowReaderTimer.unref();
      this.updateInput();
    }
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
    this.updateInput();
  }

  /** Whether input is to be held back now (back-pressure, this turn's share used, or stopReading). */
  protected get holdingInput(): boolean {
    return !this.reading || this.yielding || this.outputFull || this.queuedInputBytes > this.limits.maxInputBytes || this.queuedRequests >= MAX_QUEUED_REQUESTS;
  }

  /**
   * Asked before each frame is handed on: false while input is held back, or
   * when this turn's share (FRAMES_PER_TURN) is used up, in which case input
   * is paused until the next turn of the event loop.
   */
  protected mayTakeFrame(): boolean {
    if (this.holdingInput) return false;
    if (this.framesThisTurn >= FRAMES_PER_TURN) {
      this.yielding = true;
      this.updateInput();
      setImmediate(() => {
        this.yielding = false;
        this.framesThisTurn = 0;
        this.updateInput();
      });
      return false;
    }
    this.framesThisTurn += 1;
    return true;
  }

  /** A new read from the transport: a new turn. */
  protected newTurn(): void {
    if (!this.yielding) this.framesThisTurn = 0;
  }

  /** The router queued a request of `bytes` (it waits for the ones before it). */
  inputQueued(bytes: number): void {
    this.queuedInputBytes += bytes;
    this.queuedRequests += 1;
    this.updateInput();
  }

  /** A request queued with inputQueued has been handled. */
  inputHandled(bytes: number): void {
    this.queuedInputBytes -= bytes;
    this.queuedRequests -= 1;
    this.updateInput();
  }

  /** Called by subclasses whenever the transport may have sent some output (its 'drain'). */
  protected outputDrained(): void {
    if (!this.outputFull || this.pendingBytes > this.limits.maxOutputBytes / 2) return;
    this.outputFull = false;
    clearTimeout(this.slowReaderTimer);
    this.updateInput();
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
    clearTimeout(this.slowReaderTimer);
    this.events.onClose(this);
  }

  private updateInput(): void {
    if (this.closed) return;
    const hold = this.holdingInput;
    if (hold === this.inputPaused) return;
    this.inputPaused = hold;
    if (hold) this.pauseInput();
    else this.resumeInput();
  }

  private cutOff(reason: CutOffReason): void {
    if (this.closed || this.cut) return;
    this.cut = true;
    this.events.onCutOff?.(this, reason);
    this.destroy();
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
 *
 * Memory per connection: a plain socket reads into the process's shared read
 * buffer (readIntoSharedBuffer: no allocation per read), and its listeners
 * are functions every socket shares, finding the connection through a field
 * of the socket (no closures per connection).
 */
export abstract class SocketConnection<F extends Framer = Framer> extends ClientConnection<F> {
  private static readonly onRead = function (this: net.Socket, nread: number, buffer: Buffer): void {
    ownerOf<SocketConnection>(this).take(buffer.subarray(0, nread), true);
  };
  private static readonly onData = function (this: net.Socket, chunk: Buffer): void {
    ownerOf<SocketConnection>(this).take(chunk, false);
  };

  constructor(id: number, front: F, protected readonly socket: net.Socket, events: ConnectionEvents<ClientConnection<F>>, opts: ConnectionOptions) {
    super(id, front, events, opts);
    claimEmitter(socket, this);
    socket.setNoDelay(true);
    if (!readIntoSharedBuffer(socket, SocketConnection.onRead)) socket.on('data', SocketConnection.onData);
    socket.on('drain', SocketConnection.onDrain);
    socket.on('error', SocketConnection.onError);
    socket.on('close', SocketConnection.onClose);
  }

  /** One read; `borrowed`: its bytes are the shared read buffer's, valid only during this call. */
  private take(chunk: Buffer, borrowed: boolean): void {
    this.newTurn();
    if (this.received()) this.onBytes(chunk, borrowed);
  }

  /**
   * Input bytes, in order; a stream that cannot be followed should call
   * `brokenStream`. A frame is handed on only when `mayTakeFrame()` says so
   * (the splitter keeps the rest); called with no bytes when input resumes.
   * `borrowed` bytes are valid only during the call: what is kept, or handed
   * on, must be copied (LengthPrefixedSplitter.push does with its `borrowed`).
   */
  protected abstract onBytes(chunk: Buffer, borrowed: boolean): void;

  /** The input cannot be framed any further: reported (onFrameError) and the socket destroyed. */
  protected brokenStream(err: Error): void {
    this.events.onFrameError(this, err);
    this.socket.destroy();
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  protected get pendingBytes(): number {
    return this.socket.writableLength + heldThisTick(this.socket);
  }

  protected writeFrame(frame: Buffer): void {
    writeThisTick(this.socket, frame);
  }

  protected endGracefully(): void {
    flushThisTick(this.socket);
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

  protected resumeInput(): void {
    // Frames read before the pause first; the socket is read again only once they are taken (reading
    // more meanwhile would join the new bytes to the held ones, a copy at every turn).
    this.onBytes(NO_BYTES, false);
    if (!this.holdingInput) this.socket.resume();
  }
}

const NO_BYTES = Buffer.alloc(0);

/** A TeamTalk client over TCP: 16-byte-header PDUs both ways. */
export class TcpConnection<F extends Framer = Framer> extends SocketConnection<F> {
  private readonly decoder: FrameDecoder;

  constructor(id: number, front: F, socket: net.Socket, opts: TcpConnectionOptions, events: ConnectionEvents<ClientConnection<F>>) {
    super(id, front, socket, events, opts);
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
  }

  protected onBytes(chunk: Buffer, borrowed: boolean): void {
    try {
      this.decoder.push(chunk, (pdu: Pdu) => this.events.onRequest(this, pdu), () => !this.mayTakeFrame(), borrowed);
    } catch (err) {
      if (err instanceof FrameError) return this.brokenStream(err);
      throw err;
    }
  }
}
