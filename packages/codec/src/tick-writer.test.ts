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
});
