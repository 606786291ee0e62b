import { randomBytes } from 'node:crypto';
import { BusError, MemoryBus, NatsBus, type BusErrorHandler, type BusMsg, type MessageBus } from './index';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** a publishes, b subscribes: two connections on NATS, one instance in memory. */
interface Pair {
  a: MessageBus;
  b: MessageBus;
  close(): Promise<void>;
}

interface Impl {
  name: string;
  create(onError?: BusErrorHandler): Promise<Pair>;
}

const impls: Impl[] = [
  {
    name: 'MemoryBus',
    async create(onError) {
      const bus = new MemoryBus({ onError: onError ?? (() => {}) });
      return { a: bus, b: bus, close: () => bus.close() };
    },
  },
  {
    name: 'NatsBus',
    async create(onError) {
      const a = await NatsBus.connect({ servers: NATS_URL, name: 'contract-a', onError: onError ?? (() => {}) });
      const b = await NatsBus.connect({ servers: NATS_URL, name: 'contract-b', onError: onError ?? (() => {}) });
      return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  },
];

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(impls)('$name: MessageBus contract', (impl) => {
  let pair: Pair;
  let a: MessageBus;
  let b: MessageBus;
  let p: string; // unique subject prefix per test, so parallel runs on the same NATS never see each other
  const errors: unknown[] = [];

  /** Everything a published before now has been handed to b's handlers. */
  const settle = async () => {
    await a.flush();
    await b.flush();
  };

  beforeEach(async () => {
    errors.length = 0;
    p = `test.${process.pid}.${randomBytes(6).toString('hex')}`;
    pair = await impl.create((err) => errors.push(err));
    ({ a, b } = pair);
  });

  afterEach(async () => {
    await pair.close();
  });

  test('publish reaches a subscriber with subject and data', async () => {
    const got: Array<[string, string, BusMsg]> = [];
    b.subscribe(`${p}.greet`, (data, msg) => void got.push([msg.subject, dec.decode(data), msg]));
    await b.flush();
    a.publish(`${p}.greet`, enc.encode('hello'));
    await waitFor(() => got.length === 1);
    expect(got[0][0]).toBe(`${p}.greet`);
    expect(got[0][1]).toBe('hello');
    expect(got[0][2].reply).toBeUndefined();
    expect(got[0][2].respond(enc.encode('x'))).toBe(false);
    expect(b.isConnected()).toBe(true);
  });

  test('wildcards: * matches one token, > one or more', async () => {
    const seen: Record<string, string[]> = { star: [], gt: [], mid: [], exact: [] };
    b.subscribe(`${p}.a.*`, (_d, m) => void seen.star.push(m.subject.slice(p.length + 1)));
    b.subscribe(`${p}.a.>`, (_d, m) => void seen.gt.push(m.subject.slice(p.length + 1)));
    b.subscribe(`${p}.*.c`, (_d, m) => void seen.mid.push(m.subject.slice(p.length + 1)));
    b.subscribe(`${p}.a`, (_d, m) => void seen.exact.push(m.subject.slice(p.length + 1)));
    await b.flush();
    for (const s of ['a', 'a.b', 'a.c', 'a.b.c', 'x.c', 'x.c.d']) a.publish(`${p}.${s}`, enc.encode(s));
    await settle();
    await waitFor(() => seen.gt.length === 3);
    await settle();
    expect(seen.star).toEqual(['a.b', 'a.c']);
    expect(seen.gt).toEqual(['a.b', 'a.c', 'a.b.c']);
    expect(seen.mid).toEqual(['a.c', 'x.c']);
    expect(seen.exact).toEqual(['a']);
  });

  test('queue group: each message to exactly one member, spread over members; plain subscribers get all', async () => {
    const perMember = [0, 0, 0];
    const ids: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 3; i++) {
      b.subscribe(
        `${p}.work`,
        (data) => {
          perMember[i]++;
          ids.push(Number(dec.decode(data)));
        },
        { queue: 'workers' },
      );
    }
    b.subscribe(`${p}.work`, (data) => void plain.push(Number(dec.decode(data))));
    // A second group on the same subject gets its own copy of each message.
    const other: number[] = [];
    b.subscribe(`${p}.work`, (data) => void other.push(Number(dec.decode(data))), { queue: 'auditors' });
    await b.flush();
    const N = 300;
    for (let i = 0; i < N; i++) a.publish(`${p}.work`, enc.encode(String(i)));
    await waitFor(() => ids.length >= N && plain.length >= N && other.length >= N);
    await settle();
    expect(ids.length).toBe(N);
    expect(new Set(ids).size).toBe(N);
    expect(plain.length).toBe(N);
    expect(other.length).toBe(N);
    for (const n of perMember) expect(n).toBeGreaterThan(0);
  });

  test('request/reply', async () => {
    b.subscribe(`${p}.echo`, (data, msg) => {
      expect(msg.reply).toBeDefined();
      expect(msg.respond(enc.encode(`echo:${dec.decode(data)}`))).toBe(true);
    });
    await b.flush();
    const reply = await a.request(`${p}.echo`, enc.encode('ping'), { timeoutMs: 1000 });
    expect(dec.decode(reply)).toBe('echo:ping');
    // Async responders and concurrent requests: each gets its own answer.
    b.subscribe(`${p}.double`, async (data, msg) => {
      await new Promise((r) => setTimeout(r, Math.random() * 10));
      msg.respond(enc.encode(String(Number(dec.decode(data)) * 2)));
    }, { queue: 'doublers' });
    await b.flush();
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => a.request(`${p}.double`, enc.encode(String(n)))));
    expect(answers.map((x) => dec.decode(x))).toEqual(['2', '4', '6', '8', '10']);
  });

  test('request with nobody listening rejects NO_RESPONDERS quickly', async () => {
    const started = Date.now();
    const err = await a.request(`${p}.nobody`, enc.encode('x'), { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('NO_RESPONDERS');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('request that is never answered rejects TIMEOUT', async () => {
    b.subscribe(`${p}.silent`, () => {});
    await b.flush();
    const started = Date.now();
    const err = await a.request(`${p}.silent`, enc.encode('x'), { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('unsubscribe stops deliveries', async () => {
    const got: string[] = [];
    const kept: string[] = [];
    const sub = b.subscribe(`${p}.u`, (d) => void got.push(dec.decode(d)));
    b.subscribe(`${p}.u`, (d) => void kept.push(dec.decode(d)));
    await b.flush();
    a.publish(`${p}.u`, enc.encode('1'));
    await waitFor(() => got.length === 1);
    sub.unsubscribe();
    sub.unsubscribe(); // idempotent
    await b.flush();
    a.publish(`${p}.u`, enc.encode('2'));
    await waitFor(() => kept.length === 2);
    await settle();
    expect(got).toEqual(['1']);
    // The last member of a queue group leaving means nobody answers any more.
    const responder = b.subscribe(`${p}.svc`, (_d, m) => void m.respond(enc.encode('ok')), { queue: 'q' });
    await b.flush();
    expect(dec.decode(await a.request(`${p}.svc`, enc.encode('')))).toBe('ok');
    responder.unsubscribe();
    await b.flush();
    await expect(a.request(`${p}.svc`, enc.encode(''), { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
  });

  test('a throwing or rejecting handler is reported and breaks nothing', async () => {
    const good: string[] = [];
    let throws = 0;
    b.subscribe(`${p}.e`, () => {
      throws++;
      throw new Error('sync boom');
    });
    b.subscribe(`${p}.e`, async () => {
      await Promise.resolve();
      throw new Error('async boom');
    });
    b.subscribe(`${p}.e`, (d) => void good.push(dec.decode(d)));
    await b.flush();
    a.publish(`${p}.e`, enc.encode('1'));
    a.publish(`${p}.e`, enc.encode('2'));
    await waitFor(() => good.length === 2 && errors.length === 4);
    expect(throws).toBe(2); // the throwing handler keeps receiving
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['async boom', 'async boom', 'sync boom', 'sync boom']);
    expect((b as MemoryBus | NatsBus).handlerErrors).toBe(4);
  });

  test('1000 messages from one publisher arrive in order', async () => {
    const got: number[] = [];
    b.subscribe(`${p}.seq`, (d) => void got.push(new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(0)));
    await b.flush();
    const buf = new Uint8Array(4);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < 1000; i++) {
      view.setUint32(0, i); // the same buffer every time: the bus must not keep a reference
      a.publish(`${p}.seq`, buf);
    }
    await waitFor(() => got.length === 1000, 5000);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  test('invalid subjects are rejected', () => {
    expect(() => a.publish(`${p}.*`, enc.encode(''))).toThrow(TypeError);
    expect(() => a.publish(`${p}..x`, enc.encode(''))).toThrow(TypeError);
    expect(() => a.publish('', enc.encode(''))).toThrow(TypeError);
    expect(() => b.subscribe(`${p}.>.x`, () => {})).toThrow(TypeError);
    expect(() => b.subscribe(`${p} x`, () => {})).toThrow(TypeError);
  });

  test('after close: not connected, publish and request fail with CLOSED', async () => {
    await pair.close();
    expect(a.isConnected()).toBe(false);
    expect(() => a.publish(`${p}.x`, enc.encode(''))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(a.request(`${p}.x`, enc.encode(''))).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => b.subscribe(`${p}.x`, () => {})).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await pair.close(); // idempotent (afterEach closes again)
  });

  test('close lets queued messages and running handlers finish', async () => {
    const done: string[] = [];
    b.subscribe(`${p}.slow`, async (d, m) => {
      await new Promise((r) => setTimeout(r, 50));
      done.push(dec.decode(d));
      m.respond(enc.encode('late'));
    });
    await b.flush();
    const req = a.request(`${p}.slow`, enc.encode('r'), { timeoutMs: 2000 });
    a.publish(`${p}.slow`, enc.encode('p'));
    await a.flush();
    if (a !== b) {
      await b.flush(); // both messages are in b's hands
      await b.close(); // b drains while a still waits for the answer
      expect(dec.decode(await req)).toBe('late');
    } else {
      await b.close();
      expect(dec.decode(await req)).toBe('late');
    }
    expect(done.sort()).toEqual(['p', 'r']);
  });
});
