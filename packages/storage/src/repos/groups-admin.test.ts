// Group administration (description, member limit, info updates, owner transfer, dismissal, sync
// since a time) on both backends: SQLite in a temp dir, and MySQL (the local MariaDB; database
// tt_groups_<random>, dropped afterwards; TT_TEST_SKIP_MYSQL=1 skips it).
import { GroupStatus, GroupType, openStore, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

describe.each(testBackends('groups'))('GroupRepository administration (%s)', (_name, makeBackend) => {
  let backend: TestBackend;
  let store: Store;
  let clock = 1_700_000_000;
  const now = () => clock;
  const open = () => openStore(backend.config, { scrypt: { N: 1024 }, now });
  // Plain numbers as user ids: the group tables do not check users (db_proxy does).
  let nextId = 100;
  const ids = (n: number) => Array.from({ length: n }, () => nextId++);

  beforeAll(async () => {
    backend = makeBackend();
    store = await open();
  });

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  test('create keeps description and member limit; defaults are empty and 0; initial members must fit the limit', async () => {
    clock = 1_700_000_100;
    const [owner, a, b] = ids(3);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'team', creatorId: owner!, memberIds: [a!, b!], description: '我们的群', memberLimit: 3 });
    expect(g).toMatchObject({ name: 'team', description: '我们的群', memberLimit: 3, version: 1, memberIds: [owner, a, b], created: clock, updated: clock });
    expect(await store.groups.findById(g.id)).toEqual(g);
    expect((await store.groups.findByIds([g.id]))[0]).toMatchObject({ description: '我们的群', memberLimit: 3 });

    const plain = await store.groups.create({ type: GroupType.NORMAL, name: 'plain', creatorId: owner! });
    expect(plain).toMatchObject({ description: '', memberLimit: 0 });
    expect(await store.groups.findById(plain.id)).toEqual(plain);

    await expect(store.groups.create({ type: GroupType.NORMAL, name: 'x', creatorId: owner!, memberIds: [a!, b!], memberLimit: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.create({ type: GroupType.NORMAL, name: 'x', creatorId: owner!, description: 'd'.repeat(1025) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.create({ type: GroupType.NORMAL, name: 'x', creatorId: owner!, memberLimit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('updateInfo changes only the fields given, bumps version and updated; refuses nothing, an empty name, a limit below the members', async () => {
    clock = 1_700_000_200;
    const [owner, a] = ids(2);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'old', avatar: 'http://a/1.png', creatorId: owner!, memberIds: [a!], description: 'about' });
    clock += 10;
    const renamed = await store.groups.updateInfo(g.id, { name: 'new' });
    expect(renamed).toMatchObject({ name: 'new', avatar: 'http://a/1.png', description: 'about', memberLimit: 0, version: 2, updated: clock, created: g.created, memberIds: [owner, a] });
    clock += 10;
    const all = await store.groups.updateInfo(g.id, { avatar: '', description: 'd'.repeat(1024), memberLimit: 2 });
    expect(all).toMatchObject({ name: 'new', avatar: '', description: 'd'.repeat(1024), memberLimit: 2, version: 3, updated: clock });
    expect(await store.groups.findById(g.id)).toEqual(all);

    await expect(store.groups.updateInfo(g.id, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.updateInfo(g.id, { name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.updateInfo(g.id, { memberLimit: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.updateInfo(999_999, { name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.groups.findById(g.id))?.version).toBe(3);
    // 0: back to the server's default.
    expect(await store.groups.updateInfo(g.id, { memberLimit: 0 })).toMatchObject({ memberLimit: 0, version: 4 });
  });

  test('transferOwner: to an active member only, bumps version; the old owner stays a member', async () => {
    clock = 1_700_000_300;
    const [owner, a, gone, stranger] = ids(4);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'hand-over', creatorId: owner!, memberIds: [a!, gone!] });
    await store.groups.changeMembers(g.id, 'remove', [gone!]);
    clock += 5;
    const moved = await store.groups.transferOwner(g.id, a!);
    expect(moved).toMatchObject({ creatorId: a, version: 3, updated: clock, memberIds: [owner, a] });
    await expect(store.groups.transferOwner(g.id, a!)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.transferOwner(g.id, gone!)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.transferOwner(g.id, stranger!)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.groups.transferOwner(999_999, a!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.groups.findById(g.id))?.creatorId).toBe(a);
  });

  test('dismiss: dissolved, version + 1, member rows kept; a second dismiss or any change is NOT_FOUND', async () => {
    clock = 1_700_000_400;
    const [owner, a] = ids(2);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'bye', creatorId: owner!, memberIds: [a!] });
    clock += 7;
    const gone = await store.groups.dismiss(g.id);
    expect(gone).toMatchObject({ status: GroupStatus.DISSOLVED, version: 2, updated: clock, memberIds: [owner, a] });
    expect(await store.groups.memberIds(g.id)).toEqual([]);
    expect(await store.groups.isMember(g.id, a!)).toBe(false);
    await expect(store.groups.dismiss(g.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.groups.dismiss(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.groups.updateInfo(g.id, { name: 'again' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.groups.transferOwner(g.id, a!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.groups.changeMembers(g.id, 'add', [owner! + 1000])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('changedSince: groups changed at or after the time; dismissed and left ones as deleted ids; 0 = everything current', async () => {
    clock = 1_700_001_000;
    const [me, other, newcomer] = ids(3);
    const quiet = await store.groups.create({ type: GroupType.NORMAL, name: 'quiet', creatorId: other!, memberIds: [me!] });
    const renamed = await store.groups.create({ type: GroupType.NORMAL, name: 'renamed', creatorId: other!, memberIds: [me!] });
    const dismissed = await store.groups.create({ type: GroupType.NORMAL, name: 'dismissed', creatorId: other!, memberIds: [me!] });
    const left = await store.groups.create({ type: GroupType.NORMAL, name: 'left', creatorId: other!, memberIds: [me!] });
    const leftBefore = await store.groups.create({ type: GroupType.NORMAL, name: 'left-before', creatorId: other!, memberIds: [me!] });
    const notMine = await store.groups.create({ type: GroupType.NORMAL, name: 'not-mine', creatorId: other! });
    await store.groups.changeMembers(leftBefore.id, 'remove', [me!]);
    clock = 1_700_002_000;
    await store.groups.dismiss(leftBefore.id); // dismissed after `me` had left: not theirs to delete
    const since = clock;
    await store.groups.updateInfo(renamed.id, { name: 'renamed!' });
    await store.groups.dismiss(dismissed.id);
    await store.groups.changeMembers(left.id, 'remove', [me!]);
    await store.groups.changeMembers(notMine.id, 'add', [newcomer!]);
    const joined = await store.groups.create({ type: GroupType.TEMPORARY, name: 'joined', creatorId: other!, memberIds: [me!] });

    const changes = await store.groups.changedSince(me!, since);
    expect(changes.groups.map((g) => g.id)).toEqual([renamed.id, joined.id]);
    expect(changes.groups[0]).toMatchObject({ name: 'renamed!', version: 2, memberIds: [me, other].sort((x, y) => x! - y!) });
    expect(changes.deletedIds).toEqual([dismissed.id, left.id]);

    // The boundary second counts; later than every change: nothing.
    expect((await store.groups.changedSince(me!, since + 1)).groups).toEqual([]);
    expect((await store.groups.changedSince(me!, since + 1)).deletedIds).toEqual([]);
    const first = await store.groups.changedSince(me!, 0);
    expect(first.groups.map((g) => g.id)).toEqual([quiet.id, renamed.id, joined.id]);
    expect(first.deletedIds).toEqual([]);

    // Re-added after leaving: current again, no longer deleted.
    clock += 1;
    await store.groups.changeMembers(left.id, 'add', [me!]);
    const again = await store.groups.changedSince(me!, since);
    expect(again.groups.map((g) => g.id)).toEqual([renamed.id, left.id, joined.id]);
    expect(again.deletedIds).toEqual([dismissed.id]);
    expect(await store.groups.changedSince(424_242, 0)).toEqual({ groups: [], deletedIds: [] });
  });

  test('adds respect the member limit (own or default), as a whole; removes are never limited', async () => {
    clock = 1_700_003_000;
    const [owner, a, b, c, d] = ids(5);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'small', creatorId: owner!, memberIds: [a!], memberLimit: 3 });
    expect(await store.groups.changeMembers(g.id, 'add', [b!, c!])).toEqual({ version: 1, memberIds: [owner, a], changed: [], full: true });
    expect(await store.groups.changeMembers(g.id, 'add', [a!, b!])).toEqual({ version: 2, memberIds: [owner, a, b], changed: [b] });
    // Already members do not count against the limit.
    expect(await store.groups.changeMembers(g.id, 'add', [a!, b!])).toEqual({ version: 2, memberIds: [owner, a, b], changed: [] });
    expect((await store.groups.changeMembers(g.id, 'add', [c!])).full).toBe(true);

    // No limit of its own: the caller's default applies; none given: no limit.
    const open = await store.groups.create({ type: GroupType.NORMAL, name: 'default', creatorId: owner! });
    expect((await store.groups.changeMembers(open.id, 'add', [a!, b!], { defaultLimit: 2 })).full).toBe(true);
    expect((await store.groups.changeMembers(open.id, 'add', [a!], { defaultLimit: 2 })).changed).toEqual([a]);
    expect((await store.groups.changeMembers(open.id, 'add', [b!, c!, d!])).changed).toEqual([b, c, d]);
    expect((await store.groups.changeMembers(open.id, 'remove', [b!, c!], { defaultLimit: 1 })).changed).toEqual([b, c]);
  });

  test('concurrent adds through two store handles never pass the limit', async () => {
    clock = 1_700_004_000;
    const other = await open();
    try {
      const [owner] = ids(1);
      const g = await store.groups.create({ type: GroupType.NORMAL, name: 'race', creatorId: owner!, memberLimit: 6 });
      const joiners = ids(12);
      const results = await Promise.all(joiners.map((j, i) => (i % 2 ? store : other).groups.changeMembers(g.id, 'add', [j])));
      expect(results.filter((r) => r.changed.length === 1)).toHaveLength(5);
      expect(results.filter((r) => r.full)).toHaveLength(7);
      const after = await store.groups.findById(g.id);
      expect(after?.memberIds).toHaveLength(6);
      expect(after?.version).toBe(6);

      // Default limit under concurrency, two at a time.
      const h = await store.groups.create({ type: GroupType.NORMAL, name: 'race-default', creatorId: owner! });
      const pairs = ids(10);
      const adds = await Promise.all([0, 2, 4, 6, 8].map((i, n) => (n % 2 ? store : other).groups.changeMembers(h.id, 'add', pairs.slice(i, i + 2), { defaultLimit: 5 })));
      expect(adds.filter((r) => r.changed.length === 2)).toHaveLength(2);
      expect(await store.groups.memberIds(h.id)).toHaveLength(5);
    } finally {
      await other.close();
    }
  });
});
