import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  headers,
  nanos,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { NatsBus } from '../nats-bus';
import { assertQueueName, assertRetryPolicy, failureOutcome, settle } from './retry';
import { JobQueueError, type DeadLetter, type EnqueueOptions, type Job, type JobHandler, type JobOutcome, type JobQueue, type JobWorker, type WorkOptions } from './types';

export interface JetStreamJobQueueOptions {
  connection: NatsConnection;
  /** Stream of the jobs (e.g. "TT_PUSH"); dead letters go to the stream `<stream>_DEAD`. */
  stream: string;
  /** Jobs are published to `<subjectPrefix>.jobs.<queue>`, dead letters to `<subjectPrefix>.dead.<queue>`. */
  subjectPrefix: string;
  /**
   * Create (or update) the streams and each queue's durable consumer. The
   * service that works the queues does; a producer that only enqueues need not
   * (its enqueue fails with UNAVAILABLE while the stream does not exist).
   * Default true.
   */
  manage?: boolean;
  /** How long a job not yet handled is kept, ms. Default 24 h. */
  maxAgeMs?: number;
  /** Jobs the stream holds at most (the oldest are dropped beyond). Default 1000000. */
  maxJobs?: number;
  /** How long dead letters are kept, ms. Default 7 days. */
  deadLetterMaxAgeMs?: number;
  /** Window of job-id deduplication, ms. Default 2 min. */
  dedupeWindowMs?: number;
  /** A job whose worker neither finishes nor reports progress within this goes to another worker, ms. Default 30 s. */
  ackWaitMs?: number;
  /** Stream replicas in a clustered NATS. Default 1. */
  replicas?: number;
  /** Timeout of one publish (server acknowledgement), ms. Default 5000. */
  publishTimeoutMs?: number;
}

const ERR_STREAM_NAME_IN_USE = 10058;
const ERR_CONSUMER_NAME_EXISTS = 10013;
const ERR_CONSUMER_ALREADY_EXISTS = 10148;

/** The JetStream API error code of a failure, if it is one. */
function apiErrorCode(err: unknown): number | undefined {
  const code = (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
  return typeof code === 'number' ? code : undefined;
}

/** Header values are one line of printable text. */
function headerValue(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 1000);
}

/**
 * JobQueue on NATS JetStream: one work-queue stream holds every queue's jobs
 * (a job is deleted once acknowledged), one durable pull consumer per queue is
 * shared by every worker of that queue in every process, so a job goes to one
 * of them at a time. A failed job is nak'ed with the back-off delay and
 * redelivered by the server; the attempt number is the server's delivery
 * count, so a job whose worker died mid-way counts that attempt too. Dead
 * letters are published, with their reason in headers, to a second stream
 * with limits retention, for inspection.
 */
export class JetStreamJobQueue implements JobQueue {
  readonly deadLetterStream: string;
  private readonly js: JetStreamClient;
  private jsmPromise?: Promise<JetStreamManager>;
  private readonly workers = new Set<JetStreamWorker>();
  private readonly ackWaitMs: number;
  private closed = false;

  private constructor(private readonly options: JetStreamJobQueueOptions) {
    this.js = options.connection.jetstream({ timeout: options.publishTimeoutMs ?? 5000 });
    this.deadLetterStream = `${options.stream}_DEAD`;
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
  }

  /** A queue over the connection; with `manage` (default), its streams exist once this resolves. */
  static async open(options: JetStreamJobQueueOptions): Promise<JetStreamJobQueue> {
    const q = new JetStreamJobQueue(options);
    if (options.manage !== false) await q.ensureStreams();
    return q;
  }

  get stream(): string {
    return this.options.stream;
  }

  jobsSubject(queue: string): string {
    return `${this.options.subjectPrefix}.jobs.${queue}`;
  }

  deadLetterSubject(queue: string): string {
    return `${this.options.subjectPrefix}.dead.${queue}`;
  }

  async enqueue(queue: string, data: Uint8Array, opts: EnqueueOptions = {}): Promise<void> {
    assertQueueName(queue);
    if (this.closed || this.options.connection.isClosed()) throw new JobQueueError('CLOSED', 'job queue is closed');
    try {
      await this.js.publish(this.jobsSubject(queue), data.slice(), opts.id === undefined ? undefined : { msgID: opts.id });
    } catch (err) {
      throw toJobQueueError(err, `job for ${queue} not stored`);
    }
  }

