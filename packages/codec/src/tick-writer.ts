import type { Writable } from 'node:stream';

/** Frames written by writeThisTick during the current tick, per stream; one nextTick writes them. */
interface Held {
  frames: Uint8Array[];
  bytes: number;
}
let held = new Map<Writable, Held>();
/** Held bytes at which a stream's frames are written at once rather than at the end of the tick. */
const FLUSH_BYTES = 16 * 1024;
/** Streams corked by corkThisTick during the current tick. */
let corked: Writable[] = [];

function flushAll(): void {
  const streams = held;
  held = new Map();
  for (const [stream, h] of streams) writeHeld(stream, h);
  const list = corked;
  corked = [];
  for (const stream of list) stream.uncork();
}

function writeHeld(stream: Writable, h: Held): void {
  if (stream.destroyed || stream.writableEnded) return;
  // A write that has to wait (the peer is not reading) stays in the stream's buffer for as long as
  // the peer lets it: then it must not be a slice of Node's shared 8 KiB pool, or it keeps the whole
  // slab alive (other connections' frames, copies of requests): a flood of non-reading clients made
  // the process hold three times its output that way.
  if (stream.writableLength > 0) return void stream.write(ownCopy(h.frames, h.bytes));
  stream.write(h.frames.length === 1 ? h.frames[0] : Buffer.concat(h.frames, h.bytes));
}

/** The frames joined in memory of their own (not Node's pool). */
function ownCopy(frames: Uint8Array[], bytes: number): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

function scheduleFlush(): void {
  if (held.size + corked.length === 1) process.nextTick(flushAll);
}

/**
 * Writes a frame so that everything written to the same stream during this
 * tick leaves as one buffer, in one write: one system call instead of one per
 * frame when a fan-out or a burst of answers sends a peer several frames at
 * once, and one entry in the stream's buffer instead of thousands of small
 * ones when the peer does not read (each entry costs far more memory than a
 * heartbeat's 16 bytes). The frames go out right after the current tick, so
 * no latency is added. Returns false when the stream's buffer is full.
 */
export function writeThisTick(stream: Writable, frame: Uint8Array): boolean {
  let h = held.get(stream);
  if (!h) {
    held.set(stream, (h = { frames: [], bytes: 0 }));
    scheduleFlush();
  }
  h.frames.push(frame);
  h.bytes += frame.length;
  // A burst (thousands of answers to one read) leaves in slices: the frames held at once stay few.
  if (h.bytes >= FLUSH_BYTES) {
    held.delete(stream);
    writeHeld(stream, h);
    return stream.writableLength < stream.writableHighWaterMark;
  }
  return stream.writableLength + h.bytes < stream.writableHighWaterMark;
}

/** Bytes writeThisTick holds for this stream until the end of the tick (they count as unsent output). */
export function heldThisTick(stream: Writable): number {
  return held.get(stream)?.bytes ?? 0;
}

/** Writes what writeThisTick holds for this stream now (before the stream is ended, or a library writes to it directly). */
export function flushThisTick(stream: Writable): void {
  const h = held.get(stream);
  if (!h) return;
  held.delete(stream);
  writeHeld(stream, h);
}

/**
 * Holds a stream's writes until the end of this tick, like writeThisTick, for
 * writers that frame for themselves (a library writing header and payload):
 * everything they write this tick leaves in one writev.
 */
export function corkThisTick(stream: Writable): void {
  if (stream.writableCorked === 0) {
    stream.cork();
    corked.push(stream);
    scheduleFlush();
  }
}
