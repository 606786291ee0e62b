import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createHttpsServer, type ReloadingServerTls } from '@tt/tls';

export interface WsListenerOptions {
  host: string;
  port: number;
  /** The one path that upgrades ("/ws"). */
  path: string;
  /** Largest WebSocket message; a bigger one closes the connection (1009). */
  maxFrameBytes: number;
  onConnection(socket: WebSocket, remoteAddress: string): void;
  /** Refuses new connections (draining). */
  accepting(): boolean;
  /** Serve wss:// (HTTPS) with this certificate. */
  tls?: ReloadingServerTls;
}

export interface WsListener {
  port: number;
  /** Whether this listener speaks TLS (wss://). */
  tls: boolean;
  close(): void;
}

/**
 * The WebSocket front's listener: an HTTP server that upgrades on one path.
 * `ws` does the WebSocket protocol (handshake, framing, masking, limits);
 * compression is off, as chat frames are small and per-connection deflate
 * state costs memory.
 */
export async function listenWs(options: WsListenerOptions): Promise<WsListener> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  const notUpgrade: http.RequestListener = (req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
    res.end(`WebSocket endpoint: ${options.path}\n`);
  };
  const server = options.tls ? createHttpsServer(options.tls, notUpgrade) : http.createServer(notUpgrade);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== options.path || !options.accepting()) {
      socket.end(`HTTP/1.1 ${path !== options.path ? '404 Not Found' : '503 Service Unavailable'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => options.onConnection(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    tls: !!options.tls,
    close: () => {
      server.close();
      wss.close();
    },
  };
}
