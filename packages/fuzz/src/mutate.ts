// Turning a valid frame into a broken one. A Sample is a body and the way its
// protocol frames a body (wrap), so a mutation can break the body inside a
// consistent header, or break the header (length field, header bytes) around
// a valid body, or break the stream itself (truncation, bit flips anywhere).
import type { Rng } from './rng';

export interface Sample {
  body: Buffer;
  /**
   * The whole frame for a body. `lengthDelta` is added to the length the
   * header (or Content-Length) claims: 0 for an honest frame.
   */
  wrap(body: Buffer, lengthDelta?: number): Buffer;
  /** Bytes at the start of a wrapped frame that are header (0: none, e.g. WebSocket messages). */
  headerBytes: number;
}

function flipBits(buf: Buffer, rng: Rng, count: number): Buffer {
  const out = Buffer.from(buf);
  if (out.length === 0) return out;
  for (let i = 0; i < count; i++) out[rng.below(out.length)] ^= 1 << rng.int(0, 7);
  return out;
}

/** A slice of the body duplicated or removed: protobuf/Tars length prefixes stop matching their contents. */
function splice(buf: Buffer, rng: Rng): Buffer {
  if (buf.length < 2) return Buffer.concat([buf, buf]);
  const a = rng.below(buf.length);
  const b = a + rng.int(1, buf.length - a);
  return rng.chance(0.5) ? Buffer.concat([buf.subarray(0, b), buf.subarray(a)]) : Buffer.concat([buf.subarray(0, a), buf.subarray(b)]);
}

const LENGTH_DELTAS = [-1, 1, -16, 16, 2 ** 20, 2 ** 31 - 1, -(2 ** 31)];

export const MUTATIONS = ['flip-frame', 'truncate', 'length-field', 'extend', 'random-body', 'flip-body', 'header-bytes', 'splice-body'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated frame of the sample (the mutation picked at random). */
export function mutate(sample: Sample, rng: Rng): Buffer {
  const kind = rng.pick(MUTATIONS);
  const { body, wrap } = sample;
  switch (kind) {
    case 'flip-frame':
      return flipBits(wrap(body), rng, rng.int(1, 8));
    case 'truncate': {
      const frame = wrap(body);
      return frame.subarray(0, rng.below(frame.length));
    }
    case 'length-field': {
      const delta = rng.chance(0.5) ? rng.pick(LENGTH_DELTAS) : rng.int(-body.length - 20, 4096);
      return wrap(body, delta);
    }
    case 'extend':
      return wrap(Buffer.concat([body, rng.bytes(rng.size(1024))]));
    case 'random-body':
      return wrap(rng.bytes(rng.size(1024)));
    case 'flip-body':
      return wrap(flipBits(body, rng, rng.int(1, 4)));
    case 'header-bytes': {
      const frame = Buffer.from(wrap(body));
      const n = Math.min(sample.headerBytes, frame.length);
      if (n === 0) return flipBits(frame, rng, 1);
      frame[rng.below(n)] = rng.int(0, 255);
      return frame;
    }
    case 'splice-body':
      return wrap(splice(body, rng));
  }
}
