import { Writable } from 'node:stream';
import { clip, createLogger, LogThrottle } from './index';

/** A logger writing into an array of parsed lines, and a clock the test moves. */
function setup(opts: { burst?: number; maxSources?: number } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  let now = 1_000_000;
  const throttle = new LogThrottle(createLogger('test', { destination: stream, level: 'info' }), { intervalMs: 10_000, now: () => now, ...opts });
  return { lines, throttle, advance: (ms: number) => (now += ms) };
}

describe('LogThrottle', () => {
  test('a flood from one connection writes its first line, then one summary with the count', () => {
    const { lines, throttle } = setup();
    const written = Array.from({ length: 5000 }, () => throttle.warn('conn:7', 'bad_body', { connId: 7 }, 'body did not parse; dropped')).filter(Boolean);
    expect(written).toHaveLength(1);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', connId: 7, reason: 'bad_body', msg: 'body did not parse; dropped' })]);

    throttle.flush();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 'warn', reason: 'bad_body', suppressed: 4999, msg: 'body did not parse; dropped (4999 more in the last 10 s, not logged)' });
    throttle.close();
  });

  test('the next window logs again; a quiet window writes no summary', () => {
    const { lines, throttle, advance } = setup();
    throttle.warn('conn:1', 'queue_full', {}, 'too many requests in flight');
    throttle.flush();
    expect(lines).toHaveLength(1);
    advance(10_000);
    expect(throttle.warn('conn:1', 'queue_full', {}, 'too many requests in flight')).toBe(true);
    throttle.close();
  });

  test('reasons are counted apart; each source has its own first line', () => {
    const { lines, throttle } = setup();
    throttle.warn('conn:1', 'bad_body', {}, 'body did not parse');
    throttle.warn('conn:1', 'queue_full', {}, 'too many requests in flight');
    throttle.warn('conn:2', 'bad_body', {}, 'body did not parse');
    throttle.warn('conn:2', 'bad_body', {}, 'body did not parse');
    expect(lines.map((l) => l.reason)).toEqual(['bad_body', 'queue_full', 'bad_body']);
    throttle.close();
  });

  test('many sources failing once each spend the reason budget, then are counted', () => {
    const { lines, throttle } = setup({ burst: 3 });
    for (let conn = 0; conn < 1000; conn++) throttle.warn(`conn:${conn}`, 'broken_frame', {}, 'broken frame; connection closed');
    throttle.close();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ reason: 'broken_frame', suppressed: 997 });
  });

  test('remembered sources stay under the cap, and a closed connection is forgotten', () => {
    const { throttle } = setup({ maxSources: 100, burst: 1_000_000 });
    for (let conn = 0; conn < 5000; conn++) throttle.info(conn, 'unknown_command', {}, 'unknown command');
    expect(throttle.sourceCount).toBe(100);
    throttle.forget(4999);
    expect(throttle.sourceCount).toBe(99);
    throttle.close();
  });

  test('a level the logger does not write costs nothing and is not counted', () => {
    const { lines, throttle } = setup();
    for (let i = 0; i < 10; i++) throttle.write('debug', 'conn:1', 'not_logged_in', {}, 'request before login');
    throttle.close();
    expect(lines).toEqual([]);
  });
});

describe('clip', () => {
  test('a short string stays as it is; a long one is cut and says by how much', () => {
    expect(clip('alice')).toBe('alice');
    const name = 'n'.repeat(500_000);
    expect(clip(name)).toBe(`${'n'.repeat(256)}…[+499744 chars]`);
    expect(clip('x'.repeat(70_000), 64)).toHaveLength(64 + '…[+69936 chars]'.length);
    expect(clip(undefined)).toBeUndefined();
  });

  test('a surrogate pair at the cut is kept whole', () => {
    const clipped = clip('ab😀cd', 3);
    expect(clipped).toBe('ab…[+4 chars]');
    expect(() => encodeURIComponent(clipped)).not.toThrow(); // a lone surrogate would throw URIError
  });
});