  async work(queue: string, handler: JobHandler, opts: WorkOptions): Promise<JobWorker> {
    assertQueueName(queue);
    assertRetryPolicy(opts.retry);
    if (this.closed) throw new JobQueueError('CLOSED', 'job queue is closed');
    const concurrency = Math.max(1, opts.concurrency ?? 1);
    if (this.options.manage !== false) await this.ensureConsumer(queue, concurrency);
    const consumer = await this.js.consumers.get(this.options.stream, queue);
    const messages = await consumer.consume({ max_messages: concurrency });
    const worker = new JetStreamWorker(queue, handler, opts, concurrency, messages, this.ackWaitMs, (dead) => this.publishDeadLetter(dead), () => this.workers.delete(worker));
    this.workers.add(worker);
    worker.start();
    return worker;
  }

  isConnected(): boolean {
    return !this.closed && !this.options.connection.isClosed();
  }

  /** Stops the workers; the connection stays open (it belongs to the caller). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
  }

  /** Deletes both streams and everything in them (tests, decommissioning). */
  async destroy(): Promise<void> {
    await this.close();
    const jsm = await this.jsm();
    for (const name of [this.options.stream, this.deadLetterStream]) {
      await jsm.streams.delete(name).catch(() => false);
    }
  }

  /** Creates the job and dead-letter streams, or brings their limits up to date. */
  async ensureStreams(): Promise<void> {
    const { stream, subjectPrefix } = this.options;
    const maxAgeMs = this.options.maxAgeMs ?? 24 * 3600_000;
    await this.ensureStream({
      name: stream,
      description: `job queues ${subjectPrefix}.jobs.*`,
      subjects: [`${subjectPrefix}.jobs.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      max_msgs: this.options.maxJobs ?? 1_000_000,
      // The server refuses a dedupe window longer than the age limit.
      duplicate_window: nanos(Math.min(maxAgeMs, this.options.dedupeWindowMs ?? 120_000)),
      num_replicas: this.options.replicas ?? 1,
    });
    await this.ensureStream({
      name: this.deadLetterStream,
      description: `dead letters of ${subjectPrefix}.jobs.*`,
      subjects: [`${subjectPrefix}.dead.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(this.options.deadLetterMaxAgeMs ?? 7 * 24 * 3600_000),
      max_msgs: 100_000,
      num_replicas: this.options.replicas ?? 1,
    });
  }

  private jsm(): Promise<JetStreamManager> {
    this.jsmPromise ??= this.options.connection.jetstreamManager();
    return this.jsmPromise;
  }

  private async ensureStream(cfg: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
    const jsm = await this.jsm();
    try {
      await jsm.streams.add(cfg);
    } catch (err) {
      if (apiErrorCode(err) !== ERR_STREAM_NAME_IN_USE) throw err;
      // It exists with other settings: keep its kind, take the new limits.
      const { retention: _r, storage: _s, name, ...limits } = cfg;
      void _r;
      void _s;
      await jsm.streams.update(name, limits);
    }
  }

  private async ensureConsumer(queue: string, concurrency: number): Promise<void> {
    const jsm = await this.jsm();
    const cfg: Partial<ConsumerConfig> = {
      durable_name: queue,
      description: `workers of job queue ${queue}`,
      filter_subject: this.jobsSubject(queue),
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.ackWaitMs),
      // Attempts are counted (and ended) here, not by the server.
      max_deliver: -1,
      max_ack_pending: Math.max(1000, concurrency * 16),
    };
    try {
      await jsm.consumers.add(this.options.stream, cfg);
    } catch (err) {
      const code = apiErrorCode(err);
      if (code !== ERR_CONSUMER_NAME_EXISTS && code !== ERR_CONSUMER_ALREADY_EXISTS) throw err;
      await jsm.consumers.update(this.options.stream, queue, { description: cfg.description, ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });
    }
  }

  private async publishDeadLetter(dead: DeadLetter): Promise<void> {
    const h = headers();
    h.set('Tt-Job-Queue', dead.queue);
    h.set('Tt-Job-Attempts', String(dead.attempts));
    h.set('Tt-Job-Reason', headerValue(dead.reason));
    await this.js.publish(this.deadLetterSubject(dead.queue), dead.data, { headers: h });
  }
}

