import * as fs from 'node:fs';
import * as net from 'node:net';

/** The kernel's range for outgoing connections' local ports (Linux default 32768-60999). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    /* not Linux */
  }
  return [32768, 60999];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const [EPHEMERAL_LO, EPHEMERAL_HI] = ephemeralRange();
/** Ports handed out by this process, so two calls never return the same one. */
const handedOut = new Set<number>();

/**
 * A free 127.0.0.1 port for a server the caller is about to start, chosen
 * outside the ephemeral range: a port the kernel picked with listen(0) can be
 * taken as the local port of some client connection before the server binds
 * it (EADDRINUSE under parallel tests that open thousands of connections).
 */
export async function freePort(): Promise<number> {
  // Below the ephemeral range if there is room there, otherwise above it.
  const [lo, hi] = EPHEMERAL_LO > 11024 ? [10000, EPHEMERAL_LO - 1] : [EPHEMERAL_HI + 1, 65535];
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${lo}-${hi}`);
}

/** n distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}
