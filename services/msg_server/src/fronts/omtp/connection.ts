import type * as net from 'node:net';
import { writeThisTick } from '@tt/codec';
import type { ConnectionLimits, EncodableType } from '@tt/connection';
import * as omtp from '@tt/omtp';
import { SocketConnection } from '@tt/connection';
import type { ConnectionEvents } from '../../connection';
import type { Front } from '../front';
import { Code, errorAnswer } from './codes';

const { Flags } = omtp;

export interface OmtpConnectionOptions {
  /** Largest frame (and inflated payload); a longer frame closes the connection. */
  maxFrameBytes: number;
  limits: ConnectionLimits;
  /** MSG_SERVER_OMTP_AES_KEY; none: CRYPTO 1 is refused (415). */
  aesKey?: Buffer;
  /** A packet answered with an error before it reached a handler (logging, metrics). */
  onRejected?(conn: OmtpConnection, type: number, code: number, reason: string): void;
  /** Answers to resent (DUP) requests, shared by a user's connections on this server. */
  replays?: ReplayCache;
}

/** What an answer needs from its request: who it answers and how to pack it. */
interface PendingRequest {
  /** The local number the router knows it by. */
  seq: number;
  type: number;
  packId: string;
  version: number;
  /** The request's header flags (HIGHPRJ, COUNTER… of a message; COMPRESS of a login). */
  flags: number;
  compress: number;
  crypto: number;
  /** The answer may be replayed to a DUP resend. */
  replayable: boolean;
}

/** Requests whose answers are still to come; past this the oldest are forgotten (their answers then go out plain, with no packId). */
const MAX_PENDING = 1024;
/** Answers larger than this are not kept for replay. */
const MAX_REPLAY_BYTES = 4096;

/**
 * A seed-004 (OMTP) client over TCP: length-prefixed OTIMPacks both ways.
 * Input is cut into packs; a pack whose header does not decode breaks the
 * stream (closed); one with bad flags or a payload that does not unpack is
 * answered with a code; the rest go to the front's router as requests,
 * numbered locally (the router's seqNum) and remembered so the answer
 * carries the request's type, packId and packing. Pushes are framed by the
 * front; they leave packed as the client's login was.
 */
export class OmtpConnection extends SocketConnection<Front> {
  private readonly decoder: omtp.OmtpFrameDecoder;
  /**
   * Requests under way by seq % MAX_PENDING (a ring: the 1024th one back is
   * forgotten). Not a Map: a long-lived Map churned once per request
   * allocates its new tables straight in the old generation, which a flood
   * of PT_PINGs grew by 100+ MiB between full collections. It grows with
   * use (an idle client's holds a few slots, not 1,024: 4 KiB each).
   */
  private readonly pending: Array<PendingRequest | undefined> = [];
  private nextSeq = 0;
  /** How pushes are packed: as the LOGIN request was. */
  pushMode = { compress: 0, crypto: 0 };
  /** What the client said at login (KICKOUT names the device). */
  device = { deviceType: 0, deviceId: '' };
  /** While set, frames are held back (the LOGIN answer must be the first thing a client sees). */
  private held?: Buffer[];

  constructor(id: number, front: Front, socket: net.Socket, private readonly options: OmtpConnectionOptions, events: ConnectionEvents) {
    super(id, front, socket, events, { limits: options.limits });
    this.decoder = new omtp.OmtpFrameDecoder(options.maxFrameBytes);
  }

