import { BusError, MemoryBus } from './index';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('MemoryBus specifics', () => {
  let bus: MemoryBus;
  beforeEach(() => {
    bus = new MemoryBus({ onError: () => {} });
  });
  afterEach(() => bus.close());

  test('delivery is never synchronous inside publish', async () => {
    const got: string[] = [];
    bus.subscribe('s', (d) => void got.push(dec.decode(d)));
    bus.publish('s', enc.encode('x'));
    expect(got).toEqual([]);
    await bus.flush();
    expect(got).toEqual(['x']);
  });

  test('queue groups go round-robin, and survive members leaving', async () => {
    const counts = [0, 0, 0];
    const subs = counts.map((_, i) => bus.subscribe('w', () => void counts[i]++, { queue: 'g' }));
    for (let i = 0; i < 6; i++) bus.publish('w', enc.encode(''));
    await bus.flush();
    expect(counts).toEqual([2, 2, 2]);
    subs[2].unsubscribe();
    for (let i = 0; i < 4; i++) bus.publish('w', enc.encode(''));
    await bus.flush();
    expect(counts[0] + counts[1]).toBe(8);
    expect(counts[2]).toBe(2);
    subs[0].unsubscribe();
    subs[1].unsubscribe();
    await expect(bus.request('w', enc.encode(''), { timeoutMs: 100 })).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
  });

  test('a message queued for a subscription that leaves before delivery is dropped', async () => {
    const got: string[] = [];
    const sub = bus.subscribe('s', (d) => void got.push(dec.decode(d)));
    bus.publish('s', enc.encode('x'));
    sub.unsubscribe();
    await bus.flush();
    expect(got).toEqual([]);
  });

  test('each subscriber gets its own copy of the data', async () => {
    const seen: string[] = [];
    bus.subscribe('s', (d) => {
      d[0] = 0x7a; // 'z'
    });
    bus.subscribe('s', (d) => void seen.push(dec.decode(d)));
    bus.publish('s', enc.encode('a'));
    await bus.flush();
    expect(seen).toEqual(['a']);
  });

  test('close rejects requests still waiting with CLOSED', async () => {
    bus.subscribe('never', () => {});
    const pending = bus.request('never', enc.encode(''), { timeoutMs: 5000 });
    await bus.close();
    await expect(pending).rejects.toBeInstanceOf(BusError);
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(bus.flush()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  test('handler errors go to stderr by default and are counted', async () => {
    const quiet = new MemoryBus();
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      quiet.subscribe('s', () => {
        throw new Error('boom');
      });
      quiet.publish('s', enc.encode(''));
      await quiet.flush();
      expect(quiet.handlerErrors).toBe(1);
      expect(String(write.mock.calls[0][0])).toContain('boom');
    } finally {
      write.mockRestore();
      await quiet.close();
    }
  });
});
