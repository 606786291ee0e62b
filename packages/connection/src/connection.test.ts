import * as net from 'node:net';
import { decodePdu, encodePdu } from '@tt/codec';
import { DEFAULT_CONNECTION_LIMITS, TcpConnection, type ConnectionEvents, type Framer, type FrontRequest, type TcpConnectionOptions } from './connection';
import { CommandRouter } from './command-router';
import { startIdleSweeper } from './idle-sweeper';

const framer: Framer = { frame: (cid, seq, body) => encodePdu(cid >> 8, cid, seq, body) };
const until = async (cond: () => boolean, ms = 1000) => {
  for (let i = 0; i < ms / 5 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

/** One TcpConnection on the server side of a loopback pair, with what it reports. */
async function pair(opts: TcpConnectionOptions = { maxFrameBytes: 1024, limits: DEFAULT_CONNECTION_LIMITS }) {
  const requests: FrontRequest[] = [];
  const log: string[] = [];
  const p = {
    /** Replaceable: what the listener does with a request (default: keeps a copy). */
    onRequest: (r: FrontRequest) => void requests.push({ ...r, body: Buffer.from(r.body) }),
  };
  const events: ConnectionEvents<TcpConnection> = {
    onRequest: (_c, r) => p.onRequest(r),
    onFrameError: (_c, err) => log.push(`frame:${err.message}`),
    onClose: () => log.push('close'),
    onCutOff: (_c, reason) => log.push(`cutoff:${reason}`),
  };
  let conn!: TcpConnection;
  const server = net.createServer((s) => (conn = new TcpConnection(1, framer, s, opts, events)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const received: Buffer[] = [];
  client.on('data', (d: Buffer) => received.push(d));
  client.on('error', () => {});
  await until(() => conn !== undefined);
  return Object.assign(p, { conn, client, requests, log, received, stop: () => (client.destroy(), server.close()) });
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

  it('reads into the shared read buffer (no data event), and requests the listener keeps stay intact after later reads', async () => {
    const p = await pair();
    try {
      const kept: FrontRequest[] = [];
      p.onRequest = (r) => void kept.push(r); // no copy: the body must already be the listener's own
      expect(p.conn['socket'].listenerCount('data')).toBe(0);
      for (let i = 0; i < 50; i++) {
        p.client.write(encodePdu(1, 0x0103, i, Buffer.from(`message ${i} `.repeat(20))));
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5)); // separate reads, one buffer
      }
      await until(() => kept.length === 50);
      expect(kept.map((r) => Buffer.from(r.body).toString())).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i} `.repeat(20)));
    } finally {
      p.stop();
    }
  });

  it('a frame over the limit is reported and the connection destroyed', async () => {
    const p = await pair({ maxFrameBytes: 64, limits: DEFAULT_CONNECTION_LIMITS });
    try {
      p.client.write(encodePdu(1, 0x0103, 1, Buffer.alloc(100)));
      await until(() => p.conn.closed);
      expect(p.log[0]).toMatch(/^frame:/);
      expect(p.requests).toEqual([]);
    } finally {
      p.stop();
    }
  });

  it('output past the hard cap (8 times the output cap) cuts the client off at once', async () => {
    const p = await pair({ maxFrameBytes: 1024, limits: { maxOutputBytes: 64 * 1024, maxInputBytes: 64 * 1024, slowReaderMs: 60_000 } });
    try {
      p.client.pause();
      const chunk = Buffer.alloc(16 * 1024);
      // Pushes (deliveries) keep coming whatever the client does: nothing is buffered past 512 KiB.
      for (let i = 0; i < 2000 && !p.conn.closed; i++) {
        p.conn.write(chunk);
        if (i % 8 === 0) await new Promise((r) => setImmediate(r));
      }
      await until(() => p.conn.closed, 3000);
      expect(p.log).toEqual(['cutoff:output_overflow', 'close']);
    } finally {
      p.stop();
    }
  });
});

/** What a flooding client sends: a 16-byte heartbeat PDU, many per write. */
const HEARTBEATS = Buffer.concat(Array.from({ length: 256 }, () => encodePdu(7, 0x0701, 0, Buffer.alloc(0))));
/** Answers every request with 4 KiB, so the client's kernel buffers fill after a few thousand answers. */
const BIG_ANSWER = encodePdu(7, 0x0701, 0, Buffer.alloc(4096));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes heartbeats as fast as the server takes them until `stop()`, waiting for 'drain' when the kernel buffers are full. */
function flood(client: net.Socket): { stop(): void } {
  let stopped = false;
  const go = () => {
    while (!stopped && !client.destroyed && client.write(HEARTBEATS));
    if (!stopped && !client.destroyed) client.once('drain', go);
  };
  go();
  return { stop: () => (stopped = true) };
}

describe('back-pressure', () => {
  const limits = { maxOutputBytes: 64 * 1024, maxInputBytes: 64 * 1024, slowReaderMs: 1500 };

  /** A server connection answering every request at once with BIG_ANSWER (as a heartbeat is answered). */
  async function answering(l = limits) {
    const p = await pair({ maxFrameBytes: 1024, limits: l });
    let handled = 0;
    p.onRequest = () => {
      handled += 1;
      p.conn.write(BIG_ANSWER);
    };
    return { ...p, handled: () => handled };
  }

  /** Waits until `count()` has not moved for `quietMs`. */
  async function settled(count: () => number, quietMs = 300, maxMs = 10_000): Promise<number> {
    const deadline = Date.now() + maxMs;
    let last = -1;
    while (Date.now() < deadline) {
      const now = count();
      if (now === last) return now;
      last = now;
      await sleep(quietMs);
    }
    throw new Error(`still moving after ${maxMs} ms (${last})`);
  }

  it('a client that floods and never reads is no longer read once its answers pile up, then is cut off as a slow reader', async () => {
    const p = await answering();
    try {
      p.client.pause();
      const f = flood(p.client);
      // The server answers until the client's kernel buffers and then the output cap are full, then reads nothing more.
      const answered = await settled(p.handled);
      expect(p.conn.closed).toBe(false);
      await sleep(300);
      expect(p.handled()).toBe(answered);
      // Kept at the cap for slowReaderMs: cut off, and the listener is told why.
      await until(() => p.conn.closed, 5000);
      f.stop();
      expect(p.log).toEqual(['cutoff:slow_reader', 'close']);
    } finally {
      p.stop();
    }
  });

  /** A connection whose requests go through a router to a handler that waits until `open()`. */
  async function gated(l = limits) {
    const p = await pair({ maxFrameBytes: 64 * 1024, limits: l });
    const dropped: number[] = [];
    const router = new CommandRouter<TcpConnection>({
      unknownCommand: () => {},
      badBody: () => {},
      notLoggedIn: () => {},
      queueFull: (_c, cid) => dropped.push(cid),
      handlerFailed: () => {},
      handled: () => {},
    });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let dispatched = 0;
    let handled = 0;
    router.on(0x0301, 'work', { decode: (b) => b }, async () => {
      await gate;
      handled += 1;
    }, { beforeLogin: true });
    p.onRequest = (r) => {
      dispatched += 1;
      router.dispatch(p.conn, r);
    };
    return { ...p, dropped, open, dispatched: () => dispatched, handled: () => handled };
  }

  it('requests waiting for their turn are bounded in bytes: reading stops rather than dropping, and all are handled later', async () => {
    const p = await gated();
    try {
      // 40 requests of 8 KiB against 64 KiB of input: at most 9 are taken while the first one waits.
      p.client.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => encodePdu(3, 0x0301, i, Buffer.alloc(8192)))));
      expect(await settled(p.dispatched)).toBeLessThanOrEqual(9);
      p.open();
      await until(() => p.handled() === 40, 5000);
      expect(p.dropped).toEqual([]);
    } finally {
      p.stop();
    }
  });

  it('and in count: at 256 queued requests reading stops, and none is dropped as too many in flight', async () => {
    const p = await gated();
    try {
      p.client.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => encodePdu(3, 0x0301, i, Buffer.alloc(0)))));
      expect(await settled(p.dispatched)).toBe(256);
      p.open();
      await until(() => p.handled() === 300, 5000);
      expect(p.dropped).toEqual([]);
    } finally {
      p.stop();
    }
  });

  it('a client that reads again is read again: the flood goes on being answered and nobody is cut off', async () => {
    const p = await answering({ ...limits, slowReaderMs: 60_000 });
    try {
      p.client.pause();
      const f = flood(p.client);
      const answered = await settled(p.handled);
      p.client.resume();
      await until(() => p.handled() > answered + 1000, 5000);
      f.stop();
      expect(p.conn.closed).toBe(false);
      expect(p.log).toEqual([]);
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
