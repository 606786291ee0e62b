// The short fuzz run of `pnpm test` (the long one is `pnpm fuzz`, README
// "Fuzzing"): every port of a standalone deployment takes ~20k valid,
// mutated and random frames of its own protocol, before and after a login,
// and after each target the server is still alive and answering, a message
// still round-trips, and its memory stayed within bounds.
import { TARGET_NAMES, renderTable, runFuzz, type FuzzResult } from '@tt/fuzz';

const FRAMES = 20_000;
/** Logged-in fuzz connections exist for these (a real login, or credentials per request). */
const WITH_SESSIONS = ['teamtalk', 'ws', 'tcp12', 'msync-ws', 'msync-tcp', 'omtp', 'login-http', 'admin-api'];
/** Ports whose framing has a length the server checks: garbage makes it close connections. */
const CLOSES_ON_GARBAGE = ['teamtalk', 'tcp12', 'msync-tcp', 'omtp', 'file', 'ws', 'msync-ws'];

describe('fuzzing every port of a standalone deployment (short run)', () => {
  let result: FuzzResult;

  beforeAll(async () => {
    result = await runFuzz({
      seed: 20_261_127,
      frames: FRAMES,
      // Bounded in time too: a slow machine sends fewer frames rather than overrunning the suite.
      seconds: 7,
      connections: 4,
      batch: 256,
      targets: TARGET_NAMES,
      mode: 'standalone',
      rssGrowthMiB: 128,
      rssPeakMiB: 512,
    });
    process.stdout.write(`${renderTable(result)}\n`);
  }, 150_000);

  it('the server survives every target: alive, answering a fresh connection, a message round-trips, memory within bounds', () => {
    expect(result.failures).toEqual([]);
    expect(result.targets.map((t) => t.target)).toEqual([...TARGET_NAMES]);
  });

  it('every target got its frames, valid, mutated and random, and the logged-in connections did log in', () => {
    for (const t of result.targets) {
      const s = t.stats;
      expect({ target: t.target, enough: s.framesSent >= FRAMES / 4 }).toEqual({ target: t.target, enough: true });
      expect(Math.min(s.valid, s.mutated, s.random)).toBeGreaterThan(0);
      if (WITH_SESSIONS.includes(t.target)) expect({ target: t.target, afterLogin: s.afterLogin > 0 }).toEqual({ target: t.target, afterLogin: true });
      if (t.target !== 'login-http' && t.target !== 'admin-api' && WITH_SESSIONS.includes(t.target)) {
        expect({ target: t.target, loggedIn: s.logins > 0, mostLoginsOk: s.loginFailures <= s.logins }).toEqual({ target: t.target, loggedIn: true, mostLoginsOk: true });
      }
    }
  });

  it('garbage reached the parsers: the binary and WebSocket fronts closed connections over it', () => {
    for (const t of result.targets.filter((x) => CLOSES_ON_GARBAGE.includes(x.target))) expect({ target: t.target, closed: t.stats.closedByServer > 0 }).toEqual({ target: t.target, closed: true });
  });
});
