import * as net from 'node:net';
import { heldThisTick, writeThisTick } from './tick-writer';

describe('writeThisTick', () => {
  async function pair() {
    const received: Buffer[] = [];
    const server = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', r));
    return { client, received, stop: () => (client.destroy(), server.close()) };
  }

  it('sends the frames one tick writes to a socket as one buffer, in order, and later ticks separately', async () => {
    const p = await pair();
    const write = jest.spyOn(p.client, 'write');
    try {
      for (let i = 0; i < 5; i++) writeThisTick(p.client, Buffer.from(`f${i};`));
      // Held until the end of the tick, and counted as unsent output meanwhile.
      expect(write).not.toHaveBeenCalled();
      expect(heldThisTick(p.client)).toBe(15);
      await new Promise((r) => setImmediate(r));
      expect(write).toHaveBeenCalledTimes(1);
      expect(heldThisTick(p.client)).toBe(0);
      writeThisTick(p.client, Buffer.from('late;'));
      await new Promise((r) => setTimeout(r, 50));
      expect(write).toHaveBeenCalledTimes(2);
      expect(Buffer.concat(p.received).toString()).toBe('f0;f1;f2;f3;f4;late;');
    } finally {
      p.stop();
    }
  });

  it('a burst leaves in slices of 16 KiB, so a tick never holds thousands of frames', async () => {
    const p = await pair();
    const write = jest.spyOn(p.client, 'write');
    try {
      for (let i = 0; i < 40; i++) writeThisTick(p.client, Buffer.alloc(1024, i));
      expect(write).toHaveBeenCalledTimes(2);
      expect(heldThisTick(p.client)).toBe(8 * 1024);
      await new Promise((r) => setImmediate(r));
      expect(write).toHaveBeenCalledTimes(3);
      await new Promise((r) => setTimeout(r, 50));
      const all = Buffer.concat(p.received);
      expect(all.length).toBe(40 * 1024);
      expect([...Array(40).keys()].every((i) => all[i * 1024] === i)).toBe(true);
    } finally {
      p.stop();
    }
  });

  it('a write that has to wait in the stream\'s buffer is memory of its own, not a slice of Node\'s buffer pool', async () => {
    const { Writable } = await import('node:stream');
    const writes: Buffer[] = [];
    // A peer that never reads: the first write never completes, so everything after it waits.
    const stuck = new Writable({ write: (chunk: Buffer, _enc, _done) => void writes.push(chunk) });
    writeThisTick(stuck, Buffer.from('first'));
    await new Promise((r) => setImmediate(r));
    const pooled = Buffer.from('a frame from the pool');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length); // the premise: a slice of a shared slab
    writeThisTick(stuck, pooled);
    await new Promise((r) => setImmediate(r));
    expect(stuck.writableLength).toBe(5 + pooled.length);
    const waiting = (stuck as unknown as { writableBuffer: Array<{ chunk: Buffer }> }).writableBuffer;
    expect(waiting.map((w) => w.chunk.toString())).toEqual(['a frame from the pool']);
    expect(waiting[0].chunk.buffer.byteLength).toBe(pooled.length);
  });
});
