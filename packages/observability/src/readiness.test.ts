import { watchDependencies } from './readiness';

/** A dependency the test switches on and off, and a clock it moves. */
function setup(graceMs: number) {
  let t = 1_000_000;
  const up = { db: false, cache: true };
  const changes: string[] = [];
  const watch = watchDependencies({
    checks: { db: () => (up.db ? Promise.resolve(true) : Promise.reject(new Error('down'))), cache: () => up.cache },
    graceMs,
    intervalMs: 3_600_000, // the test calls refresh() itself
    now: () => t,
    onChange: (name, isUp) => changes.push(`${name} ${isUp ? 'up' : 'down'}`),
  });
  return { watch, up, changes, advance: (ms: number) => (t += ms) };
}

test('a dependency never reached since start counts at once: not ready before the first answer', async () => {
  const { watch, up } = setup(60_000);
  await watch.refresh();
  expect(watch.state()).toEqual({ ok: false, details: { db: { up: false, downForMs: 0, withinGrace: false }, cache: true } });
  up.db = true;
  await watch.refresh();
  expect(watch.state()).toEqual({ ok: true, details: { db: true, cache: true } });
  watch.close();
});

test('after it answered once, a failure shorter than the grace period keeps the replica ready; longer, it is reported', async () => {
  const { watch, up, advance, changes } = setup(5_000);
  up.db = true;
  await watch.refresh();
  up.db = false;
  await watch.refresh();
  advance(4_999);
  await watch.refresh();
  expect(watch.state()).toEqual({ ok: true, details: { db: { up: false, downForMs: 4_999, withinGrace: true }, cache: true } });
  advance(1);
  expect(watch.state().ok).toBe(false);
  // Back: ready again at once, and a new failure starts a new grace period.
  up.db = true;
  await watch.refresh();
  expect(watch.state().ok).toBe(true);
  up.db = false;
  await watch.refresh();
  advance(1_000);
  expect(watch.state().ok).toBe(true);
  expect(changes.filter((c) => c.startsWith('db '))).toEqual(['db up', 'db down', 'db up', 'db down']);
  watch.close();
});

test('grace 0: every failure is reported at once; a check slower than its timeout failed', async () => {
  const { watch, up } = setup(0);
  up.db = true;
  await watch.refresh();
  up.cache = false;
  await watch.refresh();
  expect(watch.state().ok).toBe(false);
  const slow = watchDependencies({ checks: { slow: () => new Promise((r) => setTimeout(() => r(true), 200)) }, graceMs: 0, timeoutMs: 20, intervalMs: 3_600_000 });
  await slow.refresh();
  expect(slow.state().ok).toBe(false);
  slow.close();
  watch.close();
});
