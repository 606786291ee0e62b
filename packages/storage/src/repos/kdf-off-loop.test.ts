// A first login's password check (scrypt) runs on libuv's thread pool, not on
// the event loop: while four checks at the production cost run, the loop keeps
// turning (in standalone, db_proxy's code shares msg_server's process).
import { createHash } from 'node:crypto';
import { openStore, type Store } from '../index';
import { sqliteTestBackend, type TestBackend } from '../testing/backends';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('the password KDF leaves the event loop free', () => {
  let backend: TestBackend;
  let store: Store;

  beforeAll(async () => {
    backend = sqliteTestBackend('kdf');
    // N = 16384: DEFAULT_SCRYPT_PARAMS, what production hashes cost (tens of ms each).
    store = await openStore(backend.config, { scrypt: { N: 16384, r: 8, p: 1 } });
    for (let i = 1; i <= 4; i++) await store.users.create({ name: `kdf${i}`, passwordMd5Hex: md5(`pw${i}`) });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  it('the loop turns many times while four first logins are checked', async () => {
    let turns = 0;
    let running = true;
    const spin = () => {
      turns += 1;
      if (running) setImmediate(spin);
    };
    const started = performance.now();
    const checks = [1, 2, 3, 4].map((i) => store.users.authenticate(`kdf${i}`, md5(`pw${i}`)));
    setImmediate(spin);
    const first = await Promise.race(checks);
    const turnsBeforeFirst = turns;
    const users = await Promise.all(checks);
    running = false;
    const ms = performance.now() - started;
    expect(first?.name).toMatch(/^kdf\d$/);
    expect(users.map((u) => u?.name)).toEqual(['kdf1', 'kdf2', 'kdf3', 'kdf4']);
    // A synchronous KDF would hold the loop until its check is done: no turn at all before the first answer.
    expect(turnsBeforeFirst).toBeGreaterThan(5);
    expect(ms).toBeGreaterThan(10);
  });
});
