// Cutting a TCP byte stream into length-prefixed frames, for every TCP front:
// a fixed-size header whose first 4 bytes are a big-endian u32 length (of the
// whole frame, or of the body only), then the body. The protocols differ only
// in the header size, what the length counts, and the limits.

/** Bytes of the length field at the start of every header. */
export const LENGTH_FIELD_BYTES = 4;
/**
 * A partial frame kept between reads is a view into the read that brought it,
 * unless that read had more than this many bytes before it: then it is copied,
 * so one connection never keeps much more than its unfinished frame alive.
 */
export const MAX_PINNED_BYTES = 16 * 1024;
/** The smallest spill buffer (see LengthPrefixedSplitter): one socket read. */
const MIN_SPILL_BYTES = 64 * 1024;

/**
 * Bytes start..end of `bytes` in memory of their own, not a slice of Node's
 * 8 KiB pool (a slice kept waiting keeps its whole slab, and whatever else
 * lies in it, alive).
 */
export function copyOut(bytes: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafeSlow(end - start);
  bytes.copy(out, 0, start, end);
  return out;
}

/** The stream is no longer framed correctly; the only safe answer is to close it. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** The offending length (field value or byte count). */
    readonly length: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export interface LengthPrefixedFormat<F> {
  /** Bytes before the body; the length field is the first 4 of them. */
  headerBytes: number;
  /** True: the length counts the header too (TeamTalk, OMTP); false: the body only (tcp12, MSync). */
  lengthIncludesHeader: boolean;
  /** Smallest acceptable value of the length field. */
  minLength: number;
  /** Largest acceptable value of the length field. */
  maxLength: number;
  /** The error to throw for a length outside minLength..maxLength; by default a FrameError. */
  lengthError?(length: number): Error;
  /** Checks a complete header (at `start` of `bytes`) before its frame is taken; throws to break the stream. */
  checkHeader?(bytes: Buffer, start: number): void;
  /** What a complete frame is handed on as: made from bytes start..end of `bytes` (the header included; views, not copies). */
  frame(bytes: Buffer, start: number, end: number): F;
}

/**
 * Splits a byte stream into frames, whatever the chunking: partial headers,
 * bodies split over many reads, many frames in one read. Chunks are joined
 * only when a frame actually spans them (joining on every read would copy a
 * slowly sent frame over and over). A bad length throws as soon as its 4
 * bytes are known, before the body is buffered.
 */
export class LengthPrefixedSplitter<F> {
  /** Bytes of an unfinished frame (or frames held back), in order; none most of the time, so made on demand. */
  private chunks: Buffer[] | undefined;
  private buffered = 0;
  /**
   * Where frames held back from a borrowed read wait: this splitter's own
   * buffer, used again for every read held back, so a connection that keeps
   * sending faster than its turns allow does not allocate a copy per read
   * (each one surviving into the old generation, freed only by a full
   * collection). Dropped once a read is taken whole.
   */
  private spill: Buffer | undefined;
  // The format, flattened into fields: this runs for every frame of every TCP front.
  private readonly headerBytes: number;
  /** What to add to the length field to get the frame's size in bytes. */
  private readonly lengthToFrameBytes: number;
  private readonly minLength: number;
  private readonly maxLength: number;
  private readonly checkHeader: ((bytes: Buffer, start: number) => void) | undefined;
  private readonly lengthError: ((length: number) => Error) | undefined;
  private readonly frame: (bytes: Buffer, start: number, end: number) => F;

