// Splits a TCP byte stream into OMTP frames (a 4-byte big-endian length that
// counts itself, then the OTIMPack), whatever the chunking.
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, MIN_FRAME_LENGTH } from './pack';

/** The stream is no longer framed correctly (a length below 5 or above the limit): close it. */
export class OmtpFrameError extends Error {
  constructor(
    readonly length: number,
    limit: number,
  ) {
    super(length < MIN_FRAME_LENGTH ? `frame length ${length} is below ${MIN_FRAME_LENGTH}` : `frame length ${length} is over the limit of ${limit} bytes`);
    this.name = 'OmtpFrameError';
  }
}

export class OmtpFrameDecoder {
  // Chunks of an incomplete frame, joined only once the whole frame is here
  // (joining on every read would copy a slowly sent frame over and over).
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Feeds bytes in; calls onPack with each complete frame's OTIMPack bytes
   * (a view, prefix removed), in order. Throws OmtpFrameError on a bad length
   * as soon as its 4 bytes are known, before buffering the body.
   */
  push(chunk: Buffer, onPack: (pack: Buffer) => void): void {
    let data: Buffer;
    if (this.buffered === 0) {
      data = chunk;
    } else {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < FRAME_HEADER_BYTES) return;
      if (this.chunks[0].length < FRAME_HEADER_BYTES) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      if (this.buffered < this.checkedLength(this.chunks[0].readUInt32BE(0))) return;
      data = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_BYTES) {
      const length = this.checkedLength(data.readUInt32BE(offset));
      if (data.length - offset < length) break;
      onPack(data.subarray(offset + FRAME_HEADER_BYTES, offset + length));
      offset += length;
    }
    if (offset < data.length) {
      // Copied so a kept remainder does not pin a large chunk.
      const rest = Buffer.from(data.subarray(offset));
      this.chunks = [rest];
      this.buffered = rest.length;
    }
  }

  private checkedLength(length: number): number {
    if (length < MIN_FRAME_LENGTH || length > this.maxFrameBytes) throw new OmtpFrameError(length, this.maxFrameBytes);
    return length;
  }
}
