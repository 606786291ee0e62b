import * as net from 'node:net';
import { CommandRouter, DEFAULT_CONNECTION_LIMITS, startIdleSweeper, TcpConnection, type ConnectionEvents, type ConnectionLimits, type Framer } from '@tt/connection';
import { encodePdu } from '@tt/codec';
import { IM } from '@tt/proto';
import { LogThrottle, clip, type Logger } from '@tt/observability';
import { createTlsServer, type ReloadingServerTls } from '@tt/tls';
import type { FilePeer, TransferService } from './transfer';

const { FileCmdID, OtherCmdID } = IM.BaseDefine;

export interface ClientListenerOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  /** A connection silent this long is closed (clients send heartbeats). */
  idleTimeoutMs: number;
  /** What one client may make us hold (back-pressure, see @tt/connection); default DEFAULT_CONNECTION_LIMITS. */
  limits?: ConnectionLimits;
  transfer: TransferService;
  log: Logger;
  /** The same service over TLS on its own port too (FILE_SERVER_TLS_PORT). */
  tls?: { port: number; certificate: ReloadingServerTls };
  events?: {
    frameError?(): void;
    dropped?(reason: string): void;
    connections?(n: number): void;
    /** A client cut off for the unsent output it held (slow_reader, output_overflow). */
    cutOff?(reason: string): void;
  };
}

/** TeamTalk's 16-byte-header PDUs (the service id is the command id's high byte). */
const teamTalkFraming: Framer = {
  frame: (commandId, seqNum, body) => encodePdu(commandId >> 8, commandId, seqNum, body),
};

/** A file client: the shared TCP connection, as the transfer logic sees it. */
class FileConnection extends TcpConnection implements FilePeer {
  constructor(id: number, socket: net.Socket, opts: { maxFrameBytes: number; limits: ConnectionLimits }, events: ConnectionEvents<FileConnection>) {
    super(id, teamTalkFraming, socket, opts, events);
  }

  sendBody(commandId: number, body: Uint8Array, seqNum: number): void {
    this.write(this.front.frame(commandId, seqNum, body));
  }

  end(): void {
    this.close();
  }
}

export interface RunningClientListener {
  port: number;
  /** The TLS port, when there is one. */
  tlsPort?: number;
  connections(): number;
  close(): Promise<void>;
}

/**
 * The client-facing TCP port of file_server, on the connection machinery
 * msg_server's fronts share (@tt/connection): TeamTalk framing (limits
 * enforced: a broken frame closes the connection), heartbeats answered at
 * once, idle connections closed, and each connection's requests handed to the
 * transfer logic one after another. Logging in is the transfer logic's
 * (per task), so every command is taken before a router-level login.
 */
export async function startClientListener(opts: ClientListenerOptions): Promise<RunningClientListener> {
  const conns = new Set<FileConnection>();
  let nextId = 1;
  const { transfer, log } = opts;
  // A client's repeated mistakes: its first line, then a count (metrics have every one).
  const logThrottle = new LogThrottle(log);
  const dropped = (reason: string) => opts.events?.dropped?.(reason);

  const router = new CommandRouter<FileConnection>({
    unknownCommand: (conn, commandId) => {
      dropped('unknown_command');
      log.debug({ conn: conn.id, commandId }, 'unknown command ignored');
    },
    badBody: (conn, commandId, err) => {
      dropped('bad_body');
      logThrottle.warn(conn.id, 'bad_body', { conn: conn.id, commandId, err: clip(err.message) }, 'body did not parse; dropped');
    },
    notLoggedIn: () => {
      /* every route is taken before login */
    },
    queueFull: (conn) => {
      dropped('queue_full');
      log.warn({ conn: conn.id }, 'too many requests queued; connection closed');
      conn.destroy();
    },
    handlerFailed: (conn, commandId, err) => {
      dropped('handler_error');
      log.error({ conn: conn.id, commandId, err }, 'file request failed');
    },
    handled: () => {},
  });
  const anytime = { beforeLogin: true };
  router
    .on(OtherCmdID.CID_OTHER_HEARTBEAT, 'heartbeat', IM.Other.IMHeartBeat, ({ reply }) => reply(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}), { beforeLogin: true, immediate: true })
    .on(FileCmdID.CID_FILE_LOGIN_REQ, 'file_login', IM.File.IMFileLoginReq, ({ conn, seqNum }, req) => transfer.login(conn, req, seqNum), anytime)
    .on(FileCmdID.CID_FILE_STATE, 'file_state', IM.File.IMFileState, ({ conn }, msg) => transfer.state(conn, msg), anytime)
    .on(FileCmdID.CID_FILE_PULL_DATA_REQ, 'file_pull_req', IM.File.IMFilePullDataReq, ({ conn, seqNum }, req) => transfer.pullReq(conn, req, seqNum), anytime)
    .on(
      FileCmdID.CID_FILE_PULL_DATA_RSP,
      'file_pull_rsp',
      // The body is a view into the read buffer: keep a copy, it is forwarded later.
      {
        decode: (view: Uint8Array) => {
          const body = Buffer.from(view);
          return { rsp: IM.File.IMFilePullDataRsp.decode(body), body };
        },
      },
      ({ conn }, { rsp, body }) => transfer.pullRsp(conn, rsp, body),
      anytime,
    );

  const events: ConnectionEvents<FileConnection> = {
    onRequest: (conn, request) => router.dispatch(conn, request),
    onFrameError: (conn, err) => {
      opts.events?.frameError?.();
      logThrottle.warn(conn.id, 'broken_frame', { conn: conn.id, remote: conn.remoteAddress, err: clip(err.message) }, 'broken frame; connection closed');
    },
    onClose: (conn) => {
      conns.delete(conn);
      logThrottle.forget(conn.id);
      opts.events?.connections?.(conns.size);
      // After the requests it sent (those not started are skipped: the connection is closed).
      router
        .idle(conn)
        .then(() => transfer.closed(conn))
        .catch((err: unknown) => log.error({ err }, 'cleaning up a file connection failed'));
    },
    onCutOff: (conn, reason) => {
      opts.events?.cutOff?.(reason);
      log.warn({ conn: conn.id, remote: conn.remoteAddress, reason }, 'file client holds too much unsent output; connection cut off');
    },
  };

  const onSocket = (socket: net.Socket) => {
    const conn = new FileConnection(nextId++, socket, { maxFrameBytes: opts.maxFrameBytes, limits: opts.limits ?? DEFAULT_CONNECTION_LIMITS }, events);
    if (nextId > 0x7ffffff0) nextId = 1;
    conns.add(conn);
    opts.events?.connections?.(conns.size);
  };
  const listen = async (server: net.Server, port: number) => {
    server.on('error', (err) => log.error({ err, port }, 'file_server listener error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  };
  const server = await listen(net.createServer(onSocket), opts.port);
  // TLS clients: the same connections once the handshake is done.
  const tlsServer = opts.tls ? await listen(createTlsServer(opts.tls.certificate, onSocket), opts.tls.port) : undefined;

  const sweeper = startIdleSweeper({
    connections: () => conns,
    limitsMs: [opts.idleTimeoutMs],
    idleLimitMs: () => opts.idleTimeoutMs,
    onIdle: (conn) => log.info({ conn: conn.id }, 'file client silent too long; closed'),
  });

  return {
    port: (server.address() as net.AddressInfo).port,
    tlsPort: tlsServer ? (tlsServer.address() as net.AddressInfo).port : undefined,
    connections: () => conns.size,
    close: async () => {
      sweeper.stop();
      logThrottle.close();
      tlsServer?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of conns) conn.close();
      });
    },
  };
}
