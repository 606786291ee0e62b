import * as net from 'node:net';
import type { Logger } from '@tt/observability';

export interface MsyncTcpListener {
  port: number;
  close(): void;
}

/** The MSync TCP listener (length-prefixed frames; see MsyncTcpConnection). */
export async function listenMsyncTcp(options: { host: string; port: number; accepting(): boolean; onConnection(socket: net.Socket): void }, log: Logger): Promise<MsyncTcpListener> {
  const server = net.createServer((socket) => {
    if (!options.accepting()) {
      socket.destroy();
      return;
    }
    options.onConnection(socket);
  });
  server.on('error', (err) => log.error({ err }, 'msync tcp listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}
