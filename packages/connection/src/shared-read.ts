import * as net from 'node:net';

/**
 * One read buffer for every plain TCP client socket of the process.
 *
 * By default Node allocates 64 KiB of native memory for every read of every
 * socket and shrinks it to what arrived; the chunks live until the garbage
 * collector frees them. Under a flood that is hundreds of MiB of short-lived
 * native memory between collections (and fragmented malloc arenas after);
 * for an idle client it is one allocation per heartbeat. Node's `onread`
 * socket option (docs: net.Socket, `options.onread`) reads into a buffer the
 * caller owns instead, but net.Server offers no way to pass it for accepted
 * sockets. Node keeps the option under two symbols on every socket (null when
 * not given) and switches the handle over with `useUserBuffer`: both are
 * looked up at run time, and a socket for which they cannot be found (a TLS
 * socket, another Node) keeps its 'data' events.
 *
 * The bytes handed to the callback are valid only during the call: whoever
 * keeps some must copy them (LengthPrefixedSplitter does, `borrowed`).
 */
export const SHARED_READ_BYTES = 64 * 1024;
const sharedReadBuffer = Buffer.allocUnsafe(SHARED_READ_BYTES);

interface OnreadSymbols {
  buffer: symbol;
  callback: symbol;
}

let symbols: OnreadSymbols | null | undefined;

/** Node's internal names of the `onread` option, found on a socket made without it; null if absent. */
function onreadSymbols(socket: net.Socket): OnreadSymbols | null {
  if (symbols !== undefined) return symbols;
  const own = Object.getOwnPropertySymbols(socket);
  const buffer = own.find((s) => s.description === 'kBuffer');
  const callback = own.find((s) => s.description === 'kBufferCb');
  symbols = buffer && callback ? { buffer, callback } : null;
  return symbols;
}

/**
 * Called with `this` the socket and the read's bytes at the start of `buffer`:
 * one function serves every socket (no closure per connection). Returning
 * false would stop reading (Node's contract): return nothing.
 */
export type SharedReadCallback = (this: net.Socket, nread: number, buffer: Buffer) => void;

type Handle = { useUserBuffer?(buffer: Buffer): void };

/**
 * Makes `socket` read into the process's shared buffer and call `onBytes`
 * for every read instead of emitting 'data'; pause()
 * and resume() stop and start reading at the socket as before. Call it in the
 * listener's connection handler, before the first read. Returns false, and
 * changes nothing, when the socket cannot (TLS, Node internals not found):
 * the caller then listens to 'data'.
 */
export function readIntoSharedBuffer(socket: net.Socket, onBytes: SharedReadCallback): boolean {
  if ((socket as { encrypted?: boolean }).encrypted) return false;
  const handle = (socket as unknown as { _handle?: Handle })._handle;
  if (typeof handle?.useUserBuffer !== 'function') return false;
  const names = onreadSymbols(socket);
  if (!names) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Only a socket made without `onread` has the fields, both null.
  if (fields[names.buffer] !== null || fields[names.callback] !== null) return false;
  fields[names.buffer] = sharedReadBuffer;
  fields[names.callback] = onBytes;
  handle.useUserBuffer(sharedReadBuffer);
  return true;
}
