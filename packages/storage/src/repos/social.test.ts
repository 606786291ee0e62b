// Friends, user attributes, session attributes and birthdays on both backends: SQLite in a temp
// file, and MySQL (the local MariaDB; TT_TEST_SKIP_MYSQL=1 skips it) in a database of its own.
import { FriendStatus, openStore, SessionType, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

const invalid = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

describe.each(testBackends('social'))('social repositories (%s)', (_name, makeBackend) => {
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

  describe('FriendRepository', () => {
    const pick = (rows: Awaited<ReturnType<Store['friends']['since']>>) => rows.map((f) => [f.friendId, f.remark, f.status, f.updated]);

    it('adding makes both sides friends; the other side keeps its own remark; adding again only changes the remark', async () => {
      const friends = store.friends;
      clock = 1_000_100;
      expect(await friends.add(1, 2, 'Bob')).toBe(true);
      expect(await friends.isFriend(1, 2)).toBe(true);
      expect(await friends.isFriend(2, 1)).toBe(true);
      expect(pick(await friends.since(1, 0))).toEqual([[2, 'Bob', 0, 1_000_100]]);
      expect(pick(await friends.since(2, 0))).toEqual([[1, '', 0, 1_000_100]]);

      clock = 1_000_200;
      expect(await friends.add(2, 1, 'Alice')).toBe(false);
      expect(pick(await friends.since(2, 0))).toEqual([[1, 'Alice', 0, 1_000_200]]);
      // 1's row is untouched: the friendship already existed on that side.
      expect(pick(await friends.since(1, 0))).toEqual([[2, 'Bob', 0, 1_000_100]]);
      clock = 1_000_300;
      expect(await friends.add(1, 2, 'Bobby')).toBe(false);
      expect(pick(await friends.since(2, 0))).toEqual([[1, 'Alice', 0, 1_000_200]]);
      expect(pick(await friends.since(1, 0))).toEqual([[2, 'Bobby', 0, 1_000_300]]);
    });

    it('removing ends both sides; since > 0 lists the removal, since 0 only current friends; adding again revives both', async () => {
      const friends = store.friends;
      clock = 1_001_000;
      await friends.add(10, 11, 'x');
      await friends.add(10, 12, 'y');
      clock = 1_001_100;
      expect(await friends.remove(11, 10)).toBe(true);
      expect(await friends.remove(11, 10)).toBe(false);
      expect(await friends.isFriend(10, 11)).toBe(false);
      expect(await friends.isFriend(11, 10)).toBe(false);
      expect(pick(await friends.since(10, 0))).toEqual([[12, 'y', 0, 1_001_000]]);
      expect(pick(await friends.since(10, 1_001_050))).toEqual([[11, 'x', FriendStatus.REMOVED, 1_001_100]]);
      expect(pick(await friends.since(10, 1_001_000))).toEqual([
        [12, 'y', 0, 1_001_000],
        [11, 'x', FriendStatus.REMOVED, 1_001_100],
      ]);
      expect(pick(await friends.since(10, 1_001_101))).toEqual([]);

      clock = 1_001_200;
      expect(await friends.add(11, 10, 'again')).toBe(true);
      // 10's old remark for 11 is kept; its row changed, so a sync sees it.
      expect(pick(await friends.since(10, 1_001_150))).toEqual([[11, 'x', 0, 1_001_200]]);
      expect(pick(await friends.since(11, 0))).toEqual([[10, 'again', 0, 1_001_200]]);
    });

    it('refuses a friendship with oneself and a remark over 255 characters', async () => {
      await invalid(store.friends.add(5, 5, ''));
      await invalid(store.friends.add(5, 6, 'r'.repeat(256)));
      expect(await store.friends.add(5, 6, 'é'.repeat(255))).toBe(true);
      expect((await store.friends.since(5, 0))[0]?.remark).toBe('é'.repeat(255));
    });
  });

  describe('UserAttributeRepository', () => {
    it('set, overwrite, remove (also by an empty value), list in order', async () => {
      const attrs = store.userAttributes;
      clock = 1_002_000;
      await attrs.set(20, 22, 'remark', 'Z');
      await attrs.set(20, 21, 'remark', 'Y');
      await attrs.set(20, 21, 'color', 'blue');
      await attrs.set(99, 21, 'remark', 'other user');
      clock = 1_002_010;
      await attrs.set(20, 22, 'remark', 'Zed');
      expect((await attrs.list(20)).map((a) => [a.targetId, a.name, a.value, a.updated])).toEqual([
        [21, 'color', 'blue', 1_002_000],
        [21, 'remark', 'Y', 1_002_000],
        [22, 'remark', 'Zed', 1_002_010],
      ]);
      await attrs.set(20, 21, 'color', '');
      expect(await attrs.remove(20, 22, 'remark')).toBe(true);
      expect(await attrs.remove(20, 22, 'remark')).toBe(false);
      expect((await attrs.list(20)).map((a) => [a.targetId, a.name])).toEqual([[21, 'remark']]);
    });

    it('names are 1..64 characters, values at most 1024', async () => {
      await invalid(store.userAttributes.set(20, 21, '', 'v'));
      await invalid(store.userAttributes.set(20, 21, 'n'.repeat(65), 'v'));
      await invalid(store.userAttributes.set(20, 21, 'n', 'v'.repeat(1025)));
      await store.userAttributes.set(20, 21, 'n'.repeat(64), 'v'.repeat(1024));
      expect((await store.userAttributes.list(20)).find((a) => a.name.length === 64)?.value).toHaveLength(1024);
    });
  });

  describe('SessionAttributeRepository', () => {
    it('set, remove, list all or some sessions', async () => {
      const attrs = store.sessionAttributes;
      clock = 1_003_000;
      await attrs.set(30, { sessionType: SessionType.SINGLE, peerId: 31 }, 'top', '1');
      await attrs.set(30, { sessionType: SessionType.GROUP, peerId: 500 }, 'mute', '1');
      await attrs.set(30, { sessionType: SessionType.GROUP, peerId: 501 }, 'top', '1');
      await attrs.set(30, { sessionType: SessionType.SINGLE, peerId: 31 }, 'mute', 'true');
      const brief = (rows: Awaited<ReturnType<Store['sessionAttributes']['list']>>) => rows.map((a) => [a.sessionType, a.peerId, a.name, a.value]);
      expect(brief(await attrs.list(30))).toEqual([
        [1, 31, 'mute', 'true'],
        [1, 31, 'top', '1'],
        [2, 500, 'mute', '1'],
        [2, 501, 'top', '1'],
      ]);
      expect(
        brief(
          await attrs.list(30, [
            { sessionType: SessionType.GROUP, peerId: 501 },
            { sessionType: SessionType.SINGLE, peerId: 31 },
            { sessionType: SessionType.SINGLE, peerId: 32 },
          ]),
        ),
      ).toEqual([
        [1, 31, 'mute', 'true'],
        [1, 31, 'top', '1'],
        [2, 501, 'top', '1'],
      ]);
      expect(await attrs.list(30, [])).toEqual([]);
      await attrs.set(30, { sessionType: SessionType.SINGLE, peerId: 31 }, 'top', '');
      expect(await attrs.remove(30, { sessionType: SessionType.GROUP, peerId: 501 }, 'top')).toBe(true);
      expect(brief(await attrs.list(30))).toEqual([
        [1, 31, 'mute', 'true'],
        [2, 500, 'mute', '1'],
      ]);
      await invalid(attrs.set(30, { sessionType: 3 as never, peerId: 1 }, 'top', '1'));
      await invalid(attrs.set(30, { sessionType: SessionType.SINGLE, peerId: 1 }, 'x'.repeat(65), '1'));
    });

    it('mutedBy: who muted a group, or a single chat with one sender; "0" and "false" do not mute', async () => {
      const attrs = store.sessionAttributes;
      await attrs.set(40, { sessionType: SessionType.GROUP, peerId: 600 }, 'mute', '1');
      await attrs.set(41, { sessionType: SessionType.GROUP, peerId: 600 }, 'mute', '0');
      await attrs.set(42, { sessionType: SessionType.GROUP, peerId: 600 }, 'mute', 'false');
      await attrs.set(43, { sessionType: SessionType.GROUP, peerId: 601 }, 'mute', '1');
      await attrs.set(44, { sessionType: SessionType.GROUP, peerId: 600 }, 'top', '1');
      expect([...(await attrs.mutedBy([40, 41, 42, 43, 44, 45], SessionType.GROUP, 600))]).toEqual([40]);
      // Single chat: recipients 46 and 47 of sender 48; 46 muted 48, 47 muted someone else.
      await attrs.set(46, { sessionType: SessionType.SINGLE, peerId: 48 }, 'mute', '1');
      await attrs.set(47, { sessionType: SessionType.SINGLE, peerId: 49 }, 'mute', '1');
      expect([...(await attrs.mutedBy([46, 47], SessionType.SINGLE, 48))]).toEqual([46]);
      // One peer per user.
      expect([...(await attrs.mutedBy([46, 47], SessionType.SINGLE, (u) => (u === 46 ? 48 : 49)))].sort()).toEqual([46, 47]);
      expect((await attrs.mutedBy([], SessionType.SINGLE, 48)).size).toBe(0);
    });
  });

  describe('birthdays', () => {
    it('a new user has none; update sets and clears it; other fields stay', async () => {
      const user = await store.users.create({ name: `bday_${_name}`, passwordMd5Hex: 'e10adc3949ba59abbe56e057f20f883e', nick: 'B' });
      expect(user.birthdayMs).toBe(0);
      const birthday = Date.UTC(1990, 4, 17);
      const updated = await store.users.update(user.id, { birthdayMs: birthday });
      expect(updated).toMatchObject({ birthdayMs: birthday, nick: 'B' });
      expect((await store.users.findById(user.id))?.birthdayMs).toBe(birthday);
      expect((await store.users.findByIds([user.id]))[0]?.birthdayMs).toBe(birthday);
      expect((await store.users.update(user.id, { nick: 'Bee' })).birthdayMs).toBe(birthday);
      expect((await store.users.update(user.id, { birthdayMs: 0 })).birthdayMs).toBe(0);
      await invalid(store.users.update(user.id, { birthdayMs: -1 }));
      await invalid(store.users.update(user.id, { birthdayMs: 1.5 }));
    });
  });
});
