import * as fs from 'node:fs';
import * as net from 'node:net';
import { freePort, freePorts } from './ports';

describe('freePort', () => {
  it('hands out distinct ports a server can listen on, outside the range client connections take their ports from', async () => {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p >= lo && p <= hi).toBe(false);
    const port = await freePort();
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => srv.close(r));
  });
});
