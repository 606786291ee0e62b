import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { BusError, NatsBus, type BusStatus } from './index';

const NATS_URL = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
const enc = new TextEncoder();

/**
 * A TCP relay to the real NATS server. `cut()` drops its connections and refuses new ones until `restore()`, so
 * the client stays disconnected for as long as the test needs (a busy machine cannot let it reconnect unseen).
 */
function relay(): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(NATS_URL.port || 4222), NATS_URL.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        cut: () => {
          refusing = true;
          for (const s of sockets) s.destroy();
        },
        restore: () => {
          refusing = false;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('status changes are reported; requests fail fast while disconnected; subscriptions survive a reconnect', async () => {
  const r = await relay();
  const statuses: BusStatus[] = [];
  const subject = `test.${process.pid}.${randomBytes(6).toString('hex')}.svc`;
  const responder = await NatsBus.connect({ servers: NATS_URL.href, name: 'status-responder' });
  const bus = await NatsBus.connect({
    servers: `nats://127.0.0.1:${r.port}`,
    name: 'status-test',
    reconnectTimeWaitMs: 50,
    onStatus: (s) => void statuses.push(s),
  });
  try {
    // The subscription lives on the connection that gets cut: it must be re-established after reconnect.
    bus.subscribe(subject, (_d, m) => void m.respond(enc.encode('pong')));
    await bus.flush();
    expect(new TextDecoder().decode(await responder.request(subject, enc.encode('ping')))).toBe('pong');

    r.cut();
    await waitFor(() => statuses.some((s) => s.type === 'disconnected'));
    expect(bus.isConnected()).toBe(false);
    const err = await bus.request(subject, enc.encode('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('DISCONNECTED');

    r.restore();
    await waitFor(() => statuses.some((s) => s.type === 'reconnected'));
    expect(bus.isConnected()).toBe(true);
    await bus.flush();
    expect(new TextDecoder().decode(await responder.request(subject, enc.encode('ping')))).toBe('pong');
  } finally {
    await bus.close();
    await responder.close();
    await r.close();
  }
  await waitFor(() => statuses.some((s) => s.type === 'closed'));
});

test('connect fails fast when no server is there (waitOnFirstConnect off)', async () => {
  const free = net.createServer();
  const port = await new Promise<number>((res) => free.listen(0, '127.0.0.1', () => res((free.address() as net.AddressInfo).port)));
  await new Promise<void>((res) => free.close(() => res()));
  await expect(NatsBus.connect({ servers: `nats://127.0.0.1:${port}`, name: 'nobody', connectTimeoutMs: 1000 })).rejects.toBeTruthy();
});
