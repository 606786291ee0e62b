import { ReplayCache } from './connection';

describe('ReplayCache: answers kept for DUP resends, within bounds', () => {
  const frame = (n: number) => Buffer.alloc(n, 1);

  it('finds an answer by user and packId, not another user\'s', () => {
    const cache = new ReplayCache();
    cache.remember(1, 'p', frame(10));
    expect(cache.find(1, 'p')).toEqual(frame(10));
    expect(cache.find(2, 'p')).toBeUndefined();
  });

  it('keeps the last answers of a user only, and counts bytes exactly', () => {
    const cache = new ReplayCache(2);
    cache.remember(1, 'a', frame(10));
    cache.remember(1, 'b', frame(20));
    cache.remember(1, 'c', frame(30));
    expect(cache.find(1, 'a')).toBeUndefined();
    expect(cache.find(1, 'c')).toBeDefined();
    cache.remember(1, 'c', frame(5)); // the same packId again replaces its answer
    expect(cache.size).toBe(25);
  });

  it('forgets the users heard from least recently when over its byte budget', () => {
    const cache = new ReplayCache(64, 60_000, 100);
    cache.remember(1, 'a', frame(40));
    cache.remember(2, 'a', frame(40));
    cache.remember(1, 'b', frame(10)); // user 1 is now the most recent
    cache.remember(3, 'a', frame(40)); // 130 bytes: user 2 goes
    expect(cache.find(2, 'a')).toBeUndefined();
    expect(cache.find(1, 'a')).toBeDefined();
    expect(cache.find(3, 'a')).toBeDefined();
    expect(cache.size).toBe(90);
  });

  it('an answer older than the time to live is not replayed', () => {
    const cache = new ReplayCache(64, -1);
    cache.remember(1, 'a', frame(1));
    expect(cache.find(1, 'a')).toBeUndefined();
  });
});
