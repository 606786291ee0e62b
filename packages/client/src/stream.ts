import * as net from 'node:net';
import * as tls from 'node:tls';

/**
 * TLS for a test client: what tls.connect takes besides host and port (ca to
 * trust a test certificate, cert/key for client certificates, servername...).
 * Present = connect over TLS; absent = plain TCP.
 */
export type ClientTls = Omit<tls.ConnectionOptions, 'host' | 'port' | 'socket'>;

/** What a WebSocket client takes for wss:// (ws passes it on to https). */
export type WebSocketTls = Pick<ClientTls, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

/** Opens a TCP connection, or a TLS one when `tlsOptions` is given; resolves once it can carry data (TLS: after the handshake). */
export function connectStream(target: { host: string; port: number; localAddress?: string }, tlsOptions?: ClientTls): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // tls.connect passes socket options such as localAddress on to net (its type does not list them).
    const socket = tlsOptions ? tls.connect({ ...tlsOptions, host: target.host, port: target.port, localAddress: target.localAddress } as tls.ConnectionOptions) : net.connect({ host: target.host, port: target.port, localAddress: target.localAddress });
    socket.once('error', reject);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** SHA-256 fingerprint of the certificate the server presented (AA:BB:...), or undefined on a plain connection. */
export function peerFingerprintOf(socket: net.Socket): string | undefined {
  return socket instanceof tls.TLSSocket ? socket.getPeerCertificate().fingerprint256 : undefined;
}

/**
 * The port to dial from a GET /msg_server answer: the plain `port`, or with
 * TLS the `tlsPort` login_server adds (or `port` itself when `tls: true` says it is TLS).
 */
export function portFromAnswer(body: { port?: string; tlsPort?: string; tls?: boolean }, wantTls: boolean, what: string): number {
  if (!wantTls) return Number(body.port);
  if (body.tlsPort) return Number(body.tlsPort);
  if (body.tls) return Number(body.port);
  throw new Error(`${what}: login_server names no TLS port (${JSON.stringify(body)})`);
}
