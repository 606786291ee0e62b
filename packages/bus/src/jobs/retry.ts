import type { JobOutcome, RetryPolicy } from './types';

/** What a worker does with a job once its handler has finished. */
export type Settlement = { action: 'ack' } | { action: 'retry'; delayMs: number; reason: string } | { action: 'dead'; reason: string };

export function assertRetryPolicy(policy: RetryPolicy): void {
  const { maxAttempts, initialDelayMs, maxDelayMs, multiplier = 2, jitter = 0.1 } = policy;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError(`retry.maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
  if (!(initialDelayMs >= 0)) throw new TypeError(`retry.initialDelayMs must be ≥ 0, got ${initialDelayMs}`);
  if (!(maxDelayMs >= initialDelayMs)) throw new TypeError(`retry.maxDelayMs must be ≥ initialDelayMs, got ${maxDelayMs}`);
  if (!(multiplier >= 1)) throw new TypeError(`retry.multiplier must be ≥ 1, got ${multiplier}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new TypeError(`retry.jitter must be within 0..1, got ${jitter}`);
}

/** The pause after failed attempt number `attempt` (1-based): initial × multiplier^(attempt−1), capped, ± jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const growth = (policy.multiplier ?? 2) ** Math.max(0, attempt - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * growth);
  const spread = policy.jitter ?? 0.1;
  const delay = base * (1 + spread * (2 * random() - 1));
  return Math.round(Math.min(policy.maxDelayMs, Math.max(0, delay)));
}

/**
 * Turns a handler's outcome into what happens to the job: acknowledged, put
 * back for later, or dead-lettered (asked to, or out of attempts). A retry
 * hint (e.g. Retry-After) lengthens the back-off, never beyond maxDelayMs.
 */
export function settle(outcome: JobOutcome | void, attempt: number, policy: RetryPolicy, random?: () => number): Settlement {
  if (!outcome || outcome.kind === 'done') return { action: 'ack' };
  if (outcome.kind === 'dead') return { action: 'dead', reason: outcome.reason };
  if (attempt >= policy.maxAttempts) return { action: 'dead', reason: `${outcome.reason} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})` };
  const delayMs = Math.min(policy.maxDelayMs, Math.max(backoffDelay(policy, attempt, random), outcome.delayMs ?? 0));
  return { action: 'retry', delayMs, reason: outcome.reason };
}

/** A handler's throw or rejection, as an outcome: retry. */
export function failureOutcome(err: unknown): JobOutcome {
  return { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
}

/** Queue names become subject tokens and consumer names: letters, digits, '-' and '_'. */
export function assertQueueName(queue: string): void {
  if (typeof queue !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(queue)) throw new TypeError(`invalid job queue name: ${JSON.stringify(queue)}`);
}
