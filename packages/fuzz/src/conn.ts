// One fuzzing connection: raw bytes over TCP, or binary messages over a
// WebSocket. Whatever the server answers is read and dropped (never left to
// pile up in the socket), except while a login waits for its reply.
import * as net from 'node:net';
import WebSocket from 'ws';

export interface Endpoint {
  host: string;
  port: number;
  /** WebSocket fronts: the URL path (e.g. /ws). */
  path?: string;
}

/**
 * Source addresses (all loopback): fuzz connections that send garbage come
 * from 127.0.0.1, whose failed log-ins the server soon throttles, as it
 * should. The checks and the fuzzer's own log-ins come from elsewhere so
 * that throttle does not refuse them: CHECK_ADDRESS for liveness and
 * setup, and a fresh address per logged-in connection (sessionAddress).
 */
export const CHECK_ADDRESS = '127.0.0.2';

export function sessionAddress(worker: number, round: number): string {
  return `127.${1 + (worker % 250)}.${(round >> 8) & 255}.${(round & 255) || 1}`;
}

export type Transport = 'tcp' | 'ws';

/** A connection could not be opened (refused, timed out): the server may be gone. */
export class ConnectError extends Error {}

export abstract class FuzzConn {
  /** The server closed the connection (not the fuzzer). */
  closedByServer = false;
  closed = false;
  bytesReceived = 0;
  private waiter?: { parse: (data: Buffer) => unknown; resolve: (v: unknown) => void; reject: (e: Error) => void };
  private pending: Buffer[] = [];

  /** Writes a batch of frames and resolves once it is handed to the kernel (or the connection is gone). */
  abstract send(frames: Buffer[]): Promise<void>;
  /** Bytes below the protocol's own framing (WebSocket: straight into the TCP stream). */
  abstract sendRaw(bytes: Buffer): void;
  abstract close(): void;
  /**
   * Ends the fuzzer's side (TCP: FIN; WebSocket: a close frame) and waits
   * for the server to close in turn: it has then read everything sent
   * before. False if it has not within timeoutMs (the connection is dropped).
   */
  abstract finish(timeoutMs: number): Promise<boolean>;

  protected waitClosed(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(true);
      const timer = setTimeout(() => {
        this.onClosed = undefined;
        this.close();
        resolve(false);
      }, timeoutMs);
      this.onClosed = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
  private onClosed?: () => void;

  /**
   * Resolves with what `parse` makes of the bytes received from now on (TCP:
   * everything so far, concatenated; WebSocket: one message at a time) once
   * it returns something other than undefined. Rejects on close or timeout.
   */
  expect<T>(parse: (data: Buffer) => T | undefined, timeoutMs = 10_000): Promise<T> {
    this.pending = [];
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error, value?: unknown) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.waiter = { parse, resolve: (v) => done(undefined, v), reject: (e) => done(e) };
      if (this.closed) done(new Error('connection closed'));
    });
  }

  protected received(data: Buffer, stream: boolean): void {
    this.bytesReceived += data.length;
    const w = this.waiter;
    if (!w) return;
    let input = data;
    if (stream) {
      this.pending.push(data);
      input = this.pending.length === 1 ? data : Buffer.concat(this.pending);
    }
    try {
      const v = w.parse(input);
      if (v !== undefined) w.resolve(v);
    } catch (err) {
      w.reject(err as Error);
    }
  }

  protected ended(byServer: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.closedByServer = byServer;
    this.waiter?.reject(new Error('connection closed by the server'));
    this.onClosed?.();
  }
}

class TcpConn extends FuzzConn {
  private closing = false;

  constructor(private readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk, true));
    socket.on('error', () => undefined);
    socket.on('close', () => this.ended(!this.closing));
  }

  send(frames: Buffer[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    return new Promise((resolve) => {
      const onClose = () => resolve();
      this.socket.once('close', onClose);
      this.socket.write(data, () => {
        this.socket.off('close', onClose);
        resolve();
      });
    });
  }

  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
    this.ended(false);
  }

  finish(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const closed = this.waitClosed(timeoutMs);
    if (!this.closed) this.socket.end();
    return closed;
  }
}

class WsConn extends FuzzConn {
  private closing = false;

  constructor(private readonly ws: WebSocket) {
    super();
    ws.on('message', (data: Buffer) => this.received(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), false));
    ws.on('error', () => undefined);
    ws.on('close', () => this.ended(!this.closing));
  }

  send(frames: Buffer[]): Promise<void> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      let left = frames.length;
      const one = () => {
        if (--left === 0) resolve();
      };
      for (const f of frames) this.ws.send(f, { binary: true }, one);
    });
  }

  sendRaw(bytes: Buffer): void {
    const socket = (this.ws as unknown as { _socket?: net.Socket })._socket;
    if (!this.closed && socket && !socket.destroyed) socket.write(bytes);
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
    this.ended(false);
  }

  finish(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const closed = this.waitClosed(timeoutMs);
    if (!this.closed) this.ws.close(1000);
    return closed;
  }
}

export function connect(transport: Transport, at: Endpoint, localAddress?: string, timeoutMs = 5000): Promise<FuzzConn> {
  return transport === 'tcp' ? connectTcp(at, timeoutMs, localAddress) : connectWs(at, timeoutMs, localAddress);
}

function connectTcp(at: Endpoint, timeoutMs: number, localAddress?: string): Promise<FuzzConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: at.host, port: at.port, localAddress });
    const timer = setTimeout(() => fail(new Error('timed out')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectError(`connect to ${at.host}:${at.port}: ${err.message}`));
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(new TcpConn(socket));
    });
  });
}

function connectWs(at: Endpoint, timeoutMs: number, localAddress?: string): Promise<FuzzConn> {
  return new Promise((resolve, reject) => {
    const url = `ws://${at.host}:${at.port}${at.path ?? '/'}`;
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false, localAddress });
    const fail = (err: Error) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new ConnectError(`WebSocket ${url}: ${err.message}`));
    };
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve(new WsConn(ws));
    });
  });
}
