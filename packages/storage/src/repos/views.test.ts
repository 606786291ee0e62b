/**
 * Message views (history, hot sessions, high priority, hidden, client_msg_id look-up) against
 * SQLite and MariaDB/MySQL (see testing/backends.ts for the connection settings; TT_TEST_SKIP_MYSQL=1
 * skips MySQL).
 */
import { GroupType, SessionType, openStore, type NewMessage, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

describe.each(testBackends('views'))('message views: %s', (_name, makeBackend) => {
  let backend: TestBackend;
  let store: Store;
  let clock = 1_700_000_000;
  const now = () => clock;
  let nextId = 1000;
  const ids = (n: number) => Array.from({ length: n }, () => nextId++);

  beforeAll(async () => {
    backend = makeBackend();
    store = await openStore(backend.config, { now, scrypt: { N: 1024 } });
  });

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  const single = (from: number, to: number, body: string, more: Partial<NewMessage> = {}) =>
    store.messages.saveMessage({ sessionType: SessionType.SINGLE, fromUserId: from, toId: to, msgType: 1, data: Buffer.from(body), createTime: clock, ...more });
  const group = (from: number, groupId: number, members: number[], body: string, more: Partial<NewMessage> = {}) =>
    store.messages.saveMessage({ sessionType: SessionType.GROUP, fromUserId: from, toId: groupId, msgType: 17, data: Buffer.from(body), createTime: clock, recipientIds: members, ...more });
  const bodies = (msgs: Array<{ data: Buffer }> | null) => (msgs ?? []).map((m) => m.data.toString());

  test('high-priority messages enter every participant’s stream, normal ones do not', async () => {
    const [a, b, c, d] = ids(4);
    await single(a, b, 'normal');
    const hp = await single(a, b, 'urgent', { highPriority: true });
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'g', creatorId: a, memberIds: [b, c] });
    // Normal and high-priority messages of one conversation submitted together (one batch, as a rule).
    await Promise.all([group(c, g.id, [a, b, c], 'g-normal'), group(c, g.id, [a, b, c], 'g-urgent', { highPriority: true }), group(c, g.id, [a, b, c], 'g-normal-2')]);
    await single(d, a, 'other', { highPriority: true });
    const pageA = await store.messages.highPrioritySince(a, 0, 0);
    expect(pageA.entries.map((e) => [e.sessionType, e.message.data.toString()])).toEqual([
      [SessionType.SINGLE, 'urgent'],
      [SessionType.GROUP, 'g-urgent'],
      [SessionType.SINGLE, 'other'],
    ]);
    expect(pageA.lastCursor).toBe(pageA.entries[2].cursor);
    const cursors = pageA.entries.map((e) => e.cursor);
    expect([...cursors].sort((x, y) => x - y)).toEqual(cursors);
    expect(pageA.entries[0].message).toMatchObject({ msgId: hp.msgId, fromId: a, toId: b });
    expect(bodies((await store.messages.highPrioritySince(b, 0, 10)).entries.map((e) => e.message))).toEqual(['urgent', 'g-urgent']);
    expect(bodies((await store.messages.highPrioritySince(c, 0, 10)).entries.map((e) => e.message))).toEqual(['g-urgent']);
    // Paging from a cursor; an empty page still names the newest cursor.
    const next = await store.messages.highPrioritySince(a, cursors[0], 1);
    expect(next.entries.map((e) => e.message.data.toString())).toEqual(['g-urgent']);
    expect(next.lastCursor).toBe(cursors[2]);
    expect(await store.messages.highPrioritySince(a, cursors[2], 10)).toEqual({ entries: [], lastCursor: cursors[2] });
    expect(await store.messages.highPrioritySince(ids(1)[0], 0, 10)).toEqual({ entries: [], lastCursor: 0 });
    // A recall is seen in the stream.
    await store.messages.recall({ sessionType: SessionType.SINGLE, userId: a, peerId: b, msgId: hp.msgId, windowSeconds: 60, nowMs: clock * 1000 });
    expect((await store.messages.highPrioritySince(b, 0, 1)).entries[0].message.recalled).toEqual({ by: a, atMs: clock * 1000 });
  });

  test('history pages newest-first windows oldest first, flags recalls and leaves hidden messages out', async () => {
    const [a, b] = ids(2);
    for (let i = 1; i <= 7; i++) await single(i % 2 ? a : b, i % 2 ? b : a, `m${i}`);
    expect(bodies(await store.messages.historyFor(a, SessionType.SINGLE, b, 0, 3))).toEqual(['m5', 'm6', 'm7']);
    expect(bodies(await store.messages.historyFor(b, SessionType.SINGLE, a, 5, 3))).toEqual(['m2', 'm3', 'm4']);
    expect(bodies(await store.messages.historyFor(a, SessionType.SINGLE, b, 2, 10))).toEqual(['m1']);
    expect(await store.messages.historyFor(a, SessionType.SINGLE, b, 0, 0)).toEqual([]);
    await store.messages.recall({ sessionType: SessionType.SINGLE, userId: a, peerId: b, msgId: 7, windowSeconds: 60, nowMs: clock * 1000 });
    // Hidden for a only; unknown ids are ignored; hiding twice is fine.
    expect(await store.messages.hide(a, SessionType.SINGLE, b, [6, 4, 99, 4])).toEqual([4, 6]);
    expect(await store.messages.hide(a, SessionType.SINGLE, b, [6])).toEqual([6]);
    expect(await store.messages.hide(a, SessionType.SINGLE, b, [])).toEqual([]);
    const seenByA = await store.messages.historyFor(a, SessionType.SINGLE, b, 0, 4);
    expect(seenByA!.map((m) => m.msgId)).toEqual([2, 3, 5, 7]);
    expect(seenByA![3].recalled).toBeDefined();
    expect((await store.messages.historyFor(b, SessionType.SINGLE, a, 0, 4))!.map((m) => m.msgId)).toEqual([4, 5, 6, 7]);
    await expect(store.messages.historyFor(a, 3, b, 0, 4)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('group history: members only, from after they joined', async () => {
    const [owner, early, late, outsider] = ids(4);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'h', creatorId: owner, memberIds: [early] });
    await group(owner, g.id, [owner, early], 'before');
    await store.groups.changeMembers(g.id, 'add', [late]);
    await group(early, g.id, [owner, early, late], 'after');
    expect(bodies(await store.messages.historyFor(early, SessionType.GROUP, g.id, 0, 10))).toEqual(['before', 'after']);
    expect(bodies(await store.messages.historyFor(late, SessionType.GROUP, g.id, 0, 10))).toEqual(['after']);
    expect(await store.messages.historyFor(outsider, SessionType.GROUP, g.id, 0, 10)).toBeNull();
    await store.groups.changeMembers(g.id, 'remove', [early]);
    expect(await store.messages.historyFor(early, SessionType.GROUP, g.id, 0, 10)).toBeNull();
  });

  test('a client_msg_id is found from its sender’s side only', async () => {
    const [a, b] = ids(2);
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'c', creatorId: a, memberIds: [b] });
    const one = await single(b, a, 'x', { clientMsgId: 'cm-1' });
    const two = await group(a, g.id, [a, b], 'y', { clientMsgId: 'cm-2' });
    expect(await store.messages.findClientMsg(b, 'cm-1')).toEqual({ sessionType: SessionType.SINGLE, peerId: a, msgId: one.msgId });
    expect(await store.messages.findClientMsg(a, 'cm-2')).toEqual({ sessionType: SessionType.GROUP, peerId: g.id, msgId: two.msgId });
    expect(await store.messages.findClientMsg(a, 'cm-1')).toBeNull();
    expect(await store.messages.findClientMsg(a, '')).toBeNull();
  });

  test('sessions changed since a time, newest first, deleted ones left out', async () => {
    const [u, p1, p2, p3] = ids(4);
    clock = 1_700_001_000;
    await single(p1, u, 'one');
    clock = 1_700_002_000;
    await single(u, p2, 'two');
    clock = 1_700_003_000;
    await single(p3, u, 'three');
    await store.sessions.remove(u, SessionType.SINGLE, p3);
    const all = await store.sessions.changedSince(u, 0, 10);
    expect(all.map((s) => [s.peerId, s.updated])).toEqual([
      [p2, 1_700_002_000],
      [p1, 1_700_001_000],
    ]);
    expect(all[1]).toMatchObject({ unreadCnt: 1, readMsgId: 0, latestMsgId: 1 });
    expect(all[0]).toMatchObject({ unreadCnt: 0, readMsgId: 1 });
    expect((await store.sessions.changedSince(u, 1_700_002_000, 10)).map((s) => s.peerId)).toEqual([p2]);
    expect((await store.sessions.changedSince(u, 0, 1)).map((s) => s.peerId)).toEqual([p2]);
  });
});
