import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('lets a burst of the rate through, then one more per 1/rate seconds', () => {
    let clock = 0;
    const limiter = new RateLimiter(20, () => clock);
    const first = Array.from({ length: 25 }, () => limiter.tryTake(1)).filter(Boolean).length;
    expect(first).toBe(20);
    clock += 100; // two more tokens
    expect([limiter.tryTake(1), limiter.tryTake(1), limiter.tryTake(1)]).toEqual([true, true, false]);
    expect(limiter.tryTake(2)).toBe(true);
  });

  it('forgets idle users', () => {
    let clock = 0;
    const limiter = new RateLimiter(5, () => clock);
    limiter.tryTake(1);
    clock += 10_000;
    limiter.sweep();
    expect((limiter as any).buckets.size).toBe(0);
  });
});
