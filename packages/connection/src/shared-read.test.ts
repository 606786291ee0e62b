// Pins the Node internals shared-read.ts relies on. If a Node upgrade renames
// them, the server still works (it falls back to 'data' events) but loses the
// shared buffer's memory savings: this test is what says so.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { SHARED_READ_BYTES, readIntoSharedBuffer } from './shared-read';

async function acceptedPair(): Promise<{ server: net.Server; accepted: net.Socket; client: net.Socket }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  return { server, accepted: await accepted, client };
}

describe(`a plain TCP socket reads into the one shared buffer (Node ${process.versions.node})`, () => {
  it('an accepted socket switches over: bytes arrive through the callback, never as data events, and pause() stops them', async () => {
    const { server, accepted, client } = await acceptedPair();
    const reads: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const switched = readIntoSharedBuffer(accepted, function (nread, buffer) {
      expect(this).toBe(accepted);
      buffers.add(buffer.buffer);
      expect(buffer.length).toBe(SHARED_READ_BYTES);
      reads.push(Buffer.from(buffer.subarray(0, nread)));
    });
    const dataEvents: Buffer[] = [];
    accepted.on('data', (b) => dataEvents.push(b));
    try {
      expect(switched).toBe(true);
      client.write('hello ');
      await new Promise((r) => setTimeout(r, 50));
      client.write('world');
      await new Promise((r) => setTimeout(r, 50));
      expect(Buffer.concat(reads).toString()).toBe('hello world');
      expect(dataEvents).toEqual([]);
      // One buffer for every read (and, being module-level, for every socket).
      expect(buffers.size).toBe(1);

      accepted.pause();
      const before = reads.length;
      client.write('held back');
      await new Promise((r) => setTimeout(r, 100));
      expect(reads.length).toBe(before);
      accepted.resume();
      await new Promise((r) => setTimeout(r, 100));
      expect(Buffer.concat(reads).toString()).toBe('hello worldheld back');
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it('a socket already switched, or a TLS socket, is left alone (the caller keeps data events)', async () => {
    const { server, accepted, client } = await acceptedPair();
    const other = await acceptedPair();
    // TLS decrypts in JavaScript above the socket: its reads must stay Node's own.
    const secure = new tls.TLSSocket(other.accepted, { isServer: true });
    try {
      expect(readIntoSharedBuffer(accepted, () => {})).toBe(true);
      expect(readIntoSharedBuffer(accepted, () => {})).toBe(false);
      expect(readIntoSharedBuffer(secure, () => {})).toBe(false);
    } finally {
      secure.destroy();
      other.client.destroy();
      other.server.close();
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });
});
