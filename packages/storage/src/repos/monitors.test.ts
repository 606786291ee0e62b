/**
 * Session monitors (grants, start/stop, the record) against SQLite and MariaDB/MySQL (see
 * testing/backends.ts for the connection settings; TT_TEST_SKIP_MYSQL=1 skips MySQL).
 */
import { SessionType, openStore, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

describe.each(testBackends('monitors'))('session monitors: %s', (_name, makeBackend) => {
  let backend: TestBackend;
  let store: Store;
  let clock = 1_700_000_000;
  const now = () => clock;

  beforeAll(async () => {
    backend = makeBackend();
    store = await openStore(backend.config, { now, scrypt: { N: 1024 } });
  });

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  const chat = { sessionType: SessionType.SINGLE, idA: 10, idB: 20 };
  const room = { sessionType: SessionType.GROUP, idA: 7, idB: 0 };

  test('grant, start, stop, revoke: each change logged once, repeats change nothing', async () => {
    expect(await store.monitors.isGranted(1)).toBe(false);
    expect(await store.monitors.grant(1, 'ops:alice')).toBe(true);
    expect(await store.monitors.grant(1, 'ops:bob')).toBe(false);
    expect(await store.monitors.isGranted(1)).toBe(true);
    clock++;
    expect(await store.monitors.start(1, chat)).toBe(true);
    expect(await store.monitors.start(1, chat)).toBe(false);
    clock++;
    expect(await store.monitors.start(1, room)).toBe(true);
    expect(await store.monitors.isMonitoring(1, room)).toBe(true);
    expect(await store.monitors.listFor(1)).toEqual([
      { userId: 1, session: chat, started: 1_700_000_001 },
      { userId: 1, session: room, started: 1_700_000_002 },
    ]);
    clock++;
    expect(await store.monitors.stop(1, room)).toBe(true);
    expect(await store.monitors.stop(1, room)).toBe(false);
    expect((await store.monitors.listFor(1)).map((e) => e.session)).toEqual([chat]);

    await store.monitors.grant(2, 'ops:alice');
    await store.monitors.start(2, room);
    expect(await store.monitors.listAll()).toEqual({
      entries: [
        { userId: 1, session: chat, started: 1_700_000_001 },
        { userId: 2, session: room, started: 1_700_000_003 },
      ],
      grantedUserIds: [1, 2],
    });

    // Revoking stops what the user still monitors.
    clock++;
    expect(await store.monitors.revoke(1, 'ops:carol')).toBe(true);
    expect(await store.monitors.revoke(1, 'ops:carol')).toBe(false);
    expect(await store.monitors.isGranted(1)).toBe(false);
    expect(await store.monitors.listFor(1)).toEqual([]);
    expect(await store.monitors.log(1, 0)).toEqual([
      { userId: 1, action: 'revoke', by: 'ops:carol', at: 1_700_000_004 },
      { userId: 1, action: 'stop', session: chat, by: '', at: 1_700_000_004 },
      { userId: 1, action: 'stop', session: room, by: '', at: 1_700_000_003 },
      { userId: 1, action: 'start', session: room, by: '', at: 1_700_000_002 },
      { userId: 1, action: 'start', session: chat, by: '', at: 1_700_000_001 },
      { userId: 1, action: 'grant', by: 'ops:alice', at: 1_700_000_000 },
    ]);
    expect((await store.monitors.log(0, 3)).map((e) => [e.userId, e.action])).toEqual([
      [1, 'revoke'],
      [1, 'stop'],
      [2, 'start'],
    ]);
  });

  test('monitored sessions must be named from no one’s side', async () => {
    for (const bad of [
      { sessionType: SessionType.SINGLE, idA: 20, idB: 10 },
      { sessionType: SessionType.SINGLE, idA: 0, idB: 10 },
      { sessionType: SessionType.SINGLE, idA: 5, idB: 5 },
      { sessionType: SessionType.GROUP, idA: 7, idB: 1 },
      { sessionType: SessionType.GROUP, idA: 0, idB: 0 },
      { sessionType: 3, idA: 7, idB: 0 },
    ]) {
      await expect(store.monitors.start(2, bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(store.monitors.grant(3, 'x'.repeat(200))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