  constructor(format: LengthPrefixedFormat<F>) {
    if (format.headerBytes < LENGTH_FIELD_BYTES) throw new RangeError(`a header of ${format.headerBytes} bytes cannot hold the length field`);
    // A frame shorter than its header would never move the stream forward.
    if (format.lengthIncludesHeader && format.minLength < format.headerBytes) throw new RangeError(`minLength ${format.minLength} is under the ${format.headerBytes}-byte header`);
    this.headerBytes = format.headerBytes;
    this.lengthToFrameBytes = format.lengthIncludesHeader ? 0 : format.headerBytes;
    this.minLength = format.minLength;
    this.maxLength = format.maxLength;
    this.checkHeader = format.checkHeader;
    this.lengthError = format.lengthError;
    this.frame = format.frame;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Feeds bytes in; calls onFrame for each complete frame, in order. Throws on
   * a bad length or header. While `held()` is true no further frame is handed
   * on: the rest stays buffered (at most what was read) until the next push,
   * e.g. `push(Buffer.alloc(0), …)` once the reader takes frames again.
   *
   * `borrowed`: the chunk's bytes are valid only during this call (a read
   * buffer shared by every socket): each frame handed on is then a copy, and
   * so is whatever stays buffered (frames held back go to the spill buffer).
   */
  push(chunk: Buffer, onFrame: (frame: F) => void, held?: () => boolean, borrowed = false): void {
    if (this.buffered > 0) {
      const needed = this.frontFrameBytes();
      const partial = needed === undefined || this.buffered < needed;
      if (chunk.length === 0 || !partial) return this.pushBuffered(chunk, onFrame, held, borrowed);
      // A frame begun in an earlier read: complete it with only the bytes it lacks, then cut the rest
      // of this read where it lies. (Joining the whole read to the partial frame copied every read of a
      // busy connection twice, and the joined buffer, held back over many turns, outlived the young
      // generation: a flood of small frames grew the process by tens of MiB between full collections.)
      const used = this.completeFront(chunk, borrowed, needed);
      if (used < 0) return;
      this.cut(this.takeBuffered(), false, false, onFrame, held, false);
      const rest = chunk.subarray(used);
      if (this.buffered > 0) {
        // The completed frame is held back: the rest of the read waits behind it.
        if (rest.length > 0) this.append(rest, borrowed);
        return;
      }
      if (rest.length === 0) return;
      return this.cut(rest, borrowed, false, onFrame, held, true);
    }
    this.cut(chunk, borrowed, false, onFrame, held, true);
  }

