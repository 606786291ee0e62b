import * as net from 'node:net';
import type { Logger } from '@tt/observability';

export interface TcpListenerOptions {
  host: string;
  port: number;
  onConnection(socket: net.Socket): void;
  /** Refuses new connections (draining). */
  accepting(): boolean;
}

export interface TcpListener {
  port: number;
  close(): void;
}

/** A front's TCP listener (tcp12, MSync over TCP, OMTP): hands each accepted socket to the front, refuses while draining. */
export async function listenTcp(name: string, options: TcpListenerOptions, log: Logger): Promise<TcpListener> {
  const server = net.createServer((socket) => {
    if (!options.accepting()) {
      socket.destroy();
      return;
    }
    options.onConnection(socket);
  });
  server.on('error', (err) => log.error({ err, front: name }, 'front listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}
