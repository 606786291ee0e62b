import type { Writable } from 'node:stream';

/** Streams corked by writeThisTick during the current tick; one nextTick uncorks them all. */
let corked: Writable[] = [];

function uncorkAll(): void {
  const list = corked;
  corked = [];
  for (const stream of list) stream.uncork();
}

/**
 * Writes a frame so that everything written to the same socket during this
 * tick leaves in one writev: one system call instead of one per frame when a
 * fan-out or a burst of acknowledgements sends a peer several frames at once.
 * The frames go out right after the current tick, so no latency is added.
 */
export function writeThisTick(stream: Writable, frame: Uint8Array): boolean {
  corkThisTick(stream);
  return stream.write(frame);
}

/**
 * Holds a stream's writes until the end of this tick, like writeThisTick, for
 * writers that frame for themselves (a WebSocket library writing header and
 * payload): everything they write this tick leaves in one writev.
 */
export function corkThisTick(stream: Writable): void {
  if (stream.writableCorked === 0) {
    stream.cork();
    corked.push(stream);
    if (corked.length === 1) process.nextTick(uncorkAll);
  }
}
