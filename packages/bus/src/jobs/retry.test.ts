import { backoffDelay, settle } from './retry';
import type { RetryPolicy } from './types';

const policy: RetryPolicy = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 };

test('back-off doubles from the initial delay and stops at the maximum', () => {
  expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test('jitter spreads a delay by at most its share, never past the maximum', () => {
  const p = { ...policy, jitter: 0.2 };
  expect(backoffDelay(p, 1, () => 0)).toBe(80);
  expect(backoffDelay(p, 1, () => 1)).toBe(120);
  expect(backoffDelay(p, 5, () => 1)).toBe(1000);
});

test('settle: done acks, retry backs off (or waits for the hint), the last attempt and dead outcomes dead-letter', () => {
  expect(settle(undefined, 1, policy)).toEqual({ action: 'ack' });
  expect(settle({ kind: 'done' }, 3, policy)).toEqual({ action: 'ack' });
  expect(settle({ kind: 'retry', reason: '503' }, 2, policy)).toEqual({ action: 'retry', delayMs: 200, reason: '503' });
  expect(settle({ kind: 'retry', reason: '429', delayMs: 700 }, 1, policy)).toEqual({ action: 'retry', delayMs: 700, reason: '429' });
  expect(settle({ kind: 'retry', reason: '429', delayMs: 60_000 }, 1, policy)).toEqual({ action: 'retry', delayMs: 1000, reason: '429' });
  expect(settle({ kind: 'retry', reason: '503' }, 4, policy)).toEqual({ action: 'dead', reason: '503 (gave up after 4 attempts)' });
  expect(settle({ kind: 'dead', reason: 'bad request' }, 1, policy)).toEqual({ action: 'dead', reason: 'bad request' });
});