  /** The router answers through here: `seqNum` names the request. */
  override send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    if (seqNum === 0) return super.send(commandId, type, message, 0);
    this.answer(seqNum, type.encode(message).finish());
  }

  /** Answers request `seqNum` with a payload (its type's answer struct, encoded). */
  answer(seqNum: number, payload: Uint8Array): void {
    const request = this.pendingRequest(seqNum);
    if (!request) return;
    this.pending[seqNum % MAX_PENDING] = undefined;
    const frame = this.answerFrame(request, payload);
    if (request.replayable && frame.length <= MAX_REPLAY_BYTES && this.userId) this.options.replays?.remember(this.userId, request.packId, frame);
    this.write(frame);
  }

  /** Answers request `seqNum` with an error code in its type's answer struct. */
  fail(seqNum: number, code: number, desc: string): void {
    const request = this.pendingRequest(seqNum);
    if (request) this.answer(seqNum, errorAnswer(request.type, code, desc));
  }

  /** The packId of a request under way (a message's packId is its client_msg_id). */
  packIdOf(seqNum: number): string {
    return this.pendingRequest(seqNum)?.packId ?? '';
  }

  /** The flags a request under way was sent with. */
  flagsOf(seqNum: number): number {
    return this.pendingRequest(seqNum)?.flags ?? 0;
  }

  private pendingRequest(seq: number): PendingRequest | undefined {
    const request = this.pending[seq % MAX_PENDING];
    return request?.seq === seq ? request : undefined;
  }

  hold(): void {
    this.held ??= [];
  }

  /** Answers request `seqNum` (the LOGIN), then lets the frames held meanwhile go. */
  answerFirst(seqNum: number, payload: Uint8Array): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.answer(seqNum, payload);
    for (const frame of held) writeThisTick(this.socket, frame);
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const frame of held) writeThisTick(this.socket, frame);
  }

  /** Frames from the front are plain pushes; answers are packed already (ACK set). */
  protected override writeFrame(frame: Buffer): void {
    const packed = this.pushMode.compress === 0 && this.pushMode.crypto === 0 ? frame : this.packPush(frame);
    if (this.held) this.held.push(packed);
    else writeThisTick(this.socket, packed);
  }

  protected override endGracefully(): void {
    if (this.held) this.release();
    super.endGracefully();
  }

  protected onBytes(chunk: Buffer, borrowed: boolean): void {
    try {
      this.decoder.push(chunk, (pack) => this.onPack(pack), () => !this.mayTakeFrame(), borrowed);
    } catch (err) {
      // The stream cannot be followed any further: nothing can be answered reliably.
      if (err instanceof omtp.OmtpFrameError) return this.brokenStream(err);
      throw err;
    }
  }

  private onPack(bytes: Buffer): void {
    if (this.closed || !this.reading) return;
    let pack: omtp.OTIMPack;
    try {
      pack = omtp.decodePack(bytes);
    } catch (err) {
      if (err instanceof omtp.TarsDecodeError) return this.brokenStream(err);
      throw err;
    }
    const { header } = pack;
    const flags = header.flags;
    // A client's ACK=1 packet acknowledges a push: nothing to answer.
    if (!omtp.hasReservedBits(flags) && omtp.hasFlag(flags, Flags.ACK)) return;
    const request: PendingRequest = { seq: 0, type: header.type, packId: header.packId, version: header.version || omtp.OMTP_VERSION, flags, compress: 0, crypto: 0, replayable: false };
    const reject = (code: number, reason: string) => {
      this.options.onRejected?.(this, header.type, code, reason);
      this.write(this.answerFrame(request, errorAnswer(header.type, code, reason)));
    };
    if (omtp.hasReservedBits(flags)) return reject(Code.BAD_REQUEST, 'reserved flag bits set');
    let payload: Buffer;
    try {
      payload = omtp.unpackPayload(pack.payload, flags, { key: this.options.aesKey, maxBytes: this.options.maxFrameBytes });
    } catch (err) {
      if (err instanceof omtp.PayloadError) return reject(err.code, err.message);
      throw err;
    }
    // Answers mirror the request's packing (only once the transform is known to work).
    request.compress = omtp.compressOf(flags);
    request.crypto = omtp.cryptoOf(flags);
    if (omtp.hasFlag(flags, Flags.DUP) && this.userId && header.packId) {
      const replay = this.options.replays?.find(this.userId, header.packId);
      if (replay) return this.write(replay);
    }
    request.replayable = REPLAYABLE.has(header.type) && header.packId !== '';
    const seq = (this.nextSeq = (this.nextSeq % 0x7fffffff) + 1);
    request.seq = seq;
    this.pending[seq % MAX_PENDING] = request;
    this.events.onRequest(this, { commandId: header.type, seqNum: seq, body: payload });
  }

  private answerFrame(request: PendingRequest, payload: Uint8Array): Buffer {
    const packed = request.compress || request.crypto ? omtp.packPayload(payload, { compress: request.compress, crypto: request.crypto, key: this.options.aesKey }) : payload;
    const flags = omtp.withTransforms(Flags.ACK, request.compress, request.crypto);
    return omtp.framePack({ type: request.type, version: request.version, flags, packId: request.packId }, packed);
  }

  /** A plain push frame, packed as the login was. */
  private packPush(frame: Buffer): Buffer {
    const pack = omtp.decodePack(frame.subarray(omtp.FRAME_HEADER_BYTES));
    if (omtp.hasFlag(pack.header.flags, Flags.ACK)) return frame; // an answer: packed already
    const payload = omtp.packPayload(pack.payload, { compress: this.pushMode.compress, crypto: this.pushMode.crypto, key: this.options.aesKey });
    return omtp.framePack({ ...pack.header, flags: omtp.withTransforms(pack.header.flags, this.pushMode.compress, this.pushMode.crypto) }, payload);
  }
}

