// A login storm's account lookups share one query per turn of the event loop,
// and every answer is the one a lookup of its own would give.
import { createHash } from 'node:crypto';
import { openStore, type Store } from '../index';
import type { SqlDatabase } from '../db';
import { testBackends, type TestBackend } from '../testing/backends';
import { UserRepository } from './users';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const SCRYPT = { N: 1024, r: 8, p: 1 };

/** The database, with every SELECT it is asked recorded. */
function recording(db: SqlDatabase, statements: string[]): SqlDatabase {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (sql: string, params?: unknown[]) => {
          statements.push(sql.replace(/\s+/g, ' '));
          return target.query(sql, params as never);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe.each(testBackends('loginrows'))('login lookups are batched: %s', (_name, makeBackend) => {
  let backend: TestBackend;
  let store: Store;

  beforeAll(async () => {
    backend = makeBackend();
    store = await openStore(backend.config, { scrypt: SCRYPT });
    for (let i = 1; i <= 30; i++) await store.users.create({ name: `storm${i}`, passwordMd5Hex: md5(`pw${i}`) });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  it('thirty logins at once cost one query, and each gets its own user', async () => {
    const statements: string[] = [];
    const users = new UserRepository(recording(store.db, statements), () => 0, SCRYPT);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => users.authenticate(`storm${i + 1}`, md5(`pw${i + 1}`))));
    expect(results.map((u) => u?.name)).toEqual(Array.from({ length: 30 }, (_, i) => `storm${i + 1}`));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/WHERE name IN \(\?(, \?){29}\)/);
  });

  it('answers exactly as one lookup at a time would: wrong passwords, unknown names, names the collation stretches', async () => {
    const attempts: Array<[string, string]> = [
      ['storm1', md5('pw1')],
      ['storm2', md5('wrong')],
      ['nobody', md5('pw3')],
      ['storm4 ', md5('pw4')], // MySQL's PAD SPACE collation finds storm4; SQLite does not
      ['STORM5', md5('pw5')],
      ['storm1', md5('pw1')], // the same account twice in one turn
    ];
    const alone: Array<string | undefined> = [];
    for (const [name, pw] of attempts) alone.push((await store.users.authenticate(name, pw))?.name);

    const statements: string[] = [];
    const users = new UserRepository(recording(store.db, statements), () => 0, SCRYPT);
    const together = await Promise.all(attempts.map(([name, pw]) => users.authenticate(name, pw)));
    expect(together.map((u) => u?.name)).toEqual(alone);
    expect(alone[0]).toBe('storm1');
    expect(alone[1]).toBeUndefined();
    // One batch for the five names, then each name without a byte-exact row on its own.
    expect(statements[0]).toMatch(/WHERE name IN/);
    expect(statements.slice(1).sort()).toEqual(Array(3).fill(expect.stringMatching(/WHERE name = \?$/)));
  });

  it('a lone login is looked up as before', async () => {
    const statements: string[] = [];
    const users = new UserRepository(recording(store.db, statements), () => 0, SCRYPT);
    expect((await users.authenticate('storm7', md5('pw7')))?.name).toBe('storm7');
    expect(statements).toEqual([expect.stringMatching(/WHERE name = \?$/)]);
  });
});
