import * as net from 'node:net';
import { encodePdu, FrameDecoder, FrameError, type Pdu } from '@tt/codec';
import { IM } from '@tt/proto';
import type { Logger } from '@tt/observability';
import type { EncodableType, FilePeer, TransferService } from './transfer';

const { FileCmdID, OtherCmdID } = IM.BaseDefine;

/** A client that stops reading loses its connection rather than making us buffer without bound. */
const MAX_PENDING_WRITE_BYTES = 16 * 1024 * 1024;
/** Requests of one connection waiting to be handled; more and the connection is closed. */
const MAX_QUEUED = 256;

export interface ClientListenerOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  /** A connection silent this long is closed (clients send heartbeats). */
  idleTimeoutMs: number;
  transfer: TransferService;
  log: Logger;
  events?: {
    frameError?(): void;
    dropped?(reason: string): void;
    connections?(n: number): void;
  };
}

class FileConnection implements FilePeer {
  lastReceivedAt = Date.now();
  closed = false;
  queued = 0;
  tail: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
  ) {}

  send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    this.sendBody(commandId, type.encode(message).finish(), seqNum);
  }

  sendBody(commandId: number, body: Uint8Array, seqNum: number): void {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_PENDING_WRITE_BYTES) {
      this.socket.destroy();
      return;
    }
    this.socket.write(encodePdu(commandId >> 8, commandId, seqNum, body));
  }

  end(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

export interface RunningClientListener {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

/**
 * The client-facing TCP port of file_server: TeamTalk framing (16-byte header,
 * limits enforced: a broken frame closes the connection), heartbeats answered,
 * idle connections closed, and each connection's requests handed to the
 * transfer logic one after another.
 */
export async function startClientListener(opts: ClientListenerOptions): Promise<RunningClientListener> {
  const conns = new Set<FileConnection>();
  let nextId = 1;
  const { transfer, log } = opts;

  /** Decodes a request (throws on a bad body) and returns the work to run in the connection's queue. */
  const prepare = (conn: FileConnection, pdu: Pdu): (() => Promise<void>) | undefined => {
    switch (pdu.commandId) {
      case FileCmdID.CID_FILE_LOGIN_REQ: {
        const req = IM.File.IMFileLoginReq.decode(pdu.body);
        return () => transfer.login(conn, req, pdu.seqNum);
      }
      case FileCmdID.CID_FILE_STATE: {
        const msg = IM.File.IMFileState.decode(pdu.body);
        return () => transfer.state(conn, msg);
      }
      case FileCmdID.CID_FILE_PULL_DATA_REQ: {
        const req = IM.File.IMFilePullDataReq.decode(pdu.body);
        return () => transfer.pullReq(conn, req, pdu.seqNum);
      }
      case FileCmdID.CID_FILE_PULL_DATA_RSP: {
        // The body is a view into the read buffer: keep a copy, it is forwarded later.
        const body = Buffer.from(pdu.body);
        const rsp = IM.File.IMFilePullDataRsp.decode(body);
        return () => transfer.pullRsp(conn, rsp, body);
      }
      default:
        opts.events?.dropped?.('unknown_command');
        log.debug({ conn: conn.id, commandId: pdu.commandId }, 'unknown command ignored');
        return undefined;
    }
  };

  const onPdu = (conn: FileConnection, pdu: Pdu) => {
    if (pdu.commandId === OtherCmdID.CID_OTHER_HEARTBEAT) {
      conn.send(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}, pdu.seqNum);
      return;
    }
    let work: (() => Promise<void>) | undefined;
    try {
      work = prepare(conn, pdu);
    } catch (err) {
      opts.events?.dropped?.('bad_body');
      log.warn({ conn: conn.id, commandId: pdu.commandId, err: (err as Error).message }, 'body did not parse; dropped');
      return;
    }
    if (!work) return;
    if (conn.queued >= MAX_QUEUED) {
      opts.events?.dropped?.('queue_full');
      log.warn({ conn: conn.id }, 'too many requests queued; connection closed');
      conn.socket.destroy();
      return;
    }
    conn.queued += 1;
    const run = work;
    conn.tail = conn.tail.then(async () => {
      try {
        if (!conn.closed) await run();
      } catch (err) {
        opts.events?.dropped?.('handler_error');
        log.error({ conn: conn.id, commandId: pdu.commandId, err }, 'file request failed');
      } finally {
        conn.queued -= 1;
      }
    });
  };

  const server = net.createServer((socket) => {
    const conn = new FileConnection(nextId++, socket);
    if (nextId > 0x7ffffff0) nextId = 1;
    conns.add(conn);
    opts.events?.connections?.(conns.size);
    const decoder = new FrameDecoder(opts.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      conn.lastReceivedAt = Date.now();
      try {
        decoder.push(chunk, (pdu) => onPdu(conn, pdu));
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        opts.events?.frameError?.();
        log.warn({ conn: conn.id, remote: socket.remoteAddress, err: err.message }, 'broken frame; connection closed');
        socket.destroy();
      }
    });
    socket.on('error', () => {
      /* 'close' follows */
    });
    socket.on('close', () => {
      conn.closed = true;
      conns.delete(conn);
      opts.events?.connections?.(conns.size);
      conn.tail = conn.tail.then(() => transfer.closed(conn)).catch((err: unknown) => log.error({ err }, 'cleaning up a file connection failed'));
    });
  });
  server.on('error', (err) => log.error({ err }, 'file_server listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const idleTimer = setInterval(() => {
    const now = Date.now();
    for (const conn of conns) {
      if (now - conn.lastReceivedAt > opts.idleTimeoutMs) {
        log.info({ conn: conn.id }, 'file client silent too long; closed');
        conn.socket.destroy();
      }
    }
  }, Math.max(100, Math.min(5000, opts.idleTimeoutMs / 4)));
  idleTimer.unref();

  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => conns.size,
    close: async () => {
      clearInterval(idleTimer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of conns) conn.end();
      });
    },
  };
}
