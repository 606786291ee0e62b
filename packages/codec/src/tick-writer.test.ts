import * as net from 'node:net';
import { writeThisTick } from './tick-writer';

describe('writeThisTick', () => {
  it('sends the frames one tick writes to a socket in one system call, in order, and later ticks separately', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', r));
    const writev = jest.spyOn(client as unknown as { _writev: (...a: unknown[]) => void }, '_writev');
    try {
      for (let i = 0; i < 5; i++) writeThisTick(client, Buffer.from(`f${i};`));
      expect(client.writableCorked).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(client.writableCorked).toBe(0);
      expect(writev).toHaveBeenCalledTimes(1);
      writeThisTick(client, Buffer.from('late;'));
      await new Promise((r) => setTimeout(r, 50));
      expect(Buffer.concat(received).toString()).toBe('f0;f1;f2;f3;f4;late;');
    } finally {
      client.destroy();
      server.close();
    }
  });
});
