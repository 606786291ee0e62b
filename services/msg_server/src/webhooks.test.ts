import { createHmac } from 'node:crypto';
import { MemoryBus, MemoryJobQueue } from '@tt/bus';
import { Registry } from 'prom-client';
import { Webhooks, createWebhookMetrics, deliveryOutcome, parseVerdict, signWebhookBody, verifyWebhookSignature, webhookBody, type FetchLike } from './webhooks';

const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } } as never;

describe('webhook signing', () => {
  it('signs the raw body with HMAC-SHA256 of the secret, and checks it in constant time', () => {
    const body = webhookBody('user.login', { userId: 7 }, 1_700_000_000_000);
    expect(JSON.parse(body)).toEqual({ event: 'user.login', at: 1_700_000_000_000, data: { userId: 7 } });
    const sig = signWebhookBody('k'.repeat(16), body);
    expect(sig).toBe(`sha256=${createHmac('sha256', 'k'.repeat(16)).update(body).digest('hex')}`);
    expect(verifyWebhookSignature('k'.repeat(16), body, sig)).toBe(true);
    expect(verifyWebhookSignature('x'.repeat(16), body, sig)).toBe(false);
    expect(verifyWebhookSignature('k'.repeat(16), `${body} `, sig)).toBe(false);
    expect(verifyWebhookSignature('k'.repeat(16), body, undefined)).toBe(false);
  });

  it('reads before_send verdicts strictly', () => {
    expect(parseVerdict('{"allow":false,"reason":"spam"}')).toEqual({ allow: false, reason: 'spam' });
    expect(parseVerdict('{"allow":true}')).toEqual({ allow: true, reason: '' });
    expect(parseVerdict('{"allow":"no"}')).toBeNull();
    expect(parseVerdict('not json')).toBeNull();
  });

  it('2xx is done; any other answer or none is retried (Retry-After lengthens the pause)', () => {
    expect(deliveryOutcome({ status: 204 })).toEqual({ kind: 'done' });
    expect(deliveryOutcome({ status: 503, retryAfterMs: 5000 })).toMatchObject({ kind: 'retry', delayMs: 5000 });
    expect(deliveryOutcome({ error: new Error('ECONNREFUSED') })).toMatchObject({ kind: 'retry' });
  });
});

describe('Webhooks', () => {
  const setting = (id: number, event: string, extra: object = {}) => ({ id, event, url: `http://hook/${id}`, secret: 's'.repeat(16), enabled: true, timeoutMs: 200, failOpen: true, created: 1, updated: 1, ...extra });

  function make(fetchImpl: FetchLike, list: object[]) {
    const registry = new Registry();
    const jobs = new MemoryJobQueue();
    const hooks = new Webhooks({
      db: { webhookList: async () => ({ webhooks: list as never }) },
      bus: new MemoryBus(),
      subjectPrefix: 'tt',
      jobs,
      metrics: createWebhookMetrics(registry),
      log,
      fetch: fetchImpl,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
    });
    return { hooks, jobs, registry };
  }

  it('retries a failing receiver with back-off, then counts the delivery; gives up after the last attempt', async () => {
    const calls: Array<{ url: string; sig: string; body: string }> = [];
    let failures = 0;
    const fetchImpl: FetchLike = async (url, init) => {
      calls.push({ url, sig: init.headers['x-tt-signature']!, body: init.body });
      const ok = url.endsWith('/1') ? failures++ >= 2 : false;
      return { status: ok ? 200 : 500, headers: { get: () => null }, text: async () => '' };
    };
    const { hooks, jobs, registry } = make(fetchImpl, [setting(1, 'user.login'), setting(2, 'user.login'), setting(3, 'user.logout', { enabled: false })]);
    await hooks.start();
    hooks.emit('user.login', { userId: 5 });
    hooks.emit('user.logout', { userId: 5 });
    const deadline = Date.now() + 3000;
    while (calls.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.filter((c) => c.url.endsWith('/1'))).toHaveLength(3);
    expect(calls.filter((c) => c.url.endsWith('/2'))).toHaveLength(3);
    expect(calls.filter((c) => c.url.endsWith('/3'))).toHaveLength(0);
    for (const c of calls) expect(c.sig).toBe(signWebhookBody('s'.repeat(16), c.body));
    const counted = (await registry.getSingleMetric('tt_webhook_deliveries_total')!.get()).values.map((v) => `${v.labels.event}:${v.labels.result}=${v.value}`).sort();
    expect(counted).toEqual(['user.login:dead=1', 'user.login:delivered=1', 'user.login:failed=5']);
    await hooks.stop();
    await jobs.close();
  });

  it('before_send: no hook costs nothing; a rejection, a fail-open and a fail-closed timeout', async () => {
    const fetchImpl: FetchLike = async (url, init) => {
      if (url.endsWith('/1')) return { status: 200, headers: { get: () => null }, text: async () => (init.body.includes('"spam"') ? '{"allow":false,"reason":"spam"}' : '{"allow":true}') };
      return new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))));
    };
    const empty = make(fetchImpl, []);
    await empty.hooks.start();
    expect(empty.hooks.beforeSend).toBeNull();
    await empty.hooks.stop();

    const { hooks, jobs } = make(fetchImpl, [setting(1, 'message.before_send'), setting(2, 'message.before_send', { timeoutMs: 100, failOpen: true })]);
    await hooks.start();
    const gates = hooks.beforeSend!;
    expect(gates).toHaveLength(2);
    await expect(hooks.checkBeforeSend(gates, { kind: 'text', text: 'fine' })).resolves.toBeUndefined();
    await expect(hooks.checkBeforeSend(gates, { kind: 'text', text: 'spam' })).rejects.toMatchObject({ code: 7, message: 'message rejected: spam' });
    hooks.apply([setting(2, 'message.before_send', { timeoutMs: 100, failOpen: false })]);
    await expect(hooks.checkBeforeSend(hooks.beforeSend!, { text: 'fine' })).rejects.toMatchObject({ code: 7 });
    await hooks.stop();
    await jobs.close();
  });
});