/** Requests that change something: a DUP resend must not do it twice. Messages are de-duplicated durably instead. */
const REPLAYABLE = new Set<number>([
  omtp.PackType.PT_MSG_CTRL,
  omtp.PackType.PT_MSG_READ,
  omtp.PackType.PT_SESSION_MONITOR_START,
  omtp.PackType.PT_SESSION_MONITOR_STOP,
  omtp.PackType.PT_GROUPCHAT_CREATE,
  omtp.PackType.PT_GROUPCHAT_JION,
  omtp.PackType.PT_GROUPCHAT_QUIT,
  omtp.PackType.PT_GROUPCHAT_DISMISS,
  omtp.PackType.PT_GROUPCHAT_UPDATE_CREATOR,
  omtp.PackType.PT_GROUPCHAT_INFO_UPDATE,
  omtp.PackType.PT_FRIEND_ADD,
  omtp.PackType.PT_FRIEND_DEL,
  omtp.PackType.PT_USERINFO_UPDATE,
  omtp.PackType.PT_USERATTRIBUTE_SET,
  omtp.PackType.PT_SESSIONATTRIBUTE_SET,
]);

/**
 * Recent answers by (user, packId), so a DUP resend of a request that changes
 * something gets the same answer without doing it again: per user the last
 * 64, for 10 minutes, on this msg_server; 16 MiB in all (the users heard from
 * least recently are forgotten first).
 */
export class ReplayCache {
  private readonly byUser = new Map<number, Map<string, { frame: Buffer; at: number }>>();
  private bytes = 0;

  constructor(
    private readonly perUser = 64,
    private readonly ttlMs = 10 * 60_000,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** Bytes of answers kept (for tests and metrics). */
  get size(): number {
    return this.bytes;
  }

  remember(userId: number, packId: string, frame: Buffer): void {
    let answers = this.byUser.get(userId);
    if (answers) this.byUser.delete(userId); // re-inserted below: the map's order is least recent first
    else answers = new Map();
    this.byUser.set(userId, answers);
    this.drop(answers, packId);
    answers.set(packId, { frame, at: Date.now() });
    this.bytes += frame.length;
    if (answers.size > this.perUser) this.drop(answers, answers.keys().next().value!);
    while (this.bytes > this.maxBytes && this.byUser.size > 0) {
      const [oldestUser, oldest] = this.byUser.entries().next().value!;
      for (const key of [...oldest.keys()]) this.drop(oldest, key);
      this.byUser.delete(oldestUser);
    }
  }

  find(userId: number, packId: string): Buffer | undefined {
    const hit = this.byUser.get(userId)?.get(packId);
    if (!hit) return undefined;
    return Date.now() - hit.at <= this.ttlMs ? hit.frame : undefined;
  }

  private drop(answers: Map<string, { frame: Buffer }>, packId: string): void {
    const old = answers.get(packId);
    if (!old) return;
    this.bytes -= old.frame.length;
    answers.delete(packId);
  }
}