function toJobQueueError(err: unknown, what: string): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '503') return new JobQueueError('UNAVAILABLE', `${what}: no JetStream stream takes it (is the consuming service started?)`, { cause: err });
  if (code === 'TIMEOUT') return new JobQueueError('UNAVAILABLE', `${what}: JetStream did not answer`, { cause: err });
  if (code === 'CONNECTION_CLOSED' || code === 'CONNECTION_DRAINING') return new JobQueueError('CLOSED', `${what}: connection closed`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

class JetStreamWorker implements JobWorker {
  running = 0;
  private stopping = false;
  private loop?: Promise<void>;
  private slotWaiter?: () => void;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly queue: string,
    private readonly handler: JobHandler,
    private readonly options: WorkOptions,
    private readonly concurrency: number,
    private readonly messages: ConsumerMessages,
    private readonly ackWaitMs: number,
    private readonly deadLetter: (dead: DeadLetter) => Promise<void>,
    private readonly onStopped: () => void,
  ) {}

  start(): void {
    this.loop = (async () => {
      try {
        for await (const m of this.messages) {
          if (this.stopping) {
            // Pulled but not started: give it back at once rather than after ack_wait.
            m.nak();
            continue;
          }
          if (this.running >= this.concurrency) await new Promise<void>((r) => (this.slotWaiter = r));
          if (this.stopping) {
            m.nak();
            continue;
          }
          void this.run(m);
        }
        if (!this.stopping) this.report(new Error(`job consumer ${this.queue} ended; no more jobs are taken`));
      } catch (err) {
        if (!this.stopping) this.report(err);
      }
    })();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.onStopped();
      this.slotWaiter?.();
      await this.messages.close().catch(() => undefined);
    }
    const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    const idle = this.running === 0 ? Promise.resolve() : new Promise<void>((r) => this.idleWaiters.push(r));
    await Promise.race([Promise.all([idle, this.loop]), deadline]);
  }

  private async run(m: JsMsg): Promise<void> {
    this.running++;
    const attempt = m.info.deliveryCount;
    const { retry } = this.options;
    // Keeps the job ours while a slow handler runs.
    // (If the connection is gone, the server hands the job to another worker after ack_wait.)
    const progress = setInterval(() => tryWorking(m), Math.max(500, Math.floor(this.ackWaitMs / 2)));
    progress.unref();
    try {
      let outcome: JobOutcome | void;
      if (attempt > retry.maxAttempts) {
        // Delivered again after its worker went silent (crashed, hung) too often: a poison job.
        outcome = { kind: 'dead', reason: `delivered ${attempt} times without an answer from a worker` };
      } else {
        const job: Job = { queue: this.queue, data: m.data, attempt, working: () => void tryWorking(m) };
        try {
          outcome = await this.handler(job);
        } catch (err) {
          outcome = failureOutcome(err);
        }
      }
      const s = settle(outcome, attempt, retry);
      if (s.action === 'ack') {
        m.ack();
      } else if (s.action === 'retry') {
        m.nak(s.delayMs);
        this.callback(() => this.options.onRetry?.({ queue: this.queue, attempt, reason: s.reason, delayMs: s.delayMs }));
      } else {
        const dead: DeadLetter = { queue: this.queue, data: m.data, attempts: attempt, reason: s.reason };
        try {
          await this.deadLetter(dead);
        } catch (err) {
          // Not recorded: keep the job and try the dead-lettering again later.
          this.report(err);
          m.nak(retry.maxDelayMs);
          return;
        }
        m.ack();
        this.callback(() => this.options.onDeadLetter?.(dead));
      }
    } catch (err) {
      this.report(err);
    } finally {
      clearInterval(progress);
      this.running--;
      const waiter = this.slotWaiter;
      this.slotWaiter = undefined;
      waiter?.();
      if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // the error reporter's own failure is not ours
    }
  }
}

function tryWorking(m: JsMsg): void {
  try {
    m.working();
  } catch {
    // connection gone: nothing to extend
  }
}

/**
 * Deletes a queue's job and dead-letter streams (test and benchmark clean-up:
 * their streams would otherwise stay in JetStream's storage).
 */
export async function deleteJobStreams(natsUrl: string, stream: string, subjectPrefix: string): Promise<void> {
  const bus = await NatsBus.connect({ servers: natsUrl.split(','), name: 'job-stream-cleanup' });
  try {
    await (await JetStreamJobQueue.open({ connection: bus.connection, stream, subjectPrefix, manage: false })).destroy();
  } finally {
    await bus.close();
  }
}
