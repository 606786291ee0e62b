/**
 * A durable work queue: jobs are stored until a worker has handled them (at-least-once), retried with
 * exponential back-off, and moved to a dead-letter subject after too many attempts. Beside MessageBus, which
 * stays at-most-once. Adapters: JetStream (cluster mode) and in-process (standalone mode), same semantics.
 *
 * One JobQueue holds several named queues (e.g. "message", "send"); the workers of a queue, in any number of
 * processes, share its jobs: each job goes to one of them at a time.
 */
export interface JobQueue {
  /** Stores one job. Resolves once it is stored (JetStream: acknowledged by the server). */
  enqueue(queue: string, data: Uint8Array, opts?: EnqueueOptions): Promise<void>;
  /** Starts taking jobs of `queue` with `handler`, at most `opts.concurrency` at a time. */
  work(queue: string, handler: JobHandler, opts: WorkOptions): Promise<JobWorker>;
  isConnected(): boolean;
  /** Stops every worker (waiting for running handlers) and releases what the adapter holds. */
  close(): Promise<void>;
}

export interface EnqueueOptions {
  /** Deduplication key: another job with the same id within the queue's dedupe window is dropped. */
  id?: string;
}

export interface Job {
  readonly queue: string;
  readonly data: Uint8Array;
  /** 1 on the first delivery, 2 on the first retry, … */
  readonly attempt: number;
  /** Keeps the job from being handed to another worker while a slow handler runs (JetStream: ack progress). */
  working(): void;
}

/**
 * What became of a job:
 * - done: finished, remove it (also what a handler returning nothing means);
 * - retry: try again after the back-off (or `delayMs`, when longer), unless it was the last attempt;
 * - dead: will never succeed; straight to the dead letters.
 * A handler that throws or rejects asks for a retry.
 */
export type JobOutcome = { kind: 'done' } | { kind: 'retry'; reason: string; delayMs?: number } | { kind: 'dead'; reason: string };

export type JobHandler = (job: Job) => Promise<JobOutcome | void> | JobOutcome | void;

export interface RetryPolicy {
  /** Deliveries before a job is dead-lettered (≥ 1). */
  maxAttempts: number;
  /** Delay before the first retry, ms. */
  initialDelayMs: number;
  /** Longest delay between attempts, ms. */
  maxDelayMs: number;
  /** Growth of the delay per attempt (default 2). */
  multiplier?: number;
  /** Random spread of each delay, 0..1 (default 0.1: ±10 %), so retries of many jobs do not line up. */
  jitter?: number;
}

/** A job given up on: what was dead-lettered, and why. */
export interface DeadLetter {
  queue: string;
  data: Uint8Array;
  attempts: number;
  reason: string;
}

export interface WorkOptions {
  retry: RetryPolicy;
  /** Jobs handled at once by this worker (default 1). */
  concurrency?: number;
  /** Called after a job was dead-lettered (metrics, logs). */
  onDeadLetter?: (dead: DeadLetter) => void;
  /** Called when a job is put back for another attempt. */
  onRetry?: (info: { queue: string; attempt: number; reason: string; delayMs: number }) => void;
  /** Problems outside a handler (a failed ack, a lost consumer); the worker carries on. */
  onError?: (err: unknown) => void;
}

export interface JobWorker {
  readonly queue: string;
  /** Handlers running now. */
  readonly running: number;
  /** Stops taking jobs and waits for the running handlers (at most timeoutMs, default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
}

export class JobQueueError extends Error {
  override readonly name = 'JobQueueError';
  constructor(
    readonly code: 'CLOSED' | 'FULL' | 'UNAVAILABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
