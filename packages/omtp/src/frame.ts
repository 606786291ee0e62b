// Splits a TCP byte stream into OMTP frames (a 4-byte big-endian length that
// counts itself, then the OTIMPack), whatever the chunking.
import { LengthPrefixedSplitter } from '@tt/codec';
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

/**
 * OMTP's framing on the shared LengthPrefixedSplitter: a 4-byte header, its
 * length counting itself. `push` hands on each frame's OTIMPack bytes (a
 * view, prefix removed), in order, and throws OmtpFrameError on a bad length
 * as soon as its 4 bytes are known, before buffering the body.
 */
export class OmtpFrameDecoder extends LengthPrefixedSplitter<Buffer> {
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    super({
      headerBytes: FRAME_HEADER_BYTES,
      lengthIncludesHeader: true,
      minLength: MIN_FRAME_LENGTH,
      maxLength: maxFrameBytes,
      lengthError: (length) => new OmtpFrameError(length, maxFrameBytes),
      frame: (bytes, start, end) => bytes.subarray(start + FRAME_HEADER_BYTES, end),
    });
  }
}