  /** Bytes are buffered and either complete frames held back, or new bytes did not come: go on in what is buffered. */
  private pushBuffered(chunk: Buffer, onFrame: (frame: F) => void, held: (() => boolean) | undefined, borrowed: boolean): void {
    if (chunk.length > 0) this.append(chunk, borrowed);
    const needed = this.frontFrameBytes();
    if (needed === undefined || this.buffered < needed) return;
    const chunks = this.chunks!;
    // Frames held back earlier are one view: go on in it rather than copy it again.
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.buffered);
    this.chunks = undefined;
    this.buffered = 0;
    // The spill is used again later: frames handed on from it must be copies.
    const fromSpill = this.spill !== undefined && data.buffer === this.spill.buffer;
    this.cut(data, fromSpill, fromSpill, onFrame, held, !fromSpill);
  }

  /**
   * Adds to the buffered partial frame (of `neededSoFar` bytes, undefined
   * while its length is not in) the bytes of `chunk` it lacks; returns
   * how many were used, or -1 when the whole chunk was taken and the frame is
   * still incomplete.
   */
  private completeFront(chunk: Buffer, borrowed: boolean, neededSoFar: number | undefined): number {
    let used = 0;
    let needed = neededSoFar;
    if (needed === undefined) {
      // Its size is known once its length field (and the header, when one is checked) is in.
      const headerWanted = (this.checkHeader !== undefined ? this.headerBytes : LENGTH_FIELD_BYTES) - this.buffered;
      used = Math.min(headerWanted, chunk.length);
      this.append(chunk.subarray(0, used), borrowed);
      needed = this.frontFrameBytes();
      if (needed === undefined) return -1;
    }
    const wanted = needed - this.buffered;
    if (chunk.length - used < wanted) {
      this.append(used === 0 ? chunk : chunk.subarray(used), borrowed);
      // The header may be complete now: checked before the body is in.
      this.frontFrameBytes();
      return -1;
    }
    this.append(chunk.subarray(used, used + wanted), borrowed);
    return used + wanted;
  }

  /** Keeps `bytes` at the end of what is buffered (copied when borrowed). */
  private append(bytes: Buffer, borrowed: boolean): void {
    if (bytes.length === 0) return;
    (this.chunks ??= []).push(borrowed ? Buffer.from(bytes) : bytes);
    this.buffered += bytes.length;
  }

  /** Everything buffered, as one buffer of its own (a copy unless it is one chunk already); the buffer is emptied. */
  private takeBuffered(): Buffer {
    const chunks = this.chunks!;
    let data: Buffer;
    if (chunks.length === 1) {
      data = chunks[0];
    } else {
      // Not Node's pool: a request waiting in its queue would keep a whole slab alive.
      data = Buffer.allocUnsafeSlow(this.buffered);
      let at = 0;
      for (const c of chunks) at += c.copy(data, at);
    }
    this.chunks = undefined;
    this.buffered = 0;
    return data;
  }

  /**
   * Hands on the frames of `data` from its start; keeps what is left (a
   * partial frame, or frames held back). `transient`: data's bytes are not
   * to be kept (a borrowed read, the spill), so frames handed on are copies.
   * `endOfRead`: data is the end of a read, so taking it whole means the
   * connection keeps up and needs no spill buffer.
   */
  private cut(data: Buffer, transient: boolean, fromSpill: boolean, onFrame: (frame: F) => void, held: (() => boolean) | undefined, endOfRead: boolean): void {
    const { headerBytes, checkHeader, frame } = this;
    let offset = 0;
    let holding = false;
    while (data.length - offset >= headerBytes) {
      if (held !== undefined && held()) {
        holding = true;
        break;
      }
      if (checkHeader !== undefined) checkHeader(data, offset);
      const frameBytes = this.frameBytes(data.readUInt32BE(offset));
      if (data.length - offset < frameBytes) break;
      // A copy of its own, not a slice of Node's 8 KiB pool: a request that waits in its connection's
      // queue would keep the whole slab alive into the old generation (freed only by a full collection).
      if (transient) onFrame(frame(copyOut(data, offset, offset + frameBytes), 0, frameBytes));
      else onFrame(frame(data, offset, offset + frameBytes));
      offset += frameBytes;
    }
    if (offset < data.length) {
      let rest: Buffer;
      if (fromSpill || (!transient && (holding || offset <= MAX_PINNED_BYTES))) {
        // A view: frames held back are taken soon (copying at every pause would be quadratic), and a
        // partial frame may keep what came before it alive unless that is much.
        rest = data.subarray(offset);
      } else if (transient && holding) {
        rest = this.spilled(data, offset);
      } else {
        rest = Buffer.from(data.subarray(offset));
      }
      this.chunks = [rest];
      this.buffered = rest.length;
      // A partial header may already show a length the stream cannot survive.
      if (rest.length >= LENGTH_FIELD_BYTES && rest.length < headerBytes) this.frameBytes(rest.readUInt32BE(0));
    } else if (endOfRead) {
      // A read taken whole: the connection keeps up, it needs no spill buffer.
      this.spill = undefined;
    }
  }

  /** Bytes offset.. of `data` copied into the spill buffer (grown when too small). */
  private spilled(data: Buffer, offset: number): Buffer {
    const bytes = data.length - offset;
    if (this.spill === undefined || this.spill.length < bytes) this.spill = Buffer.allocUnsafeSlow(Math.max(bytes, MIN_SPILL_BYTES));
    data.copy(this.spill, 0, offset);
    return this.spill.subarray(0, bytes);
  }

  /** The size of the frame at the front of the buffer, once its length field is in (its header checked once complete). */
  private frontFrameBytes(): number | undefined {
    if (this.buffered < LENGTH_FIELD_BYTES) return undefined;
    const { checkHeader } = this;
    let chunks = this.chunks!;
    const headerIn = checkHeader !== undefined && this.buffered >= this.headerBytes;
    const contiguous = headerIn ? this.headerBytes : LENGTH_FIELD_BYTES;
    if (chunks[0].length < contiguous) this.chunks = chunks = [Buffer.concat(chunks, this.buffered)];
    const first = chunks[0];
    if (headerIn) checkHeader(first, 0);
    return this.frameBytes(first.readUInt32BE(0));
  }

  /** The frame's size in bytes from its length field; throws when the length is out of bounds. */
  private frameBytes(length: number): number {
    if (length < this.minLength || length > this.maxLength) throw this.badLength(length);
    return length + this.lengthToFrameBytes;
  }

  private badLength(length: number): Error {
    return this.lengthError?.(length) ?? new FrameError(`frame length ${length} is outside ${this.minLength}..${this.maxLength}`, length);
  }
}
