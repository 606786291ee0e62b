import * as net from 'node:net';
import type { Logger } from '@tt/observability';
import { createTlsServer, type ReloadingServerTls } from '@tt/tls';

export interface TcpListenerOptions {
  host: string;
  port: number;
  onConnection(socket: net.Socket): void;
  /** Refuses new connections (draining). */
  accepting(): boolean;
  /** Serve TLS with this certificate (a tls.TLSSocket is a net.Socket: the connections work unchanged). */
  tls?: ReloadingServerTls;
}

export interface TcpListener {
  port: number;
  /** Whether this listener speaks TLS. */
  tls: boolean;
  close(): void;
}

/** A front's TCP listener (TeamTalk over TLS, tcp12, MSync over TCP, OMTP): hands each accepted socket to the front, refuses while draining. */
export async function listenTcp(name: string, options: TcpListenerOptions, log: Logger): Promise<TcpListener> {
  const onSocket = (socket: net.Socket) => {
    if (!options.accepting()) {
      socket.destroy();
      return;
    }
    options.onConnection(socket);
  };
  // With TLS the front gets the socket once the handshake is done.
  const server = options.tls ? createTlsServer(options.tls, onSocket) : net.createServer(onSocket);
  server.on('error', (err) => log.error({ err, front: name, tls: !!options.tls }, 'front listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { port: (server.address() as net.AddressInfo).port, tls: !!options.tls, close: () => server.close() };
}
