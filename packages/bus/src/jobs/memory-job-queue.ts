import { assertQueueName, assertRetryPolicy, failureOutcome, settle } from './retry';
import {
  JobQueueError,
  type DeadLetter,
  type EnqueueOptions,
  type Job,
  type JobHandler,
  type JobOutcome,
  type JobQueue,
  type JobWorker,
  type WorkOptions,
} from './types';

export interface MemoryJobQueueOptions {
  /** Jobs one queue may hold (waiting, running or waiting for a retry) before enqueue fails with FULL. Default 100000. */
  maxJobs?: number;
  /** How long a job id is remembered for deduplication, ms. Default 120000. */
  dedupeWindowMs?: number;
  /** Dead letters kept in `deadLetters` for inspection (oldest dropped first). Default 1000. */
  deadLetterLimit?: number;
  now?: () => number;
}

interface StoredJob {
  data: Uint8Array;
  /** Deliveries so far. */
  attempts: number;
}

interface QueueState {
  name: string;
  ready: StoredJob[];
  /** ready + running + waiting for a retry. */
  size: number;
  retryTimers: Set<NodeJS.Timeout>;
  workers: MemoryWorker[];
  seen: Map<string, number>;
}

/**
 * The in-process JobQueue of standalone mode: the same retry, back-off and
 * dead-letter rules as the JetStream adapter, jobs kept in memory (they live
 * as long as the process). Dead letters are kept in `deadLetters`.
 */
export class MemoryJobQueue implements JobQueue {
  /** The most recent dead letters, oldest first. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly queues = new Map<string, QueueState>();
  private readonly maxJobs: number;
  private readonly dedupeWindowMs: number;
  private readonly deadLetterLimit: number;
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.maxJobs = options.maxJobs ?? 100_000;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 120_000;
    this.deadLetterLimit = options.deadLetterLimit ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Jobs a queue holds (waiting, running, or waiting for a retry). */
  size(queue: string): number {
    return this.queues.get(queue)?.size ?? 0;
  }

  async enqueue(queue: string, data: Uint8Array, opts: EnqueueOptions = {}): Promise<void> {
    assertQueueName(queue);
    if (this.closed) throw new JobQueueError('CLOSED', 'job queue is closed');
    const state = this.state(queue);
    if (opts.id !== undefined) {
      const now = this.now();
      for (const [id, at] of state.seen) {
        if (now - at < this.dedupeWindowMs) break;
        state.seen.delete(id);
      }
      if (state.seen.has(opts.id)) return;
      state.seen.set(opts.id, now);
    }
    if (state.size >= this.maxJobs) throw new JobQueueError('FULL', `job queue ${queue} holds ${state.size} jobs`);
    state.ready.push({ data: data.slice(), attempts: 0 });
    state.size++;
    this.pump(state);
  }

  async work(queue: string, handler: JobHandler, opts: WorkOptions): Promise<JobWorker> {
    assertQueueName(queue);
    assertRetryPolicy(opts.retry);
    if (this.closed) throw new JobQueueError('CLOSED', 'job queue is closed');
    const state = this.state(queue);
    const worker = new MemoryWorker(queue, handler, opts, (w, job, outcome) => this.finished(state, w, job, outcome), (w) => {
      state.workers = state.workers.filter((x) => x !== w);
    });
    state.workers.push(worker);
    this.pump(state);
    return worker;
  }

  isConnected(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const workers = [...this.queues.values()].flatMap((s) => s.workers);
    await Promise.all(workers.map((w) => w.stop()));
    for (const state of this.queues.values()) {
      for (const t of state.retryTimers) clearTimeout(t);
      state.retryTimers.clear();
    }
  }

  private state(queue: string): QueueState {
    let state = this.queues.get(queue);
    if (!state) {
      state = { name: queue, ready: [], size: 0, retryTimers: new Set(), workers: [], seen: new Map() };
      this.queues.set(queue, state);
    }
    return state;
  }

  /** Hands waiting jobs to workers with room, round-robin. */
  private pump(state: QueueState): void {
    if (this.closed) return;
    let handed = true;
    while (state.ready.length > 0 && handed) {
      handed = false;
      for (const w of state.workers) {
        if (state.ready.length === 0) break;
        if (!w.hasRoom()) continue;
        w.run(state.ready.shift()!);
        handed = true;
      }
    }
  }

  private finished(state: QueueState, worker: MemoryWorker, job: StoredJob, outcome: JobOutcome | void): void {
    const s = settle(outcome, job.attempts, worker.options.retry);
    if (s.action === 'ack') {
      state.size--;
    } else if (s.action === 'retry') {
      if (this.closed) return;
      const timer = setTimeout(() => {
        state.retryTimers.delete(timer);
        state.ready.push(job);
        this.pump(state);
      }, s.delayMs);
      state.retryTimers.add(timer);
      report(worker.options, () => worker.options.onRetry?.({ queue: state.name, attempt: job.attempts, reason: s.reason, delayMs: s.delayMs }));
    } else {
      state.size--;
      const dead: DeadLetter = { queue: state.name, data: job.data, attempts: job.attempts, reason: s.reason };
      this.deadLetters.push(dead);
      if (this.deadLetters.length > this.deadLetterLimit) this.deadLetters.shift();
      report(worker.options, () => worker.options.onDeadLetter?.(dead));
    }
    this.pump(state);
  }
}

class MemoryWorker implements JobWorker {
  running = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;

  constructor(
    readonly queue: string,
    private readonly handler: JobHandler,
    readonly options: WorkOptions,
    private readonly onFinished: (w: MemoryWorker, job: StoredJob, outcome: JobOutcome | void) => void,
    private readonly onStopped: (w: MemoryWorker) => void,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  hasRoom(): boolean {
    return !this.stopped && this.running < this.concurrency;
  }

  run(stored: StoredJob): void {
    stored.attempts++;
    this.running++;
    const job: Job = { queue: this.queue, data: stored.data, attempt: stored.attempts, working: () => {} };
    void (async () => {
      let outcome: JobOutcome | void;
      try {
        outcome = await this.handler(job);
      } catch (err) {
        outcome = failureOutcome(err);
      }
      this.running--;
      if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.onFinished(this, stored, outcome);
    })();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.onStopped(this);
    }
    if (this.running === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function report(options: WorkOptions, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    options.onError?.(err);
  }
}
