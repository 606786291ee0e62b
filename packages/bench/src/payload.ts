// The body of every benchmark message (msg_data is opaque bytes to the
// server). Each one is unique and self-describing, so a receiver can check
// arrival, order and integrity and compute the latency without a side table:
//
//   0 magic "TTBM" | 4 run tag u32 | 8 stream u32 | 12 seq u32 | 16 sent-at f64 (ms, performance.now())
//   24 checksum u32 (FNV-1a of bytes 0..23 and the padding) | 28.. padding ((seq + i) & 0xff)
//
// Little-endian. A stream is one sender's sequence (a pair in single-chat, a
// sender in group-chat, a session in offline-sync); seq starts at 0.
//
// Runs with WebSocket clients send the text form instead (a WebSocket text
// message's content is UTF-8): the base64 of a binary payload of 3/4 the
// size, so "VFRC…" (base64 of "TTB"). Receivers accept both forms.

export const PAYLOAD_MIN_BYTES = 28;
const MAGIC = 0x4d425454; // "TTBM" read little-endian

export interface BenchPayload {
  runTag: number;
  stream: number;
  seq: number;
  sentAt: number;
}

function fnv1a(buf: Uint8Array, from: number, to: number, h: number): number {
  for (let i = from; i < to; i++) {
    h ^= buf[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function encodePayload(p: BenchPayload, size = 64): Buffer {
  const len = Math.max(PAYLOAD_MIN_BYTES, size);
  const buf = Buffer.allocUnsafe(len);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(p.runTag >>> 0, 4);
  buf.writeUInt32LE(p.stream >>> 0, 8);
  buf.writeUInt32LE(p.seq >>> 0, 12);
  buf.writeDoubleLE(p.sentAt, 16);
  for (let i = PAYLOAD_MIN_BYTES; i < len; i++) buf[i] = (p.seq + i) & 0xff;
  let h = fnv1a(buf, 0, 24, 0x811c9dc5);
  h = fnv1a(buf, PAYLOAD_MIN_BYTES, len, h);
  buf.writeUInt32LE(h, 24);
  return buf;
}

/** The text form: base64 (ASCII) of a binary payload, about `size` bytes long (at least 40). */
export function encodeTextPayload(p: BenchPayload, size = 64): Buffer {
  const binary = encodePayload(p, Math.max(PAYLOAD_MIN_BYTES, Math.floor((size * 3) / 4)));
  return Buffer.from(binary.toString('base64'), 'latin1');
}

/** "VFRC": the first four characters of the text form. */
const TEXT_MAGIC = 0x43524656;

export type PayloadCheck = { ok: true; payload: BenchPayload } | { ok: false; reason: 'foreign' | 'corrupt' };

/** Decodes and verifies a payload (either form): 'foreign' if not ours (other run or not a bench message), 'corrupt' if damaged. */
export function decodePayload(data: Uint8Array, runTag: number): PayloadCheck {
  if (data.length < PAYLOAD_MIN_BYTES) return { ok: false, reason: 'foreign' };
  let buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.readUInt32LE(0) === TEXT_MAGIC) {
    buf = Buffer.from(buf.toString('latin1'), 'base64');
    if (buf.length < PAYLOAD_MIN_BYTES) return { ok: false, reason: 'corrupt' };
  }
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== runTag >>> 0) return { ok: false, reason: 'foreign' };
  let h = fnv1a(buf, 0, 24, 0x811c9dc5);
  h = fnv1a(buf, PAYLOAD_MIN_BYTES, buf.length, h);
  if (h !== buf.readUInt32LE(24)) return { ok: false, reason: 'corrupt' };
  const seq = buf.readUInt32LE(12);
  for (let i = PAYLOAD_MIN_BYTES; i < buf.length; i++) if (buf[i] !== ((seq + i) & 0xff)) return { ok: false, reason: 'corrupt' };
  return { ok: true, payload: { runTag, stream: buf.readUInt32LE(8), seq, sentAt: buf.readDoubleLE(16) } };
}
