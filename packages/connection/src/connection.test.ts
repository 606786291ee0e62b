import * as net from 'node:net';
import { decodePdu, encodePdu } from '@tt/codec';
import { TcpConnection, type ConnectionEvents, type Framer, type FrontRequest } from './connection';
import { startIdleSweeper } from './idle-sweeper';

const framer: Framer = { frame: (cid, seq, body) => encodePdu(cid >> 8, cid, seq, body) };
const until = async (cond: () => boolean, ms = 1000) => {
  for (let i = 0; i < ms / 5 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

/** One TcpConnection on the server side of a loopback pair, with what it reports. */
async function pair(opts = { maxFrameBytes: 1024, maxPendingWriteBytes: 1 << 20 }) {
  const requests: FrontRequest[] = [];
  const log: string[] = [];
  const events: ConnectionEvents<TcpConnection> = {
    onRequest: (_c, r) => requests.push({ ...r, body: Buffer.from(r.body) }),
    onFrameError: (_c, err) => log.push(`frame:${err.message}`),
    onClose: () => log.push('close'),
  };
  let conn!: TcpConnection;
  const server = net.createServer((s) => (conn = new TcpConnection(1, framer, s, opts, events)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const received: Buffer[] = [];
  client.on('data', (d: Buffer) => received.push(d));
  client.on('error', () => {});
  await until(() => conn !== undefined);
  return { conn, client, requests, log, received, stop: () => (client.destroy(), server.close()) };
}

describe('TcpConnection', () => {
  it('decodes TeamTalk frames split anywhere, frames what it sends with its framer, and reports its close', async () => {
    const p = await pair();
    try {
      const bytes = Buffer.concat([encodePdu(1, 0x0103, 7, Buffer.from('abc')), encodePdu(7, 0x0701, 8, Buffer.alloc(0))]);
      p.client.write(bytes.subarray(0, 5));
      await new Promise((r) => setTimeout(r, 10));
      p.client.write(bytes.subarray(5));
      await until(() => p.requests.length === 2);
      expect(p.requests.map((r) => [r.commandId, r.seqNum, Buffer.from(r.body).toString()])).toEqual([
        [0x0103, 7, 'abc'],
        [0x0701, 8, ''],
      ]);
      p.conn.send(0x0104, { encode: () => ({ finish: () => Buffer.from('xyz') }) }, {}, 7);
      await until(() => p.received.length > 0);
      expect(decodePdu(Buffer.concat(p.received))).toMatchObject({ serviceId: 1, commandId: 0x0104, seqNum: 7 });
      p.conn.close();
      await until(() => p.conn.closed);
      expect(p.log).toEqual(['close']);
    } finally {
      p.stop();
    }
  });

  it('a frame over the limit is reported and the connection destroyed', async () => {
    const p = await pair({ maxFrameBytes: 64, maxPendingWriteBytes: 1 << 20 });
    try {
      p.client.write(encodePdu(1, 0x0103, 1, Buffer.alloc(100)));
      await until(() => p.conn.closed);
      expect(p.log[0]).toMatch(/^frame:/);
      expect(p.requests).toEqual([]);
    } finally {
      p.stop();
    }
  });

  it('cuts off a client that does not read once the unsent output passes the cap', async () => {
    const p = await pair({ maxFrameBytes: 1024, maxPendingWriteBytes: 64 * 1024 });
    try {
      p.client.pause();
      const chunk = Buffer.alloc(16 * 1024);
      for (let i = 0; i < 2000 && !p.conn.closed; i++) {
        p.conn.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      // Ended, not destroyed at once: a peer that still does not read is destroyed 2 s later.
      await until(() => p.conn.closed, 3000);
    } finally {
      p.stop();
    }
  });
});

describe('startIdleSweeper', () => {
  /** A connection double with the fields the sweep reads. */
  const fake = (fields: { identity?: object; connectedAt?: number; lastReceivedAt?: number; lastSentAt?: number }) => {
    const now = Date.now();
    return { identity: undefined, connectedAt: now, lastReceivedAt: now, lastSentAt: now, destroyed: false, destroy() { this.destroyed = true; }, ...fields } as any;
  };

  it('destroys connections past their login deadline or idle limit and heartbeats quiet ones', () => {
    const now = Date.now();
    const noLogin = fake({ connectedAt: now - 2000 });
    const freshNoLogin = fake({ connectedAt: now - 10, lastReceivedAt: now - 5000 });
    const idle = fake({ identity: { userId: 1 }, lastReceivedAt: now - 5000 });
    const quiet = fake({ identity: { userId: 2 }, lastSentAt: now - 3000 });
    const busy = fake({ identity: { userId: 3 } });
    const idled: unknown[] = [];
    const beats: unknown[] = [];
    const sweeper = startIdleSweeper({
      connections: () => [noLogin, freshNoLogin, idle, quiet, busy],
      loginTimeoutMs: 1000,
      idleLimitMs: () => 4000,
      onIdle: (c) => idled.push(c),
      heartbeat: { intervalMs: 2000, send: (c) => beats.push(c) },
    });
    try {
      sweeper.sweep();
      expect([noLogin, freshNoLogin, idle, quiet, busy].map((c) => c.destroyed)).toEqual([true, false, true, false, false]);
      expect(idled).toEqual([idle]);
      expect(beats).toEqual([quiet]);
    } finally {
      sweeper.stop();
    }
  });

  it('without a login deadline every connection gets the idle check', () => {
    const now = Date.now();
    const silent = fake({ lastReceivedAt: now - 5000 });
    const sweeper = startIdleSweeper({ connections: () => [silent], limitsMs: [4000], idleLimitMs: () => 4000 });
    sweeper.sweep();
    sweeper.stop();
    expect(silent.destroyed).toBe(true);
  });
});
