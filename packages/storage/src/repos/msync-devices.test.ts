// MSync device positions on both backends: SQLite in a temp file, and MySQL
// (the local MariaDB; TT_TEST_SKIP_MYSQL=1 skips it) in a database of its own.
import { openStore, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

describe.each(testBackends('msync'))('MsyncDeviceRepository (%s)', (_name, makeBackend) => {
  let store: Store;
  let backend: TestBackend;
  let clock = 1_000_000;

  beforeAll(async () => {
    backend = makeBackend();
    store = await openStore(backend.config, { now: () => clock, scrypt: { N: 1024 } });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  it('a new device starts at its initial seq; bound again it keeps its confirmed seq, which never goes back', async () => {
    const devices = store.msyncDevices;
    expect(await devices.bind(7, 'phone', { initialSeq: 10, maxDevices: 3, activeSince: 0 })).toEqual({ ok: true, confirmedSeq: 10, isNew: true });
    await devices.confirm(7, 'phone', 25);
    await devices.confirm(7, 'phone', 20);
    expect(await devices.bind(7, 'phone', { initialSeq: 99, maxDevices: 3, activeSince: 0 })).toEqual({ ok: true, confirmedSeq: 25, isNew: false });
    expect((await devices.list(7)).map((d) => [d.resource, d.confirmedSeq])).toEqual([['phone', 25]]);
  });

  it('a new device beyond the limit is refused, unless the others are stale; remove frees a place', async () => {
    const devices = store.msyncDevices;
    clock = 2_000_000;
    expect((await devices.bind(8, 'a', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).ok).toBe(true);
    expect((await devices.bind(8, 'b', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).ok).toBe(true);
    expect(await devices.bind(8, 'c', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).toEqual({ ok: false, activeResources: expect.arrayContaining(['a', 'b']) });
    // Known devices always get back in.
    expect((await devices.bind(8, 'a', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).ok).toBe(true);
    // Devices not seen since the cut-off do not count.
    expect((await devices.bind(8, 'c', { initialSeq: 0, maxDevices: 2, activeSince: clock + 1 })).ok).toBe(true);
    await devices.remove(8, 'c');
    await devices.remove(8, 'b');
    expect((await devices.bind(8, 'd', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).ok).toBe(true);
    await expect(devices.bind(8, '', { initialSeq: 0, maxDevices: 2, activeSince: 0 })).rejects.toThrow(/resource/);
    await expect(devices.bind(8, 'x'.repeat(129), { initialSeq: 0, maxDevices: 2, activeSince: 0 })).rejects.toThrow(/resource/);
  });
});
