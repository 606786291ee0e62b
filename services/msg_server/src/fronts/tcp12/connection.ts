import type * as net from 'node:net';
import { writeThisTick } from '@tt/codec';
import { IM } from '@tt/proto';
import { SocketConnection, type ConnectionLimits } from '@tt/connection';
import type { ConnectionEvents } from '../../connection';
import type { Front } from '../front';
import {
  BodyCipher,
  Flow,
  TCP12_HEADER_LENGTH,
  TCP12_VERSION,
  Tcp12BodyError,
  Tcp12FrameDecoder,
  Tcp12FrameError,
  encodeFrame,
  makeFlag,
  packBody,
  parseFlag,
  unpackBody,
  type Tcp12Frame,
} from './codec';

const { Status } = IM.Tcp12;

export interface Tcp12ConnectionOptions {
  /** Largest body (on the wire and once gunzipped); a longer frame closes the connection. */
  maxFrameBytes: number;
  limits: ConnectionLimits;
  /** The configured AES key; none: AES frames are refused (ENCRYPTION_NOT_SUPPORTED). */
  cipher?: BodyCipher;
  /** A frame answered with an error status before it reached a handler (logging, metrics). */
  onRejected?(conn: Tcp12Connection, command: number, status: number, reason: string): void;
}

/** Requests whose answers are still to come, per seq; past this the bookkeeping starts over (answers then go out plain). */
const MAX_REMEMBERED_MODES = 1024;

/**
 * A seed-001 client over TCP: 12-byte-header frames both ways. Input is cut
 * into frames, unpacked (AES, then gunzip) and handed on as requests; output
 * is written by the front as plain frames and packed here the way the client
 * asked: a response like its request, a notice like the LOGIN request. The
 * shared parts (identity, output cap, idle tracking, the request queue) are
 * @tt/connection's, as for every front.
 */
export class Tcp12Connection extends SocketConnection<Front> {
  private readonly decoder: Tcp12FrameDecoder;
  /** Compression/encryption of each request awaiting its answer, by seq (in order, for a seq used twice); made on first use (most clients send plain). */
  private responseModes?: Map<number, number[]>;
  /** Compression/encryption of the server's notices (MPS, MN, kicks): set by LOGIN. */
  noticeMode = { compression: 0, encryption: 0 };
  /** While set, frames are held back (the LOGIN answer must be the first thing a client sees). */
  private held?: Buffer[];

  constructor(id: number, front: Front, socket: net.Socket, private readonly options: Tcp12ConnectionOptions, events: ConnectionEvents) {
    super(id, front, socket, events, { limits: options.limits });
    this.decoder = new Tcp12FrameDecoder(options.maxFrameBytes);
  }

  /** Answers a request with a status and (for errors) an ErrorInfo body. */
  answer(command: number, seq: number, status: number, message: string): void {
    const body = status === Status.OK ? new Uint8Array() : IM.Tcp12.ErrorInfo.encode({ message }).finish();
    this.write(encodeFrame(seq, command, makeFlag(0, 0, Flow.RESPONSE), status, body));
  }

  /** Sends a notice (flow 2) with a status, e.g. the kick before the close. */
  notify(command: number, status: number, body: Uint8Array): void {
    this.write(encodeFrame(0, command, makeFlag(0, 0, Flow.NOTIFY), status, body));
  }

  /** Frames come plain from the front; they leave packed as the client asked. */
  protected override writeFrame(frame: Buffer): void {
    const packed = this.pack(frame);
    if (this.held) this.held.push(packed);
    else writeThisTick(this.socket, packed);
  }

  /** The compression/encryption of the request with this seq still awaiting its answer. */
  modeOfPending(seq: number): { compression: number; encryption: number } {
    const mode = this.responseModes?.get(seq)?.[0] ?? 0;
    return { compression: mode >> 2, encryption: mode & 3 };
  }

  hold(): void {
    this.held ??= [];
  }

  release(first?: Buffer): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (first) this.write(first);
    for (const frame of held) writeThisTick(this.socket, frame);
  }

  protected override endGracefully(): void {
    if (this.held) this.release();
    super.endGracefully();
  }

  private pack(frame: Buffer): Buffer {
    const flag = frame[10];
    const flow = flag & 3;
    let mode = this.noticeMode;
    if (flow === Flow.RESPONSE) {
      const seq = frame.readUInt32BE(5);
      const modes = this.responseModes?.get(seq);
      const packed = modes?.shift();
      if (modes && modes.length === 0) this.responseModes!.delete(seq);
      mode = packed === undefined ? { compression: 0, encryption: 0 } : { compression: packed >> 2, encryption: packed & 3 };
    }
    if (mode.compression === 0 && mode.encryption === 0) return frame;
    const body = packBody(frame.subarray(TCP12_HEADER_LENGTH), mode.compression, mode.encryption, this.options.cipher);
    return encodeFrame(frame.readUInt32BE(5), frame[9], makeFlag(mode.compression, mode.encryption, flow), frame[11], body, frame[4]);
  }

  protected onBytes(chunk: Buffer, borrowed: boolean): void {
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame), () => !this.mayTakeFrame(), borrowed);
    } catch (err) {
      // The stream cannot be followed any further: nothing can be answered reliably.
      if (err instanceof Tcp12FrameError) return this.brokenStream(err);
      throw err;
    }
  }

  private onFrame(frame: Tcp12Frame): void {
    if (this.closed || !this.reading) return;
    const reject = (status: number, reason: string) => {
      this.options.onRejected?.(this, frame.command, status, reason);
      this.answer(frame.command, frame.seq, status, reason);
    };
    if (frame.version !== TCP12_VERSION) {
      reject(Status.VERSION_NOT_SUPPORTED, `protocol version ${frame.version} is not supported (this server speaks ${TCP12_VERSION})`);
      this.close();
      return;
    }
    const flag = parseFlag(frame.flags);
    if (flag.flow !== Flow.REQUEST) return reject(Status.BAD_REQUEST, `a client sends requests (flow 0), not flow ${flag.flow}`);
    let body: Buffer;
    try {
      body = unpackBody(frame.body, flag, this.options.cipher, this.options.maxFrameBytes);
    } catch (err) {
      if (err instanceof Tcp12BodyError) return reject(err.status, err.message);
      throw err;
    }
    this.rememberMode(frame.seq, (flag.compression << 2) | flag.encryption);
    this.events.onRequest(this, { commandId: frame.command, seqNum: frame.seq, body });
  }

  private rememberMode(seq: number, mode: number): void {
    // Plain is what an answer finds no mode for: nothing to keep. (A long-lived Map churned once per
    // request allocates its new tables straight in the old generation: a PING flood grew the heap by 100+ MiB.)
    if (mode === 0 && !this.responseModes?.has(seq)) return;
    const responseModes = (this.responseModes ??= new Map());
    if (responseModes.size >= MAX_REMEMBERED_MODES) responseModes.clear();
    const modes = responseModes.get(seq);
    if (modes) modes.push(mode);
    else responseModes.set(seq, [mode]);
  }
}
