// The JobQueue contract, run against both adapters: the in-process queue and
// JetStream on the real NATS at 127.0.0.1:4222 (a stream per test, deleted
// afterwards). On JetStream the producer and the two workers each have their
// own connection, as three processes would.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { JetStreamJobQueue, JobQueueError, MemoryJobQueue, type DeadLetter, type Job, type JobQueue, type RetryPolicy, type WorkOptions } from '../index';

jest.setTimeout(30_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const enc = new TextEncoder();
const dec = new TextDecoder();
const fast: RetryPolicy = { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 400, jitter: 0 };

interface Setup {
  producer: JobQueue;
  workers: [JobQueue, JobQueue];
  /** Dead letters as stored by the adapter. */
  storedDeadLetters(queue: string): Promise<Array<{ text: string; attempts: number; reason: string }>>;
  /** Kills worker i's connection without a goodbye (JetStream only). */
  crash?(i: 0 | 1): Promise<void>;
  close(): Promise<void>;
}

interface Adapter {
  name: string;
  setup(): Promise<Setup>;
}

const adapters: Adapter[] = [
  {
    name: 'MemoryJobQueue',
    async setup() {
      const q = new MemoryJobQueue();
      return {
        producer: q,
        workers: [q, q],
        storedDeadLetters: async (queue) => q.deadLetters.filter((d) => d.queue === queue).map((d) => ({ text: dec.decode(d.data), attempts: d.attempts, reason: d.reason })),
        close: () => q.close(),
      };
    },
  },
  {
    name: 'JetStreamJobQueue',
    async setup() {
      const id = randomBytes(4).toString('hex');
      const names = { stream: `TTJOBTEST_${id.toUpperCase()}`, subjectPrefix: `ttjobtest${id}` };
      const conns: NatsConnection[] = await Promise.all([0, 1, 2].map(() => connect({ servers: NATS_URL })));
      const w0 = await JetStreamJobQueue.open({ connection: conns[1], ...names, ackWaitMs: 1500 });
      const w1 = await JetStreamJobQueue.open({ connection: conns[2], ...names, ackWaitMs: 1500 });
      const producer = await JetStreamJobQueue.open({ connection: conns[0], ...names, manage: false });
      return {
        producer,
        workers: [w0, w1],
        storedDeadLetters: async (queue) => {
          const jsm = await conns[0].jetstreamManager();
          const info = await jsm.streams.info(producer.deadLetterStream);
          const out = [];
          for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
            const m = await jsm.streams.getMessage(producer.deadLetterStream, { seq });
            if (m.subject !== producer.deadLetterSubject(queue)) continue;
            out.push({ text: dec.decode(m.data), attempts: Number(m.header.get('Tt-Job-Attempts')), reason: m.header.get('Tt-Job-Reason') });
          }
          return out;
        },
        crash: async (i) => {
          await conns[i + 1].close();
        },
        close: async () => {
          await Promise.all([w0.close(), w1.close()]);
          await producer.destroy();
          await Promise.all(conns.map((c) => (c.isClosed() ? undefined : c.close())));
        },
      };
    },
  },
];

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(adapters)('$name: JobQueue contract', (adapter) => {
  let s: Setup;
  beforeEach(async () => {
    s = await adapter.setup();
  });
  afterEach(async () => {
    await s.close();
  });

  const opts = (extra: Partial<WorkOptions> = {}): WorkOptions => ({ retry: fast, ...extra });

  test('every job is handled once, in order with one worker at a time, and jobs enqueued before a worker wait for it', async () => {
    await s.producer.enqueue('q', enc.encode('early'));
    const seen: string[] = [];
    await s.workers[0].work('q', (job) => void seen.push(`${dec.decode(job.data)}@${job.attempt}`), opts());
    for (let i = 0; i < 5; i++) await s.producer.enqueue('q', enc.encode(`job${i}`));
    await waitFor(() => seen.length === 6, 'six jobs');
    expect(seen).toEqual(['early@1', 'job0@1', 'job1@1', 'job2@1', 'job3@1', 'job4@1']);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(6);
  });

  test('queues are separate: a worker only gets its own queue', async () => {
    const a: string[] = [];
    const b: string[] = [];
    await s.workers[0].work('alpha', (job) => void a.push(dec.decode(job.data)), opts());
    await s.workers[0].work('beta', (job) => void b.push(dec.decode(job.data)), opts());
    await s.producer.enqueue('alpha', enc.encode('1'));
    await s.producer.enqueue('beta', enc.encode('2'));
    await waitFor(() => a.length === 1 && b.length === 1, 'both queues');
    expect([a, b]).toEqual([['1'], ['2']]);
  });

  test('a failing job is retried with growing back-off (throw or retry outcome) until it succeeds', async () => {
    const times: number[] = [];
    const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
    await s.workers[0].work(
      'q',
      (job: Job) => {
        times.push(Date.now());
        if (job.attempt === 1) throw new Error('provider said 503');
        if (job.attempt === 2) return { kind: 'retry', reason: 'still 503' };
        return { kind: 'done' };
      },
      opts({ onRetry: (r) => retries.push({ attempt: r.attempt, delayMs: r.delayMs, reason: r.reason }) }),
    );
    await s.producer.enqueue('q', enc.encode('x'));
    await waitFor(() => times.length === 3, 'three attempts');
    expect(retries).toEqual([
      { attempt: 1, delayMs: 50, reason: 'provider said 503' },
      { attempt: 2, delayMs: 100, reason: 'still 503' },
    ]);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(40);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(90);
    await new Promise((r) => setTimeout(r, 300));
    expect(times).toHaveLength(3);
    expect(await s.storedDeadLetters('q')).toEqual([]);
  });

  test('a retry hint longer than the back-off is honoured', async () => {
    const times: number[] = [];
    await s.workers[0].work('q', (job) => (times.push(Date.now()), job.attempt === 1 ? { kind: 'retry', reason: '429', delayMs: 350 } : undefined), opts());
    await s.producer.enqueue('q', enc.encode('x'));
    await waitFor(() => times.length === 2, 'the retry');
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(330);
  });

  test('after maxAttempts the job is dead-lettered with its reason, and reported', async () => {
    const dead: DeadLetter[] = [];
    let attempts = 0;
    await s.workers[0].work('q', () => (attempts++, { kind: 'retry', reason: 'HTTP 500' }), opts({ onDeadLetter: (d) => dead.push(d) }));
    await s.producer.enqueue('q', enc.encode('doomed'));
    await waitFor(() => dead.length === 1, 'the dead letter');
    expect(attempts).toBe(3);
    expect(dead[0]).toMatchObject({ queue: 'q', attempts: 3, reason: 'HTTP 500 (gave up after 3 attempts)' });
    expect(dec.decode(dead[0].data)).toBe('doomed');
    expect(await s.storedDeadLetters('q')).toEqual([{ text: 'doomed', attempts: 3, reason: 'HTTP 500 (gave up after 3 attempts)' }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toBe(3);
  });

  test('a dead outcome dead-letters at once', async () => {
    const dead: DeadLetter[] = [];
    await s.workers[0].work('q', () => ({ kind: 'dead', reason: 'bad request' }), opts({ onDeadLetter: (d) => dead.push(d) }));
    await s.producer.enqueue('q', enc.encode('x'));
    await waitFor(() => dead.length === 1, 'the dead letter');
    expect(dead[0]).toMatchObject({ attempts: 1, reason: 'bad request' });
  });

  test('a job id seen within the dedupe window is stored once', async () => {
    const seen: string[] = [];
    await s.workers[0].work('q', (job) => void seen.push(dec.decode(job.data)), opts());
    await s.producer.enqueue('q', enc.encode('first'), { id: 'm-1' });
    await s.producer.enqueue('q', enc.encode('again'), { id: 'm-1' });
    await s.producer.enqueue('q', enc.encode('other'), { id: 'm-2' });
    await waitFor(() => seen.length === 2, 'two jobs');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['first', 'other']);
  });

  test('concurrency bounds the handlers running at once', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    await s.workers[0].work(
      'q',
      async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        done++;
      },
      opts({ concurrency: 3 }),
    );
    for (let i = 0; i < 12; i++) await s.producer.enqueue('q', enc.encode(String(i)));
    await waitFor(() => done === 12, 'twelve jobs');
    expect(peak).toBe(3);
  });

  test('two workers share one queue: each job is handled by exactly one of them', async () => {
    const by: Array<Map<string, number>> = [new Map(), new Map()];
    for (const i of [0, 1] as const) {
      await s.workers[i].work(
        'q',
        async (job) => {
          const k = dec.decode(job.data);
          by[i].set(k, (by[i].get(k) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 5));
        },
        opts({ concurrency: 2 }),
      );
    }
    const n = 60;
    for (let i = 0; i < n; i++) await s.producer.enqueue('q', enc.encode(`j${i}`));
    await waitFor(() => by[0].size + by[1].size === n, `${n} jobs`);
    await new Promise((r) => setTimeout(r, 200));
    const all = [...by[0].keys(), ...by[1].keys()];
    expect(new Set(all).size).toBe(n);
    expect(all).toHaveLength(n);
    expect([...by[0].values(), ...by[1].values()].every((c) => c === 1)).toBe(true);
    expect(by[0].size).toBeGreaterThan(0);
    expect(by[1].size).toBeGreaterThan(0);
  });

  test('a stopped worker takes nothing more; its queue keeps the jobs for the next worker', async () => {
    const first: string[] = [];
    const w = await s.workers[0].work('q', (job) => void first.push(dec.decode(job.data)), opts());
    await s.producer.enqueue('q', enc.encode('a'));
    await waitFor(() => first.length === 1, 'the first job');
    await w.stop();
    await s.producer.enqueue('q', enc.encode('b'));
    await new Promise((r) => setTimeout(r, 200));
    expect(first).toEqual(['a']);
    const second: string[] = [];
    await s.workers[1].work('q', (job) => void second.push(dec.decode(job.data)), opts());
    await waitFor(() => second.length === 1, 'the kept job');
    expect(second).toEqual(['b']);
  });

  test('enqueue after close is refused', async () => {
    const q = adapter.name === 'MemoryJobQueue' ? new MemoryJobQueue() : s.producer;
    await q.close();
    await expect(q.enqueue('q', enc.encode('x'))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('JetStreamJobQueue only', () => {
  test('a job whose worker dies mid-way goes to another worker after ack_wait, as its second attempt', async () => {
    const s = await adapters[1].setup();
    let release = () => {};
    const hung = new Promise<void>((r) => (release = r));
    try {
      const attempts: Array<[number, number]> = [];
      await s.workers[0].work('q', (job) => (attempts.push([0, job.attempt]), hung), opts0());
      await s.producer.enqueue('q', enc.encode('x'));
      await waitFor(() => attempts.length === 1, 'the first delivery');
      await s.crash!(0);
      await s.workers[1].work('q', (job) => void attempts.push([1, job.attempt]), opts0());
      await waitFor(() => attempts.length === 2, 'the redelivery', 10_000);
      expect(attempts).toEqual([
        [0, 1],
        [1, 2],
      ]);
    } finally {
      release();
      await s.close();
    }
  });

  test('a producer without the stream fails with UNAVAILABLE', async () => {
    const nc = await connect({ servers: NATS_URL });
    try {
      const id = randomBytes(4).toString('hex');
      const q = await JetStreamJobQueue.open({ connection: nc, stream: `TTJOBNONE_${id}`, subjectPrefix: `ttjobnone${id}`, manage: false });
      const err = await q.enqueue('q', enc.encode('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobQueueError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await nc.close();
    }
  });

  test('opening again with other limits updates the stream instead of failing', async () => {
    const nc = await connect({ servers: NATS_URL });
    const id = randomBytes(4).toString('hex');
    const names = { stream: `TTJOBUPD_${id.toUpperCase()}`, subjectPrefix: `ttjobupd${id}` };
    try {
      await JetStreamJobQueue.open({ connection: nc, ...names, maxAgeMs: 60_000 });
      const q = await JetStreamJobQueue.open({ connection: nc, ...names, maxAgeMs: 120_000 });
      const info = await (await nc.jetstreamManager()).streams.info(names.stream);
      expect(info.config.max_age).toBe(120_000 * 1e6);
      await q.work('q', () => undefined, opts0());
      await q.close();
      const again = await JetStreamJobQueue.open({ connection: nc, ...names, ackWaitMs: 5000 });
      await again.work('q', () => undefined, opts0());
      await again.destroy();
    } finally {
      await nc.close();
    }
  });
});

function opts0(): WorkOptions {
  return { retry: fast };
}
