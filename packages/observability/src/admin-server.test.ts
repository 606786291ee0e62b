import http from 'node:http';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, createMetrics, startAdminServer, type AdminServer } from './index';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const silent = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('admin server', () => {
  let server: AdminServer;
  let ready = false;
  const metrics = createMetrics('test_role');
  const logins = metrics.counter({ name: 'tt_test_logins_total', help: 'Logins by result', labelNames: ['result'] as const });

  beforeAll(async () => {
    server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger: silent,
      checks: { ready: async () => ({ ok: ready, details: { db: ready ? 'up' : 'down' } }) },
    });
  });
  afterAll(() => server.close());

  test('listens on the port it was given (0 = any free one)', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  test('GET /healthz is 200 {"status":"ok"}', async () => {
    const res = await get(server.port, '/healthz');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  test('GET /readyz follows the check: 503 then 200', async () => {
    let res = await get(server.port, '/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ status: 'not ready', details: { db: 'down' } });
    ready = true;
    res = await get(server.port, '/readyz?verbose=1');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ready', details: { db: 'up' } });
  });

  test('GET /metrics is Prometheus text with custom and default metrics, labelled with the role', async () => {
    logins.inc({ result: 'ok' }, 3);
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE tt_test_logins_total counter');
    expect(res.body).toMatch(/^tt_test_logins_total\{result="ok",role="test_role"\} 3$/m);
    expect(res.body).toMatch(/^process_cpu_user_seconds_total\{role="test_role"\} /m);
    expect(res.body).toContain('nodejs_eventloop_lag_seconds');
    // What `pnpm bench connections` reads to leave V8's young generation out of the memory per connection.
    expect(res.body).toMatch(/^nodejs_heap_space_size_total_bytes\{space="new",role="test_role"\} \d+$/m);
  });

  test('GET /metrics counts open descriptors without walking every handle (a stall per scrape at many connections)', async () => {
    const openFds = async () => Number(/^process_open_fds\{role="test_role"\} (\d+)$/m.exec((await get(server.port, '/metrics')).body)?.[1]);
    const before = await openFds();
    // 100 loopback connections: 200 more descriptors (both ends are in this process).
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const accepted: net.Socket[] = [];
    listener.on('connection', (s) => accepted.push(s));
    const clients = await Promise.all(Array.from({ length: 100 }, () => new Promise<net.Socket>((resolve) => { const c = net.connect(port, '127.0.0.1', () => resolve(c)); })));
    while (accepted.length < 100) await new Promise((r) => setTimeout(r, 10));
    try {
      expect(await openFds()).toBeGreaterThanOrEqual(before + 200);
      const body = (await get(server.port, '/metrics')).body;
      expect(body).not.toContain('nodejs_active_handles');
      expect(body).not.toContain('nodejs_active_resources');
    } finally {
      for (const s of [...clients, ...accepted]) s.destroy();
      await new Promise((r) => listener.close(r));
    }
  });

  test('anything else is 404; another method 405', async () => {
    expect((await get(server.port, '/')).status).toBe(404);
    expect((await get(server.port, '/metricsx')).status).toBe(404);
    expect((await get(server.port, '/healthz', 'POST')).status).toBe(405);
  });
});

test('a readiness check that throws or hangs is "not ready"', async () => {
  const metrics = createMetrics('r');
  const throwing = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    logger: silent,
    checks: { ready: async () => Promise.reject(new Error('redis down')) },
  });
  const hanging = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    logger: silent,
    readyTimeoutMs: 50,
    checks: { ready: () => new Promise(() => {}) },
  });
  try {
    const a = await get(throwing.port, '/readyz');
    expect(a.status).toBe(503);
    expect(JSON.parse(a.body).details.error).toBe('redis down');
    const b = await get(hanging.port, '/readyz');
    expect(b.status).toBe(503);
    expect(JSON.parse(b.body).details.error).toMatch(/timed out/);
  } finally {
    await throwing.close();
    await hanging.close();
  }
});

test('a port in use is an error at start', async () => {
  const metrics = createMetrics('r');
  const first = await startAdminServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, logger: silent });
  try {
    await expect(startAdminServer({ host: '127.0.0.1', port: first.port, registry: metrics.registry, logger: silent })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  } finally {
    await first.close();
  }
});
