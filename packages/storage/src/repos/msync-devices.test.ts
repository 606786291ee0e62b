// MSync device positions on both backends: SQLite in a temp file, and MySQL
// (the local MariaDB; TT_TEST_SKIP_MYSQL=1 skips it) in a database of its own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { openStore, type Store, type StoreConfig } from '../index';

const mysqlConn = { host: process.env.TT_TEST_MYSQL_HOST ?? '127.0.0.1', port: Number(process.env.TT_TEST_MYSQL_PORT ?? 3306), user: process.env.TT_TEST_MYSQL_USER ?? 'root', password: process.env.TT_TEST_MYSQL_PASSWORD ?? '' };

const backends: Array<[string, () => Promise<{ config: StoreConfig; drop(): Promise<void> }>]> = [
  [
    'sqlite',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-msync-'));
      return { config: { kind: 'sqlite', file: path.join(dir, 'db.sqlite') } as StoreConfig, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  ],
];
if (process.env.TT_TEST_SKIP_MYSQL !== '1') {
  backends.push([
    'mysql',
    async () => {
      const database = `tt_msync_${process.pid}_${Date.now() % 100000}`;
      return {
        config: { kind: 'mysql', ...mysqlConn, database } as StoreConfig,
        drop: async () => {
          const c = await mysql.createConnection(mysqlConn);
          await c.query(`DROP DATABASE IF EXISTS ${database}`);
          await c.end();
        },
      };
    },
  ]);
}

describe.each(backends)('MsyncDeviceRepository (%s)', (_name, make) => {
  let store: Store;
  let drop: () => Promise<void>;
  let clock = 1_000_000;

  beforeAll(async () => {
    const b = await make();
    drop = b.drop;
    store = await openStore(b.config, { now: () => clock, scrypt: { N: 1024 } });
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
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
