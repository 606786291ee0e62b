/**
 * Contract suite: the same tests against SQLite (fresh temp dir) and MariaDB/MySQL (fresh databases
 * tt_storage_<random>, dropped afterwards); see testing/backends.ts for the MySQL connection settings.
 * TT_TEST_SKIP_MYSQL=1 skips that backend.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  GroupType,
  isStorageError,
  MIGRATIONS,
  openDatabase,
  openStore,
  runMigrations,
  executeMigrationStatement,
  SessionType,
  Store,
  StoreConfig,
  StorageError,
  UserStatus,
} from './index';
import { runBatch } from './db';
import { sqliteTestBackend, testBackends, type TestBackend } from './testing/backends';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };
const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);
const LATEST = ALL_VERSIONS[ALL_VERSIONS.length - 1];

describe.each(testBackends('storage'))('storage contract: %s', (_name, makeBackend) => {
  let backend: TestBackend;
  let config: StoreConfig;
  let store: Store;
  let clock = 1_700_000_000;
  const now = () => clock;
  const open = (cfg: StoreConfig = config) => openStore(cfg, { scrypt: FAST_SCRYPT, now });
  // Each test uses its own user ids so tests sharing the store do not interfere.
  let nextId = 1000;
  const ids = (n: number) => Array.from({ length: n }, () => nextId++);

  beforeAll(async () => {
    backend = makeBackend();
    config = backend.config;
    store = await open();
  });

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  const text = (s: string) => Buffer.from(s, 'utf8');
  const saveSingle = (s: Store, from: number, to: number, body: string | Buffer, createTime = clock) =>
    s.messages.saveMessage({
      sessionType: SessionType.SINGLE,
      fromUserId: from,
      toId: to,
      msgType: 1,
      data: typeof body === 'string' ? text(body) : body,
      createTime,
    });

  describe('migrations', () => {
    test('first open applies, re-open is a no-op', async () => {
      expect(store.migrations?.applied).toEqual(ALL_VERSIONS);
      const again = await open();
      try {
        expect(again.migrations).toEqual({ applied: [], current: LATEST });
        const rows = await again.db.query<{ version: number; name: string; applied_at: number }>(
          'SELECT version, name, applied_at FROM tt_schema_migrations ORDER BY version',
        );
        expect(rows.map((r) => Number(r.version))).toEqual(ALL_VERSIONS);
      } finally {
        await again.close();
      }
    });

    test('two processes opening a new database at once apply each migration exactly once', async () => {
      const cfg = backend.fresh();
      const [a, b] = await Promise.all([open(cfg), open(cfg)]);
      try {
        expect([...a.migrations!.applied, ...b.migrations!.applied].sort((x, y) => x - y)).toEqual(ALL_VERSIONS);
        const rows = await b.db.query('SELECT version FROM tt_schema_migrations');
        expect(rows).toHaveLength(ALL_VERSIONS.length);
        // Both work.
        await a.users.create({ name: 'm1', passwordMd5Hex: md5('x') });
        expect(await b.users.findByName('m1')).not.toBeNull();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    test('a version-1 database is upgraded to version 2 and keeps its data; version-2 DDL is re-runnable', async () => {
      const cfg = backend.fresh();
      const v1 = await openDatabase(cfg);
      try {
        expect(await runMigrations(v1, { migrations: [MIGRATIONS[0]!], now })).toEqual({ applied: [1], current: 1 });
        await v1.execute("INSERT INTO im_user (name, password_hash, created, updated) VALUES ('old-timer', 'x', 5, 5)");
        await v1.execute('INSERT INTO im_conversation (session_type, id_a, id_b, last_msg_id, updated) VALUES (2, 1, 0, 7, 5)');
        await expect(v1.query('SELECT id FROM im_group')).rejects.toBeInstanceOf(StorageError);
      } finally {
        await v1.close();
      }
      const s = await open(cfg);
      try {
        expect(s.migrations).toEqual({ applied: ALL_VERSIONS.slice(1), current: LATEST });
        expect(await s.users.findByName('old-timer')).toMatchObject({ created: 5, updated: 5 });
        const g = await s.groups.create({ type: GroupType.NORMAL, name: 'first', creatorId: 1, memberIds: [2] });
        expect(g).toMatchObject({ id: 1, version: 1, memberIds: [1, 2] });
        // Group 1 already had a conversation (msg_id 7): someone added now only sees later messages.
        await s.groups.changeMembers(g.id, 'add', [3]);
        expect(await s.groups.member(g.id, 3)).toEqual({ status: 0, shieldStatus: 0, joinMsgId: 7 });
        await s.devices.set(1, 17, 'migrated-token');
        await s.settings.setPushShield(1, 1);
        // Every statement of version 2 can run again without harm (MySQL DDL is not transactional).
        for (const statement of MIGRATIONS[1]![s.db.dialect]) await s.db.execute(statement);
        expect((await s.groups.findById(g.id))?.memberIds).toEqual([1, 2, 3]);
        expect((await s.devices.listForUsers([1])).map((d) => d.token)).toEqual(['migrated-token']);
        expect(await s.settings.pushShield(1)).toBe(1);
      } finally {
        await s.close();
      }
      const again = await open(cfg);
      await again.close();
      expect(again.migrations).toEqual({ applied: [], current: LATEST });
    });
  });

  describe('users', () => {
    test('create, find, duplicate', async () => {
      clock = 1_700_000_100;
      const alice = await store.users.create({ name: 'alice', passwordMd5Hex: md5('secret'), nick: '爱丽丝', sex: 2, departId: 3, email: 'a@x' });
      expect(alice).toMatchObject({ name: 'alice', nick: '爱丽丝', sex: 2, departId: 3, email: 'a@x', status: UserStatus.ACTIVE, created: clock, updated: clock });
      expect(alice.id).toBeGreaterThan(0);
      expect(JSON.stringify(alice)).not.toMatch(/scrypt/);
      expect(await store.users.findById(alice.id)).toEqual(alice);
      expect(await store.users.findByName('alice')).toEqual(alice);
      expect(await store.users.findByName('ALICE')).toBeNull(); // names compare byte-exact on both backends
      expect(await store.users.findById(999_999)).toBeNull();

      const err = await store.users.create({ name: 'alice', passwordMd5Hex: md5('other') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('DUPLICATE');

      // A driver-level duplicate maps to DUPLICATE and its cause does not carry the statement's parameters.
      const raw = await store.db
        .execute('INSERT INTO im_user (name, password_hash, created, updated) VALUES (?, ?, 1, 1)', ['alice', 'scrypt$SECRET-HASH'])
        .catch((e: unknown) => e);
      expect(raw).toMatchObject({ code: 'DUPLICATE' });
      const cause = (raw as StorageError).cause as Record<string, unknown>;
      expect(Object.values(cause).filter((v) => typeof v === 'string' && v.includes('SECRET-HASH'))).toEqual([]);
      expect((raw as StorageError).message).not.toContain('SECRET-HASH');

      const bob = await store.users.create({ name: 'bob', passwordMd5Hex: md5('pw') });
      const found = await store.users.findByIds([bob.id, alice.id, 424242, bob.id]);
      expect(found.map((u) => u.name)).toEqual(['alice', 'bob']);
      expect(await store.users.findByIds([])).toEqual([]);
    });

    test('password verify, wrong password, malformed input, setPassword', async () => {
      const u = await store.users.create({ name: 'carol', passwordMd5Hex: md5('hunter2') });
      expect(await store.users.verifyPassword(u, md5('hunter2'))).toBe(true);
      expect(await store.users.verifyPassword(u, md5('hunter2').toUpperCase())).toBe(true);
      expect(await store.users.verifyPassword(u, md5('hunter3'))).toBe(false);
      expect(await store.users.verifyPassword(u, 'not-hex')).toBe(false);
      expect(await store.users.verifyPassword({ id: 987_654 }, md5('hunter2'))).toBe(false);

      const [stored] = await store.db.query<{ password_hash: string }>('SELECT password_hash FROM im_user WHERE id = ?', [u.id]);
      expect(stored!.password_hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/);

      await expect(store.users.create({ name: 'dave', passwordMd5Hex: 'abc' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.users.setPassword('carol', 'z'.repeat(32))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.users.setPassword('nobody', md5('x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });

      await store.users.setPassword('carol', md5('new'));
      expect(await store.users.verifyPassword(u, md5('hunter2'))).toBe(false);
      expect(await store.users.verifyPassword(u, md5('new'))).toBe(true);

      expect((await store.users.authenticate('carol', md5('new')))?.id).toBe(u.id);
      expect(await store.users.authenticate('carol', md5('hunter2'))).toBeNull();
      expect(await store.users.authenticate('nobody', md5('new'))).toBeNull();
      await store.users.update(u.id, { status: UserStatus.DISABLED });
      expect(await store.users.authenticate('carol', md5('new'))).toBeNull();
    });

    test('listChangedSince and update', async () => {
      clock = 1_700_001_000;
      const e = await store.users.create({ name: 'erin', passwordMd5Hex: md5('1') });
      clock = 1_700_001_010;
      const f = await store.users.create({ name: 'frank', passwordMd5Hex: md5('2') });
      expect((await store.users.listChangedSince(1_700_000_999)).map((u) => u.name)).toEqual(['erin', 'frank']);
      expect((await store.users.listChangedSince(1_700_001_000)).map((u) => u.name)).toEqual(['frank']);
      clock = 1_700_001_020;
      const e2 = await store.users.update(e.id, { nick: 'Erin', signInfo: 'hi' });
      expect(e2).toMatchObject({ id: e.id, nick: 'Erin', signInfo: 'hi', updated: 1_700_001_020, created: 1_700_001_000 });
      expect((await store.users.listChangedSince(1_700_001_010)).map((u) => u.id)).toEqual([e.id]);
      expect(f.id).toBeGreaterThan(e.id);
      await expect(store.users.update(999_999, { nick: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('profile updates and sync times', () => {
    test('avatar / signInfo updates bump updated (also twice within a second); maxUpdated', async () => {
      const s = await open(backend.fresh());
      try {
        expect(await s.users.maxUpdated()).toBe(0);
        expect(await s.departments.maxUpdated()).toBe(0);
        clock = 1_700_003_000;
        const u = await s.users.create({ name: 'gina', passwordMd5Hex: md5('x') });
        await s.users.create({ name: 'hank', passwordMd5Hex: md5('x') });
        expect(await s.users.maxUpdated()).toBe(1_700_003_000);
        clock = 1_700_003_010;
        const a = await s.users.update(u.id, { avatar: 'http://img/g.png' });
        expect(a).toMatchObject({ id: u.id, avatar: 'http://img/g.png', updated: 1_700_003_010, created: 1_700_003_000 });
        expect((await s.users.listChangedSince(1_700_003_000)).map((x) => [x.name, x.avatar])).toEqual([['gina', 'http://img/g.png']]);
        // A second change in the same second still moves updated past what a client synced to.
        const b = await s.users.update(u.id, { signInfo: '签名' });
        expect(b).toMatchObject({ avatar: 'http://img/g.png', signInfo: '签名', updated: 1_700_003_011 });
        expect((await s.users.listChangedSince(1_700_003_010)).map((x) => x.signInfo)).toEqual(['签名']);
        expect(await s.users.findById(u.id)).toEqual(b);
        expect(await s.users.maxUpdated()).toBe(1_700_003_011);
        await expect(s.users.update(u.id, { avatar: 'x'.repeat(256) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

        clock = 1_700_003_020;
        const d = await s.departments.create({ name: 'sales' });
        expect(await s.departments.maxUpdated()).toBe(1_700_003_020);
        clock = 1_700_003_030;
        await s.departments.remove(d.id);
        expect(await s.departments.maxUpdated()).toBe(1_700_003_030);
      } finally {
        await s.close();
      }
    });
  });

  describe('departments', () => {
    test('create, duplicate, findByName, listChangedSince, remove', async () => {
      clock = 1_700_002_000;
      const root = await store.departments.create({ name: '总部' });
      clock = 1_700_002_010;
      const dev = await store.departments.create({ name: 'dev', parentId: root.id, priority: 5 });
      expect(dev).toMatchObject({ name: 'dev', parentId: root.id, priority: 5, status: 0, created: clock, updated: clock });
      expect(await store.departments.findByName('总部')).toEqual(root);
      expect(await store.departments.findByName('ops')).toBeNull();
      await expect(store.departments.create({ name: 'dev' })).rejects.toMatchObject({ code: 'DUPLICATE' });
      expect((await store.departments.listChangedSince(1_700_002_000)).map((d) => d.name)).toEqual(['dev']);
      clock = 1_700_002_020;
      await store.departments.remove(root.id);
      const changed = await store.departments.listChangedSince(1_700_002_010);
      expect(changed).toEqual([{ ...root, status: 1, updated: 1_700_002_020 }]);
      await expect(store.departments.remove(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('messages', () => {
    test('msg_ids are 1..n per conversation in both directions; list, paging, getByIds', async () => {
      const [a, b, c] = ids(3);
      const got: number[] = [];
      for (let i = 0; i < 10; i++) {
        const from = i % 3 === 0 ? b! : a!;
        const to = from === a ? b! : a!;
        got.push((await saveSingle(store, from, to, `m${i + 1}`, clock + i)).msgId);
      }
      expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // Another conversation has its own counter.
      expect((await saveSingle(store, a!, c!, 'other')).msgId).toBe(1);

      expect(await store.messages.latestMsgId(SessionType.SINGLE, a!, b!)).toBe(10);
      expect(await store.messages.latestMsgId(SessionType.SINGLE, b!, a!)).toBe(10);
      expect(await store.messages.latestMsgId(SessionType.SINGLE, b!, c!)).toBe(0);

      const newest = await store.messages.listMessages(SessionType.SINGLE, b!, a!, { msgIdBegin: 0, count: 4 });
      expect(newest.map((m) => m.msgId)).toEqual([10, 9, 8, 7]);
      expect(newest[0]).toEqual({ msgId: 10, fromId: b, toId: a, msgType: 1, data: text('m10'), createTime: clock + 9 });
      expect(newest[1]).toMatchObject({ fromId: a, toId: b, data: text('m9') });
      const page2 = await store.messages.listMessages(SessionType.SINGLE, a!, b!, { msgIdBegin: 6, count: 4 });
      expect(page2.map((m) => m.msgId)).toEqual([6, 5, 4, 3]);
      const last = await store.messages.listMessages(SessionType.SINGLE, a!, b!, { msgIdBegin: 2, count: 4 });
      expect(last.map((m) => m.msgId)).toEqual([2, 1]);
      expect(await store.messages.listMessages(SessionType.SINGLE, a!, b!, { msgIdBegin: 0, count: 0 })).toEqual([]);

      const some = await store.messages.getByIds(SessionType.SINGLE, a!, b!, [7, 3, 99, 3]);
      expect(some.map((m) => [m.msgId, m.data.toString()])).toEqual([[3, 'm3'], [7, 'm7']]);
      expect(await store.messages.getByIds(SessionType.SINGLE, a!, b!, [])).toEqual([]);
    });

    test('binary content is stored and returned byte-exact', async () => {
      const [a, b] = ids(2);
      const payloads = [
        Buffer.from([0x00, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0x00]), // zero bytes + invalid UTF-8
        Buffer.alloc(0),
        randomBytes(70_000), // larger than a MySQL BLOB (64 KiB)
        Buffer.from("'; DROP TABLE im_message; --\\\u0000", 'utf8'),
      ];
      for (const p of payloads) await saveSingle(store, a!, b!, p);
      // A Uint8Array that is a view into a larger buffer.
      const backing = new Uint8Array([9, 9, 1, 0, 2, 9]);
      await store.messages.saveMessage({ sessionType: 1, fromUserId: b!, toId: a!, msgType: 2, data: backing.subarray(2, 5), createTime: clock });
      const all = await store.messages.listMessages(SessionType.SINGLE, a!, b!, { msgIdBegin: 0, count: 10 });
      const data = all.reverse().map((m) => m.data);
      data.forEach((d) => expect(Buffer.isBuffer(d)).toBe(true));
      expect(data.map((d) => d.toString('hex'))).toEqual([...payloads, Buffer.from([1, 0, 2])].map((p) => p.toString('hex')));
      // Both sides see the conversation's latest message as the summary.
      const [ub] = await store.sessions.unreadList(b!);
      const [ua] = await store.sessions.unreadList(a!);
      expect([ub!.latestMsgData.toString('hex'), ua!.latestMsgData.toString('hex')]).toEqual(['010002', '010002']);
      expect([ub!.unreadCnt, ua!.unreadCnt, ua!.latestMsgType, ua!.latestFromId]).toEqual([4, 1, 2, b]);
    });

    test('40 concurrent saves on a new pair through two separately opened stores get exactly 1..40', async () => {
      const other = await open();
      try {
        const [a, b] = ids(2);
        const saves = Array.from({ length: 40 }, (_, i) => {
          const s = i % 2 === 0 ? store : other;
          const [from, to] = i % 4 < 2 ? [a!, b!] : [b!, a!];
          return saveSingle(s, from, to, `race ${i}`);
        });
        const got = (await Promise.all(saves)).map((r) => r.msgId);
        expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        const rows = await store.messages.listMessages(SessionType.SINGLE, a!, b!, { msgIdBegin: 0, count: 100 });
        expect(rows.map((m) => m.msgId)).toEqual(Array.from({ length: 40 }, (_, i) => 40 - i));
        // Each body landed under the id its save returned.
        const byId = new Map(rows.map((m) => [m.msgId, m.data.toString()]));
        got.forEach((id, i) => expect(byId.get(id)).toBe(`race ${i}`));
        expect(await other.messages.latestMsgId(SessionType.SINGLE, a!, b!)).toBe(40);
        // Each side sent 20 and received 20.
        const [ua] = await store.sessions.unreadList(a!);
        const [ub] = await store.sessions.unreadList(b!);
        expect([ua!.unreadCnt, ub!.unreadCnt]).toEqual([20, 20]);
        expect(ua!.latestMsgId).toBe(40);
      } finally {
        await other.close();
      }
    });

    test('group messages: key (2, gid, 0), recipients get unread, sender does not', async () => {
      const [gid, u1, u2, u3] = ids(4);
      const members = [u1!, u2!, u3!];
      const save = (from: number, body: string) =>
        store.messages.saveMessage({ sessionType: SessionType.GROUP, fromUserId: from, toId: gid!, msgType: 0x11, data: text(body), createTime: clock, recipientIds: members });
      expect((await save(u1!, 'g1')).msgId).toBe(1);
      expect((await save(u2!, 'g2')).msgId).toBe(2);
      expect((await save(u1!, 'g3')).msgId).toBe(3);
      const [conv] = await store.db.query<{ last_msg_id: number }>('SELECT last_msg_id FROM im_conversation WHERE session_type = 2 AND id_a = ? AND id_b = 0', [gid!]);
      expect(Number(conv!.last_msg_id)).toBe(3);
      expect((await store.messages.listMessages(SessionType.GROUP, u3!, gid!, { msgIdBegin: 0, count: 10 })).map((m) => m.data.toString())).toEqual(['g3', 'g2', 'g1']);
      const unread = async (u: number) => (await store.sessions.unreadList(u)).map((s) => [s.sessionType, s.peerId, s.unreadCnt, s.latestMsgId, s.latestFromId]);
      expect(await unread(u1!)).toEqual([[2, gid, 1, 3, u1]]);
      expect(await unread(u2!)).toEqual([[2, gid, 2, 3, u1]]);
      expect(await unread(u3!)).toEqual([[2, gid, 3, 3, u1]]);
      await expect(
        store.messages.saveMessage({ sessionType: SessionType.GROUP, fromUserId: u1!, toId: gid!, msgType: 0x11, data: text('x'), createTime: clock }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });

  describe('conversation core: sync seqs, client_msg_id, recall', () => {
    const saveGroup = (s: Store, from: number, gid: number, members: number[], body: string, extra: { clientMsgId?: string; extra?: Buffer; createTime?: number } = {}) =>
      s.messages.saveMessage({ sessionType: SessionType.GROUP, fromUserId: from, toId: gid, msgType: 0x11, data: text(body), createTime: extra.createTime ?? clock, recipientIds: members, ...extra });
    const sendTo = (s: Store, from: number, to: number, body: string, more: { clientMsgId?: string; extra?: Buffer; createTime?: number } = {}) =>
      s.messages.saveMessage({ sessionType: SessionType.SINGLE, fromUserId: from, toId: to, msgType: 1, data: text(body), createTime: more.createTime ?? clock, ...more });

    test('every message gets the next seq of its sender and of each recipient; seqs are per user, gap-free and survive a restart', async () => {
      const [ann, bob, cat] = ids(3);
      const team = await store.groups.create({ type: GroupType.NORMAL, name: 'seq-team', creatorId: ann!, memberIds: [bob!, cat!] });
      // Ann writes to Bob, Bob answers, Cat writes to the team: each user's stream grows by one per message they see.
      expect((await sendTo(store, ann!, bob!, 'hi bob')).seqs).toEqual([{ userId: ann, seq: 1 }, { userId: bob, seq: 1 }]);
      expect((await sendTo(store, bob!, ann!, 'hi ann')).seqs).toEqual([{ userId: bob, seq: 2 }, { userId: ann, seq: 2 }]);
      const g = await saveGroup(store, cat!, team.id, team.memberIds, 'hello team');
      expect(g).toMatchObject({ msgId: 1, createTime: clock, seqs: [{ userId: cat, seq: 1 }, { userId: ann, seq: 3 }, { userId: bob, seq: 3 }] });
      // Thirty messages at once, through two processes: every user's seqs are still 1..n without gaps.
      const other = await open();
      try {
        const saves = Array.from({ length: 30 }, (_, i) => {
          const s = i % 2 ? store : other;
          if (i % 3 === 0) return saveGroup(s, team.memberIds[i % 3]!, team.id, team.memberIds, `g${i}`);
          return i % 3 === 1 ? sendTo(s, ann!, bob!, `s${i}`) : sendTo(s, cat!, ann!, `s${i}`);
        });
        const all = (await Promise.all(saves)).flatMap((r) => r.seqs);
        all.push(...[{ userId: ann!, seq: 1 }, { userId: ann!, seq: 2 }, { userId: ann!, seq: 3 }, { userId: bob!, seq: 1 }, { userId: bob!, seq: 2 }, { userId: bob!, seq: 3 }, { userId: cat!, seq: 1 }]);
        for (const user of [ann!, bob!, cat!]) {
          const seqs = all.filter((s) => s.userId === user).map((s) => s.seq).sort((x, y) => x - y);
          expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
          expect(await other.messages.maxSeq(user)).toBe(seqs.length);
        }
      } finally {
        await other.close();
      }
      // After a restart the streams are all there and point at the messages.
      const reopened = await open();
      try {
        const page = await reopened.messages.sync(bob!, { limit: 3 });
        expect(page.entries.map((e) => [e.seq, e.kind, e.sessionType, e.message.data.toString()])).toEqual([
          [1, 'message', SessionType.SINGLE, 'hi bob'],
          [2, 'message', SessionType.SINGLE, 'hi ann'],
          [3, 'message', SessionType.GROUP, 'hello team'],
        ]);
        expect(page.hasMore).toBe(true);
        expect(page.maxSeq).toBe(await reopened.messages.maxSeq(bob!));
        expect(await reopened.messages.maxSeq(ids(1)[0]!)).toBe(0);
      } finally {
        await reopened.close();
      }
    });

    test('client_msg_ids are forgotten after their retention: an old resend is a new message, a recent one is still the same', async () => {
      const [uma, vic] = ids(2);
      const old = await sendTo(store, uma!, vic!, 'old', { clientMsgId: 'keep-or-forget-1', createTime: 1000 });
      const recent = await sendTo(store, uma!, vic!, 'recent', { clientMsgId: 'keep-or-forget-2', createTime: 5000 });
      // Other tests' rows are older than 2000 too; delete one at a time until ours is gone.
      let deleted = 0;
      while ((await store.messages.pruneClientMsgIds(2000, 1)) === 1) deleted++;
      expect(deleted).toBeGreaterThanOrEqual(1);
      expect((await sendTo(store, uma!, vic!, 'old', { clientMsgId: 'keep-or-forget-1', createTime: 6000 })).msgId).toBeGreaterThan(recent.msgId);
      expect(await sendTo(store, uma!, vic!, 'recent', { clientMsgId: 'keep-or-forget-2', createTime: 6000 })).toMatchObject({ msgId: recent.msgId, duplicate: true });
      expect(old.msgId).toBeLessThan(recent.msgId);
    });

    test('a batch of group and single messages is stored as runs; each user still has one seq per message, and sync cuts runs anywhere', async () => {
      const [ida, ivo, jan] = ids(3);
      const crew = await store.groups.create({ type: GroupType.NORMAL, name: 'run-crew', creatorId: ida!, memberIds: [ivo!, jan!] });
      // Fifteen saves at once: group messages from Ida and Ivo interleaved with Ivo writing to Jan.
      const sent = Array.from({ length: 15 }, (_, i) => (i % 3 === 2 ? { single: true, body: `s${i}` } : { single: false, body: `g${i}` }));
      const results = await Promise.all(sent.map((m, i) => (m.single ? sendTo(store, ivo!, jan!, m.body) : saveGroup(store, i % 2 ? ivo! : ida!, crew.id, crew.memberIds, m.body))));
      // Jan's seqs: 1..15, each naming the message it was given for.
      const seqOf = (r: (typeof results)[number], user: number) => r.seqs.find((s) => s.userId === user)!.seq;
      const janSeqs = results.map((r) => seqOf(r, jan!));
      expect([...janSeqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      const all = await store.messages.sync(jan!, {});
      expect(all.entries.map((e) => [e.seq, e.message.data.toString()])).toEqual(
        janSeqs.map((seq, i) => [seq, sent[i]!.body] as [number, string]).sort((a, b) => a[0] - b[0]),
      );
      // Within a conversation, seq order is message order.
      for (const type of [SessionType.SINGLE, SessionType.GROUP]) {
        const ofType = all.entries.filter((e) => e.sessionType === type).map((e) => e.message.msgId);
        expect(ofType).toEqual([...ofType].sort((a, b) => a - b));
      }
      // Fewer pointer rows than entries: the batch's messages of a conversation share rows.
      const [{ n }] = await store.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM im_user_sync WHERE user_id = ?', [jan!]);
      expect(Number(n)).toBeLessThan(15);
      // Pages that start, end and stop inside runs give exactly the asked seqs, and has_more.
      for (const [minSeq, maxSeq, limit] of [[2, 0, 4], [6, 7, 10], [3, 14, 5], [9, 0, 100], [15, 15, 1]] as const) {
        const page = await store.messages.sync(jan!, { minSeq, maxSeq, limit });
        const upper = maxSeq === 0 ? 15 : maxSeq;
        const expected = all.entries.filter((e) => e.seq >= minSeq && e.seq <= upper);
        expect(page.entries).toEqual(expected.slice(0, limit));
        expect(page.hasMore).toBe(expected.length > limit);
      }
      // Ivo sent some and received others: his stream is gap-free too.
      expect((await store.messages.sync(ivo!, {})).entries.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    });

    test('sync pages through a range: min 0 is 1, max 0 is the newest, limit 0 is 100, has_more only inside the range', async () => {
      const [dan, eve] = ids(2);
      for (let i = 1; i <= 5; i++) await sendTo(store, eve!, dan!, `m${i}`, { extra: Buffer.from([i]) });
      const seqsOf = (p: { entries: Array<{ seq: number }> }) => p.entries.map((e) => e.seq);
      let page = await store.messages.sync(dan!, { minSeq: 0, maxSeq: 0, limit: 2 });
      expect([seqsOf(page), page.hasMore, page.maxSeq]).toEqual([[1, 2], true, 5]);
      page = await store.messages.sync(dan!, { minSeq: 3, maxSeq: 0, limit: 2 });
      expect([seqsOf(page), page.hasMore]).toEqual([[3, 4], true]);
      page = await store.messages.sync(dan!, { minSeq: 5, maxSeq: 0, limit: 2 });
      expect([seqsOf(page), page.hasMore]).toEqual([[5], false]);
      expect(page.entries[0]!.message).toEqual({ msgId: 5, fromId: eve, toId: dan, msgType: 1, data: text('m5'), createTime: clock, extra: Buffer.from([5]) });
      // A closed range: has_more says whether the range (not the stream) holds more.
      expect(seqsOf(await store.messages.sync(dan!, { minSeq: 2, maxSeq: 3, limit: 2 }))).toEqual([2, 3]);
      expect((await store.messages.sync(dan!, { minSeq: 2, maxSeq: 3, limit: 2 })).hasMore).toBe(false);
      expect((await store.messages.sync(dan!, { minSeq: 2, maxSeq: 4, limit: 2 })).hasMore).toBe(true);
      expect(seqsOf(await store.messages.sync(dan!, {}))).toEqual([1, 2, 3, 4, 5]);
      expect(await store.messages.sync(dan!, { minSeq: 6 })).toEqual({ entries: [], maxSeq: 5, hasMore: false });
      expect(await store.messages.sync(dan!, { minSeq: 4, maxSeq: 2 })).toEqual({ entries: [], maxSeq: 5, hasMore: false });
      // The sender's stream has the same messages under the sender's own seqs.
      expect(seqsOf(await store.messages.sync(eve!, { minSeq: 1 }))).toEqual([1, 2, 3, 4, 5]);
      await expect(store.messages.sync(dan!, { minSeq: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('a resend with the same client_msg_id gets the first answer again and stores nothing, also inside one batch', async () => {
      const [fay, gus] = ids(2);
      const first = await sendTo(store, fay!, gus!, 'once', { clientMsgId: 'c-1', extra: Buffer.from('x1') });
      expect(first).toEqual({ msgId: 1, createTime: clock, seqs: [{ userId: fay, seq: 1 }, { userId: gus, seq: 1 }] });
      // The client did not get the ack and sends again, later and with other bytes: same answer, the original message.
      const again = await sendTo(store, fay!, gus!, 'twice', { clientMsgId: 'c-1', createTime: clock + 60 });
      expect(again).toEqual({
        msgId: 1,
        createTime: clock,
        seqs: [{ userId: fay, seq: 1 }],
        duplicate: true,
        original: { msgId: 1, fromId: fay, toId: gus, msgType: 1, data: text('once'), createTime: clock, extra: Buffer.from('x1') },
      });
      // Two resends in the same batch as a new message with a new id: one message stored, one answer for all three.
      const [a, b, c] = await Promise.all([sendTo(store, fay!, gus!, 'new', { clientMsgId: 'c-2' }), sendTo(store, fay!, gus!, 'new', { clientMsgId: 'c-2' }), sendTo(store, fay!, gus!, 'x', { clientMsgId: 'c-1' })]);
      expect([a.msgId, a.duplicate, b.msgId, b.duplicate, b.seqs, c.msgId, c.duplicate]).toEqual([2, undefined, 2, true, [{ userId: fay, seq: 2 }], 1, true]);
      // The same client_msg_id from someone else is their own message.
      expect(await sendTo(store, gus!, fay!, 'mine', { clientMsgId: 'c-1' })).toMatchObject({ msgId: 3, seqs: [{ userId: gus, seq: 3 }, { userId: fay, seq: 3 }] });
      expect((await store.messages.listMessages(SessionType.SINGLE, fay!, gus!, { msgIdBegin: 0, count: 10 })).map((m) => m.data.toString())).toEqual(['mine', 'new', 'once']);
      expect(await store.messages.maxSeq(gus!)).toBe(3);
      expect((await store.sessions.unreadList(gus!)).map((s) => s.unreadCnt)).toEqual([2]);
      await expect(sendTo(store, fay!, gus!, 'long', { clientMsgId: 'x'.repeat(129) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('two processes saving the same client_msg_id at the same moment: one stores it, the other answers with it', async () => {
      const [hal, ida, jon] = ids(3);
      const other = await open();
      try {
        // Another process has claimed client_msg_id "race" (its message went to Jon) but not committed yet.
        let claimed!: () => void;
        const isClaimed = new Promise<void>((r) => (claimed = r));
        const holder = other.db.transaction(async (tx) => {
          await tx.execute('INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created) VALUES (1, ?, ?, 1, ?, ?, 1, ?, ?)', [hal!, jon!, hal!, jon!, text('to jon'), clock]);
          await tx.execute("INSERT INTO im_client_msg (from_id, client_msg_id, session_type, id_a, id_b, msg_id, seq, created) VALUES (?, 'race', 1, ?, ?, 1, 77, ?)", [hal!, hal!, jon!, clock]);
          claimed();
          await sleep(150);
        });
        await isClaimed;
        // Our save does not see the claim yet; it waits on the key, loses, and then answers with the winner's message.
        const saved = await sendTo(store, hal!, ida!, 'to ida', { clientMsgId: 'race' });
        await holder;
        expect(saved).toMatchObject({ msgId: 1, seqs: [{ userId: hal, seq: 77 }], duplicate: true, original: { toId: jon, data: text('to jon') } });
        expect(await store.messages.latestMsgId(SessionType.SINGLE, hal!, ida!)).toBe(0);
        expect(await store.messages.maxSeq(ida!)).toBe(0);
        // And many concurrent pairs through both stores: every pair stores one message.
        const pairs = await Promise.all(
          Array.from({ length: 10 }, (_, i) => Promise.all([sendTo(store, hal!, ida!, `p${i}`, { clientMsgId: `p${i}` }), sendTo(other, hal!, ida!, `p${i}`, { clientMsgId: `p${i}` })])),
        );
        for (const [x, y] of pairs) {
          expect(x.msgId).toBe(y.msgId);
          expect([x.duplicate, y.duplicate].filter(Boolean)).toHaveLength(1);
        }
        expect(await store.messages.latestMsgId(SessionType.SINGLE, hal!, ida!)).toBe(10);
        expect(await store.messages.maxSeq(ida!)).toBe(10);
      } finally {
        await other.close();
      }
    });

    test('recall: the sender within the window, a group owner any time; everyone gets a recall entry in their stream', async () => {
      const [kim, leo, max, ned] = ids(4);
      const sent = await sendTo(store, kim!, leo!, 'oops', { extra: Buffer.from('e') });
      const at = (seconds: number) => (clock + seconds) * 1000;
      const recall = (userId: number, peerId: number, msgId: number, nowMs: number, sessionType: number = SessionType.SINGLE) =>
        store.messages.recall({ sessionType, userId, peerId, msgId, windowSeconds: 120, nowMs });
      // Leo cannot take back Kim's message; nobody can recall what does not exist.
      expect(await recall(leo!, kim!, sent.msgId, at(10))).toEqual({ result: 'not_allowed' });
      expect(await recall(kim!, leo!, 99, at(10))).toEqual({ result: 'not_found' });
      expect(await recall(kim!, max!, sent.msgId, at(10))).toEqual({ result: 'not_found' }); // not their conversation
      // Kim takes it back within two minutes: both streams get a recall entry after the message.
      const done = await recall(kim!, leo!, sent.msgId, at(100));
      expect(done).toEqual({
        result: 'recalled',
        sessionType: SessionType.SINGLE,
        message: { msgId: 1, fromId: kim, toId: leo, msgType: 1, data: text('oops'), createTime: clock, extra: Buffer.from('e'), recalled: { by: kim, atMs: at(100) } },
        seqs: [{ userId: kim, seq: 2 }, { userId: leo, seq: 2 }],
      });
      const leoSees = await store.messages.sync(leo!, {});
      expect(leoSees.entries.map((e) => [e.seq, e.kind, e.message.msgId, e.message.recalled, e.message.data.length])).toEqual([
        [1, 'message', 1, { by: kim, atMs: at(100) }, 4],
        [2, 'recall', 1, { by: kim, atMs: at(100) }, 0],
      ]);
      expect((await store.messages.getByIds(SessionType.SINGLE, leo!, kim!, [1]))[0]!.recalled).toEqual({ by: kim, atMs: at(100) });
      // Again: already done, nothing new in anyone's stream.
      expect(await recall(kim!, leo!, sent.msgId, at(110))).toMatchObject({ result: 'already_recalled', message: { recalled: { by: kim, atMs: at(100) } } });
      // …even after the window; but the recipient is not told it worked.
      expect(await recall(kim!, leo!, sent.msgId, at(1000))).toMatchObject({ result: 'already_recalled' });
      expect(await recall(leo!, kim!, sent.msgId, at(110))).toEqual({ result: 'not_allowed' });
      expect(await store.messages.maxSeq(leo!)).toBe(2);
      // Too late for the sender.
      const late = await sendTo(store, kim!, leo!, 'old news');
      expect(await recall(kim!, leo!, late.msgId, at(121) + 1)).toEqual({ result: 'too_late' });
      expect(await recall(kim!, leo!, late.msgId, at(120))).toMatchObject({ result: 'recalled' });

      // In a group the owner (its creator) recalls anyone's message at any time; members get the entry, people who left do not.
      const club = await store.groups.create({ type: GroupType.NORMAL, name: 'recall-club', creatorId: max!, memberIds: [kim!, leo!, ned!] });
      const said = await saveGroup(store, leo!, club.id, club.memberIds, 'rude');
      await store.groups.changeMembers(club.id, 'remove', [ned!]);
      const nedBefore = await store.messages.maxSeq(ned!);
      expect(await recall(kim!, club.id, said.msgId, at(10), SessionType.GROUP)).toEqual({ result: 'not_allowed' });
      expect(await recall(leo!, club.id, said.msgId, at(500), SessionType.GROUP)).toEqual({ result: 'too_late' });
      const byOwner = await recall(max!, club.id, said.msgId, at(86_400), SessionType.GROUP);
      expect(byOwner).toMatchObject({ result: 'recalled', sessionType: SessionType.GROUP, message: { fromId: leo, recalled: { by: max, atMs: at(86_400) } } });
      if (byOwner.result !== 'recalled') throw new Error('unreachable');
      expect(byOwner.seqs.map((s) => s.userId)).toEqual([max, ...[kim!, leo!].sort((x, y) => x - y)]);
      for (const { userId, seq } of byOwner.seqs) {
        const [entry] = (await store.messages.sync(userId, { minSeq: seq, maxSeq: seq })).entries;
        expect(entry).toMatchObject({ seq, kind: 'recall', sessionType: SessionType.GROUP, message: { msgId: said.msgId, toId: club.id } });
      }
      expect(await store.messages.maxSeq(ned!)).toBe(nedBefore);
    });

    test('a database from before version 4 keeps its messages; the new columns read as "no extra, not recalled"; v4 DDL is re-runnable', async () => {
      const cfg = backend.fresh();
      const v3 = await openDatabase(cfg);
      try {
        await runMigrations(v3, { migrations: MIGRATIONS.filter((m) => m.version <= 3), now });
        await v3.execute('INSERT INTO im_conversation (session_type, id_a, id_b, last_msg_id, updated) VALUES (1, 1, 2, 1, 5)');
        await v3.execute('INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created) VALUES (1, 1, 2, 1, 1, 2, 1, ?, 5)', [text('legacy')]);
      } finally {
        await v3.close();
      }
      const s = await open(cfg);
      try {
        expect(s.migrations?.applied).toEqual(MIGRATIONS.filter((m) => m.version >= 4).map((m) => m.version));
        for (const statement of MIGRATIONS.find((m) => m.version === 4)![s.db.dialect]) await executeMigrationStatement(s.db, statement);
        expect(await s.messages.listMessages(SessionType.SINGLE, 1, 2, { msgIdBegin: 0, count: 5 })).toEqual([{ msgId: 1, fromId: 1, toId: 2, msgType: 1, data: text('legacy'), createTime: 5 }]);
        // Old messages have no seq; new ones start each user's stream at 1.
        expect((await sendTo(s, 2, 1, 'new')).seqs).toEqual([{ userId: 2, seq: 1 }, { userId: 1, seq: 1 }]);
        expect(await s.messages.recall({ sessionType: SessionType.SINGLE, userId: 1, peerId: 2, msgId: 1, windowSeconds: 0, nowMs: 5000 })).toMatchObject({ result: 'recalled', seqs: [{ userId: 1, seq: 2 }, { userId: 2, seq: 2 }] });
      } finally {
        await s.close();
      }
    });

    test('read positions never move back; users are found by account name', async () => {
      const [oz, pia] = ids(2);
      for (let i = 0; i < 3; i++) await sendTo(store, oz!, pia!, `r${i}`);
      expect(await store.sessions.markReadUpTo(pia!, SessionType.SINGLE, oz!, 2)).toBe(2);
      expect(await store.sessions.markReadUpTo(pia!, SessionType.SINGLE, oz!, 1)).toBe(2);
      expect(await store.sessions.markReadUpTo(pia!, SessionType.SINGLE, ids(1)[0]!, 1)).toBe(0);
      const quinn = await store.users.create({ name: 'quinn', passwordMd5Hex: md5('q') });
      const rae = await store.users.create({ name: 'rae', passwordMd5Hex: md5('r') });
      expect((await store.users.findByNames(['rae', 'nobody', 'quinn', 'rae', '', 'x'.repeat(65)])).map((u) => [u.id, u.name])).toEqual([
        [quinn.id, 'quinn'],
        [rae.id, 'rae'],
      ]);
      expect(await store.users.findByNames([])).toEqual([]);
    });
  });

  describe('sessions', () => {
    test('unread counts and markRead', async () => {
      const [a, b, c] = ids(3);
      await saveSingle(store, a!, b!, 'hi');
      await saveSingle(store, a!, b!, 'there');
      await saveSingle(store, c!, b!, 'yo');
      await saveSingle(store, b!, a!, 'hello');

      const ub = await store.sessions.unreadList(b!);
      expect(ub.map((s) => [s.peerId, s.unreadCnt, s.latestMsgId, s.latestFromId, s.latestMsgData.toString(), s.latestMsgType]).sort()).toEqual(
        [
          [a, 2, 3, b, 'hello', 1], // b replied; the summary is the conversation's latest message
          [c, 1, 1, c, 'yo', 1],
        ].sort(),
      );
      const ua = await store.sessions.unreadList(a!);
      expect(ua.map((s) => [s.peerId, s.unreadCnt])).toEqual([[b, 1]]);

      const session = async (user: number, peer: number) => (await store.sessions.recentSince(user, 0, 10)).find((s) => s.peerId === peer);
      // The sender's own message counts as read for the sender.
      expect(await session(b!, a!)).toMatchObject({ unreadCnt: 2, readMsgId: 3 });
      expect(await session(a!, b!)).toMatchObject({ unreadCnt: 1, readMsgId: 2 });

      expect(await store.sessions.markRead(b!, SessionType.SINGLE, a!, 2)).toBe(true);
      expect((await store.sessions.unreadList(b!)).map((s) => s.peerId)).toEqual([c]);
      // read_msg_id never goes backwards.
      expect(await session(b!, a!)).toMatchObject({ unreadCnt: 0, readMsgId: 3 });
      expect(await store.sessions.markRead(a!, SessionType.SINGLE, b!, 3)).toBe(true);
      expect(await session(a!, b!)).toMatchObject({ unreadCnt: 0, readMsgId: 3 });
      expect(await store.sessions.unreadList(a!)).toEqual([]);
      // Marking twice is fine; an unknown session is reported.
      expect(await store.sessions.markRead(a!, SessionType.SINGLE, b!, 3)).toBe(true);
      expect(await store.sessions.markRead(b!, SessionType.SINGLE, 424_242, 1)).toBe(false);

      // A new message after reading counts again.
      await saveSingle(store, a!, b!, 'again');
      expect((await store.sessions.unreadList(b!)).find((s) => s.peerId === a)).toMatchObject({ unreadCnt: 1, latestMsgId: 4 });
      expect(await store.sessions.markRead(b!, SessionType.SINGLE, a!, 4)).toBe(true);
      expect(await session(b!, a!)).toMatchObject({ unreadCnt: 0, readMsgId: 4 });
    });

    test('recentSince: newest first, incremental, summaries, touch and remove', async () => {
      const [me, p1, p2, p3, g] = ids(5);
      clock = 1_700_010_000;
      await saveSingle(store, me!, p1!, 'to p1', clock);
      clock = 1_700_010_010;
      await saveSingle(store, p2!, me!, 'from p2', clock);
      clock = 1_700_010_020;
      await store.sessions.touch(me!, SessionType.SINGLE, p3!); // opened, no message yet
      clock = 1_700_010_030;
      await store.sessions.touch(me!, SessionType.GROUP, g!);

      const all = await store.sessions.recentSince(me!, 0, 100);
      expect(all.map((s) => [s.sessionType, s.peerId, s.updated])).toEqual([
        [2, g, 1_700_010_030],
        [1, p3, 1_700_010_020],
        [1, p2, 1_700_010_010],
        [1, p1, 1_700_010_000],
      ]);
      expect(all[1]).toMatchObject({ status: 0, unreadCnt: 0, latestMsgId: 0, latestMsgType: 0, latestFromId: 0, latestMsgTime: 0 });
      expect(all[1]!.latestMsgData).toEqual(Buffer.alloc(0));
      expect(all[2]).toMatchObject({ unreadCnt: 1, latestMsgId: 1, latestFromId: p2, latestMsgTime: 1_700_010_010 });
      expect(all[2]!.latestMsgData.toString()).toBe('from p2');
      expect(all[3]).toMatchObject({ unreadCnt: 0, readMsgId: 1, latestFromId: me });

      expect((await store.sessions.recentSince(me!, 0, 2)).map((s) => s.peerId)).toEqual([g, p3]);
      expect((await store.sessions.recentSince(me!, 1_700_010_010, 100)).map((s) => s.peerId)).toEqual([g, p3]);

      // Activity moves a session up and makes it visible to an incremental sync.
      clock = 1_700_010_040;
      await saveSingle(store, p1!, me!, 'back', clock);
      expect((await store.sessions.recentSince(me!, 1_700_010_030, 100)).map((s) => [s.peerId, s.unreadCnt, s.latestMsgId])).toEqual([[p1, 1, 2]]);

      // remove: hidden (unless asked), unread cleared; a new message revives it.
      clock = 1_700_010_050;
      expect(await store.sessions.remove(me!, SessionType.SINGLE, p1!)).toBe(true);
      expect(await store.sessions.remove(me!, SessionType.SINGLE, 424_242)).toBe(false);
      expect((await store.sessions.recentSince(me!, 0, 100)).map((s) => s.peerId)).toEqual([g, p3, p2]);
      const withDeleted = await store.sessions.recentSince(me!, 1_700_010_040, 100, { includeDeleted: true });
      expect(withDeleted.map((s) => [s.peerId, s.status, s.updated, s.unreadCnt])).toEqual([[p1, 1, 1_700_010_050, 0]]);
      expect((await store.sessions.unreadList(me!)).map((s) => s.peerId)).toEqual([p2]);
      clock = 1_700_010_060;
      await saveSingle(store, p1!, me!, 'revive', clock);
      expect((await store.sessions.recentSince(me!, 1_700_010_050, 100)).map((s) => [s.peerId, s.status, s.unreadCnt])).toEqual([[p1, 0, 1]]);
    });
  });

  describe('chat rooms', () => {
    const say = (s: Store, from: number, roomId: number, body: string, clientMsgId?: string) =>
      s.messages.saveMessage({ sessionType: SessionType.ROOM, fromUserId: from, toId: roomId, msgType: 0x21, data: text(body), createTime: clock, clientMsgId });

    test('users join and leave; the member limit holds under concurrent joins; dissolving empties the room', async () => {
      const users = ids(6);
      const lobby = await store.rooms.create({ name: 'lobby', maxMembers: 4 });
      expect(lobby).toMatchObject({ name: 'lobby', creatorId: 0, maxMembers: 4, memberCount: 0 });
      const joins = await Promise.all(users.map((u) => store.rooms.join(lobby.id, u!)));
      expect(joins.filter((j) => j.result === 'joined')).toHaveLength(4);
      expect(joins.filter((j) => j.result === 'full')).toHaveLength(2);
      const members = await store.rooms.memberIds(lobby.id);
      expect(members).toHaveLength(4);
      expect((await store.rooms.join(lobby.id, members[0]!)).result).toBe('already_member');
      expect(await store.rooms.leave(lobby.id, members[0]!)).toBe(true);
      expect(await store.rooms.leave(lobby.id, members[0]!)).toBe(false);
      expect((await store.rooms.findById(lobby.id))?.memberCount).toBe(3);
      expect((await store.rooms.roomsOf(members[1]!)).map((r) => r.id)).toContain(lobby.id);
      expect(await store.rooms.dissolve(lobby.id)).toBe(true);
      expect(await store.rooms.dissolve(lobby.id)).toBe(false);
      expect(await store.rooms.memberIds(lobby.id)).toEqual([]);
      expect((await store.rooms.join(lobby.id, users[0]!)).result).toBe('not_found');
      expect((await store.rooms.list()).map((r) => r.id)).not.toContain(lobby.id);
      await expect(store.rooms.create({ name: '', maxMembers: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('room messages get ids but no seqs and no unread; only the newest are kept; the creator may recall any', async () => {
      const [host, guest] = ids(2);
      const room = await store.rooms.create({ name: 'town hall', creatorId: host!, maxMembers: 100 });
      await store.rooms.join(room.id, host!);
      await store.rooms.join(room.id, guest!);
      const guestSeqBefore = await store.messages.maxSeq(guest!);
      const first = await say(store, guest!, room.id, 'hello room', 'cm-1');
      expect(first).toMatchObject({ msgId: 1, seqs: [] });
      // A resend of the same client_msg_id is the same message.
      expect(await say(store, guest!, room.id, 'hello room', 'cm-1')).toMatchObject({ msgId: 1, duplicate: true, seqs: [] });
      expect(await store.messages.maxSeq(guest!)).toBe(guestSeqBefore);
      expect(await store.sessions.unreadList(host!)).toEqual([]);
      // 205 more at once: the room keeps its newest 200 (the default limit).
      await Promise.all(Array.from({ length: 205 }, (_, i) => say(store, i % 2 ? host! : guest!, room.id, `m${i}`)));
      const kept = await store.messages.listMessages(SessionType.ROOM, host!, room.id, { msgIdBegin: 0, count: 500 });
      expect(kept).toHaveLength(200);
      expect(kept[0]!.msgId).toBe(206);
      expect(kept[199]!.msgId).toBe(7);
      // The guest may not recall a message of the host's; the host (creator) may recall the guest's.
      const hostSaid = kept.find((m) => m.fromId === host)!;
      const guestSaid = kept.find((m) => m.fromId === guest)!;
      expect((await store.messages.recall({ sessionType: SessionType.ROOM, userId: guest!, peerId: room.id, msgId: hostSaid.msgId, windowSeconds: 120, nowMs: clock * 1000 })).result).toBe('not_allowed');
      expect(await store.messages.recall({ sessionType: SessionType.ROOM, userId: host!, peerId: room.id, msgId: guestSaid.msgId, windowSeconds: 0, nowMs: clock * 1000 + 999_000 })).toMatchObject({
        result: 'recalled',
        seqs: [],
      });
    });
  });

  describe('groups', () => {
    const saveGroup = (s: Store, groupId: number, from: number, body: string, recipientIds: number[]) =>
      s.messages.saveMessage({ sessionType: SessionType.GROUP, fromUserId: from, toId: groupId, msgType: 0x11, data: text(body), createTime: clock, recipientIds });

    test('create normal and temporary groups: creator is always a member, ids de-duplicated, version 1', async () => {
      clock = 1_700_020_000;
      const [a, b, owner] = ids(3);
      const g = await store.groups.create({ type: GroupType.NORMAL, name: '研发群', avatar: 'http://img/g.png', creatorId: owner!, memberIds: [b!, a!, b!, a!] });
      expect(g).toEqual({
        id: expect.any(Number),
        name: '研发群',
        avatar: 'http://img/g.png',
        description: '',
        memberLimit: 0,
        creatorId: owner,
        type: GroupType.NORMAL,
        version: 1,
        status: 0,
        created: clock,
        updated: clock,
        memberIds: [a, b, owner],
      });
      expect(g.id).toBeGreaterThan(0);
      expect(await store.groups.findById(g.id)).toEqual(g);
      expect(await store.groups.memberIds(g.id)).toEqual([a, b, owner]);
      expect(await store.groups.member(g.id, a!)).toEqual({ status: 0, shieldStatus: 0, joinMsgId: 0 });
      expect(await store.groups.isMember(g.id, owner!)).toBe(true);
      expect(await store.groups.isMember(g.id, 424_242)).toBe(false);
      expect(await store.groups.member(g.id, 424_242)).toBeNull();

      const t = await store.groups.create({ type: GroupType.TEMPORARY, name: 'tmp', creatorId: b!, memberIds: [] });
      expect(t).toMatchObject({ type: GroupType.TEMPORARY, avatar: '', creatorId: b, version: 1, memberIds: [b] });
      expect(t.id).toBeGreaterThan(g.id);
      expect(await store.groups.findById(999_999)).toBeNull();

      await expect(store.groups.create({ type: 3, name: 'x', creatorId: a! })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.groups.create({ type: 1, name: 'x'.repeat(256), creatorId: a! })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.groups.create({ type: 1, name: 'x', creatorId: a!, memberIds: [-1] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('listForUser: only active memberships of active groups, filtered by type; dissolve', async () => {
      const [u, x] = ids(2);
      const g1 = await store.groups.create({ type: GroupType.NORMAL, name: 'g1', creatorId: x!, memberIds: [u!] });
      const g2 = await store.groups.create({ type: GroupType.TEMPORARY, name: 'g2', creatorId: u! });
      const g3 = await store.groups.create({ type: GroupType.NORMAL, name: 'g3', creatorId: x! });
      const g4 = await store.groups.create({ type: GroupType.NORMAL, name: 'g4', creatorId: x!, memberIds: [u!] });
      const g5 = await store.groups.create({ type: GroupType.NORMAL, name: 'g5', creatorId: x!, memberIds: [u!] });
      expect((await store.groups.changeMembers(g4.id, 'remove', [u!])).version).toBe(2);
      await store.groups.dissolve(g5.id);

      expect(await store.groups.listForUser(u!)).toEqual([
        { groupId: g1.id, version: 1, type: GroupType.NORMAL },
        { groupId: g2.id, version: 1, type: GroupType.TEMPORARY },
      ]);
      expect((await store.groups.listForUser(u!, [GroupType.NORMAL])).map((g) => g.groupId)).toEqual([g1.id]);
      expect((await store.groups.listForUser(u!, [GroupType.TEMPORARY])).map((g) => g.groupId)).toEqual([g2.id]);
      expect(await store.groups.listForUser(u!, [])).toEqual([]);
      expect((await store.groups.listForUser(x!)).map((g) => g.groupId)).toEqual([g1.id, g3.id, g4.id]);
      expect(await store.groups.listForUser(424_242)).toEqual([]);

      // Dissolved: kept (findById), but no longer listed, joinable or messageable.
      expect(await store.groups.findById(g5.id)).toMatchObject({ status: 1, version: 2, memberIds: [u, x] });
      expect(await store.groups.memberIds(g5.id)).toEqual([]);
      expect(await store.groups.isMember(g5.id, u!)).toBe(false);
      expect(await store.groups.findByIds([g5.id, g1.id])).toHaveLength(1);
      const ids5 = await store.groups.listIds();
      expect(ids5).toEqual(expect.arrayContaining([g1.id, g2.id, g3.id, g4.id]));
      expect(ids5).not.toContain(g5.id);
      await expect(store.groups.changeMembers(g5.id, 'add', [424_242])).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.groups.setShield(g5.id, u!, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await store.groups.dissolve(g5.id); // already dissolved: nothing changes
      expect((await store.groups.findById(g5.id))?.version).toBe(2);
      await expect(store.groups.dissolve(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    test('findByIds with the asking user\'s shield status; setShield and shieldStatuses', async () => {
      const [u, v, w] = ids(3);
      const g1 = await store.groups.create({ type: GroupType.NORMAL, name: 'a', creatorId: u!, memberIds: [v!] });
      const g2 = await store.groups.create({ type: GroupType.NORMAL, name: 'b', creatorId: u!, memberIds: [w!] });
      clock = 1_700_021_000;
      expect(await store.groups.setShield(g1.id, u!, 1)).toBe(2);

      const found = await store.groups.findByIds([g2.id, g1.id, 999_999, g1.id], u!);
      expect(found).toEqual([
        { ...g1, version: 2, updated: 1_700_021_000, shieldStatus: 1 },
        { ...g2, shieldStatus: 0 },
      ]);
      expect((await store.groups.findByIds([g1.id], w!)).map((g) => g.shieldStatus)).toEqual([0]); // not a member
      expect((await store.groups.findByIds([g1.id])).map((g) => g.shieldStatus)).toEqual([0]);
      expect(await store.groups.findByIds([])).toEqual([]);

      expect(await store.groups.shieldStatuses(g1.id, [w!, v!, u!, v!])).toEqual([
        { userId: u, shieldStatus: 1 },
        { userId: v, shieldStatus: 0 },
      ]);
      await expect(store.groups.setShield(g1.id, w!, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.groups.setShield(999_999, u!, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.groups.setShield(g1.id, u!, 2)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await store.groups.setShield(g1.id, u!, 0)).toBe(3);
      expect(await store.groups.member(g1.id, u!)).toMatchObject({ shieldStatus: 0 });

      // A removed member has no shield status and cannot set one; re-adding starts unshielded.
      await store.groups.setShield(g1.id, v!, 1);
      await store.groups.changeMembers(g1.id, 'remove', [v!]);
      expect(await store.groups.shieldStatuses(g1.id, [u!, v!])).toEqual([{ userId: u, shieldStatus: 0 }]);
      await expect(store.groups.setShield(g1.id, v!, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await store.groups.changeMembers(g1.id, 'add', [v!]);
      expect(await store.groups.member(g1.id, v!)).toMatchObject({ status: 0, shieldStatus: 0 });
    });

    test('add / remove members: changed lists, version +1 only when something changed', async () => {
      const [owner, a, b, c, d] = ids(5);
      const g = await store.groups.create({ type: GroupType.NORMAL, name: 'team', creatorId: owner!, memberIds: [a!] });
      expect(await store.groups.changeMembers(g.id, 'add', [a!, owner!])).toEqual({ version: 1, memberIds: [owner, a], changed: [] });
      clock = 1_700_022_000;
      expect(await store.groups.changeMembers(g.id, 'add', [c!, b!, a!, c!])).toEqual({ version: 2, memberIds: [owner, a, b, c], changed: [b, c] });
      expect(await store.groups.findById(g.id)).toMatchObject({ version: 2, updated: 1_700_022_000 });
      clock = 1_700_022_010;
      expect(await store.groups.changeMembers(g.id, 'remove', [d!, b!])).toEqual({ version: 3, memberIds: [owner, a, c], changed: [b] });
      expect(await store.groups.changeMembers(g.id, 'remove', [b!, d!])).toEqual({ version: 3, memberIds: [owner, a, c], changed: [] });
      expect(await store.groups.changeMembers(g.id, 'add', [])).toEqual({ version: 3, memberIds: [owner, a, c], changed: [] });
      expect(await store.groups.findById(g.id)).toMatchObject({ version: 3, updated: 1_700_022_010, memberIds: [owner, a, c] });
      expect(await store.groups.member(g.id, b!)).toMatchObject({ status: 1 });
      expect(await store.groups.isMember(g.id, b!)).toBe(false);
      expect((await store.groups.listForUser(b!)).map((x) => x.groupId)).not.toContain(g.id);
      expect(await store.groups.changeMembers(g.id, 'add', [b!])).toEqual({ version: 4, memberIds: [owner, a, b, c], changed: [b] });

      await expect(store.groups.changeMembers(999_999, 'add', [a!])).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.groups.changeMembers(g.id, 'kick' as 'add', [a!])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.groups.changeMembers(g.id, 'add', [1.5])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('a member re-added (or added late) only sees group messages sent after joining', async () => {
      const [owner, a, late, newbie] = ids(4);
      const g = await store.groups.create({ type: GroupType.NORMAL, name: 'history', creatorId: owner!, memberIds: [a!, late!] });
      const send = async (from: number, body: string) => (await saveGroup(store, g.id, from, body, await store.groups.memberIds(g.id))).msgId;
      expect([await send(owner!, 'm1'), await send(a!, 'm2')]).toEqual([1, 2]);
      await store.groups.changeMembers(g.id, 'remove', [late!]);
      expect([await send(owner!, 'm3'), await send(a!, 'm4'), await send(a!, 'm5')]).toEqual([3, 4, 5]);
      expect((await store.groups.changeMembers(g.id, 'add', [late!])).changed).toEqual([late]);
      expect(await store.groups.member(g.id, late!)).toEqual({ status: 0, shieldStatus: 0, joinMsgId: 5 });
      expect([await send(late!, 'm6'), await send(owner!, 'm7')]).toEqual([6, 7]);

      const join = (await store.groups.member(g.id, late!))!.joinMsgId;
      const bodies = (ms: Array<{ data: Buffer }>) => ms.map((m) => m.data.toString());
      expect(bodies(await store.messages.listGroupMessages(g.id, { msgIdBegin: 0, count: 10 }))).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
      expect(bodies(await store.messages.listGroupMessages(g.id, { msgIdBegin: 0, count: 10, afterMsgId: join }))).toEqual(['m7', 'm6']);
      expect(bodies(await store.messages.listGroupMessages(g.id, { msgIdBegin: 6, count: 10, afterMsgId: join }))).toEqual(['m6']);
      expect(bodies(await store.messages.listGroupMessages(g.id, { msgIdBegin: 4, count: 10, afterMsgId: join }))).toEqual([]);
      // The LIMIT applies after the filter.
      expect(bodies(await store.messages.listMessages(SessionType.GROUP, late!, g.id, { msgIdBegin: 0, count: 1, minMsgIdExclusive: join }))).toEqual(['m7']);
      expect((await store.messages.getByIds(SessionType.GROUP, late!, g.id, [1, 5, 6, 7, 7], { minMsgIdExclusive: join })).map((m) => m.msgId)).toEqual([6, 7]);
      expect((await store.messages.getByIds(SessionType.GROUP, a!, g.id, [1, 5])).map((m) => m.msgId)).toEqual([1, 5]);
      expect(await store.messages.latestMsgId(SessionType.GROUP, late!, g.id, { minMsgIdExclusive: join })).toBe(7);
      expect(await store.messages.latestMsgId(SessionType.GROUP, a!, g.id)).toBe(7);

      // Added after the last message: sees nothing yet, and "latest" is 0 for them.
      await store.groups.changeMembers(g.id, 'add', [newbie!]);
      const newbieJoin = (await store.groups.member(g.id, newbie!))!.joinMsgId;
      expect(newbieJoin).toBe(7);
      expect(await store.messages.listGroupMessages(g.id, { msgIdBegin: 0, count: 10, afterMsgId: newbieJoin })).toEqual([]);
      expect(await store.messages.latestMsgId(SessionType.GROUP, newbie!, g.id, { minMsgIdExclusive: newbieJoin })).toBe(0);
      expect(await store.messages.getByIds(SessionType.GROUP, newbie!, g.id, [7], { minMsgIdExclusive: newbieJoin })).toEqual([]);
      expect((await send(a!, 'm8'))).toBe(8);
      expect(bodies(await store.messages.listGroupMessages(g.id, { msgIdBegin: 0, count: 10, afterMsgId: newbieJoin }))).toEqual(['m8']);

      // The removed period produced no unread for `late`: m1, m2 before, m7, m8 after (m6 was their own).
      expect((await store.sessions.unreadList(late!)).map((s) => [s.peerId, s.unreadCnt])).toEqual([[g.id, 4]]);
      await expect(store.messages.listGroupMessages(g.id, { msgIdBegin: 0, count: 1, afterMsgId: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('concurrent member changes through two store handles are all applied, each bumping the version', async () => {
      const other = await open();
      try {
        const [owner, a, b, c] = ids(4);
        const g = await store.groups.create({ type: GroupType.TEMPORARY, name: 'race', creatorId: owner!, memberIds: [a!, b!] });
        const both = await Promise.all([store.groups.changeMembers(g.id, 'add', [c!]), other.groups.changeMembers(g.id, 'remove', [a!])]);
        expect(both.map((r) => r.changed)).toEqual([[c], [a]]);
        expect(both.map((r) => r.version).sort()).toEqual([2, 3]);
        expect(await store.groups.findById(g.id)).toMatchObject({ version: 3, memberIds: [owner, b, c] });

        // A bigger burst: 6 adds and 6 removes interleaved across the handles.
        const joiners = ids(6);
        const leavers = ids(6);
        await store.groups.changeMembers(g.id, 'add', leavers);
        const ops = joiners.flatMap((j, i) => [
          (i % 2 ? store : other).groups.changeMembers(g.id, 'add', [j]),
          (i % 2 ? other : store).groups.changeMembers(g.id, 'remove', [leavers[i]!]),
        ]);
        const results = await Promise.all(ops);
        results.forEach((r) => expect(r.changed).toHaveLength(1));
        expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => 5 + i));
        expect(await other.groups.findById(g.id)).toMatchObject({ version: 16, memberIds: [owner, b, c, ...joiners] });
      } finally {
        await other.close();
      }
    });
  });

  describe('device tokens and push settings', () => {
    const IOS = 17;
    const ANDROID = 18;

    test('a token belongs to one (user, client type): re-registering moves it; empty token deletes; removeToken', async () => {
      const [u1, u2] = ids(2);
      const tok = (s: string) => `${u1}-${s}`;
      const list = async () => (await store.devices.listForUsers([u2!, u1!, u2!])).map((d) => [d.userId, d.clientType, d.token, d.updated]);
      clock = 1_700_030_000;
      await store.devices.set(u1!, IOS, tok('phone'));
      await store.devices.set(u1!, ANDROID, tok('tablet'));
      expect(await list()).toEqual([
        [u1, IOS, tok('phone'), 1_700_030_000],
        [u1, ANDROID, tok('tablet'), 1_700_030_000],
      ]);

      // The phone is logged in by another user: u1 must no longer get pushes on it.
      clock = 1_700_030_010;
      await store.devices.set(u2!, IOS, tok('phone'));
      expect(await list()).toEqual([
        [u1, ANDROID, tok('tablet'), 1_700_030_000],
        [u2, IOS, tok('phone'), 1_700_030_010],
      ]);
      // Same user, another client type: the token moves between client types.
      await store.devices.set(u1!, IOS, tok('tablet'));
      expect(await list()).toEqual([
        [u1, IOS, tok('tablet'), 1_700_030_010],
        [u2, IOS, tok('phone'), 1_700_030_010],
      ]);
      // A new token replaces the old one of that (user, client type); setting it again is a no-op.
      await store.devices.set(u2!, IOS, tok('phone2'));
      await store.devices.set(u2!, IOS, tok('phone2'));
      expect(await list()).toEqual([
        [u1, IOS, tok('tablet'), 1_700_030_010],
        [u2, IOS, tok('phone2'), 1_700_030_010],
      ]);
      // Empty token = logged out on that device.
      await store.devices.set(u1!, IOS, '');
      await store.devices.set(u1!, ANDROID, '');
      expect(await list()).toEqual([[u2, IOS, tok('phone2'), 1_700_030_010]]);

      // Dead token reported by APNs/FCM.
      expect(await store.devices.removeToken(tok('phone2'))).toBe(true);
      expect(await store.devices.removeToken(tok('phone2'))).toBe(false);
      expect(await store.devices.removeToken('')).toBe(false);
      expect(await list()).toEqual([]);
      expect(await store.devices.listForUsers([])).toEqual([]);

      // The unique index holds on both backends.
      await store.devices.set(u1!, IOS, tok('uniq'));
      await expect(store.db.execute('INSERT INTO im_device_token (user_id, client_type, token, updated) VALUES (?, ?, ?, 1)', [u2!, IOS, tok('uniq')])).rejects.toMatchObject({
        code: 'DUPLICATE',
      });
      await expect(store.devices.set(u1!, IOS, 'x'.repeat(513))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.devices.set(u1!, 256, 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('push shield: 0 by default, set and read back, bulk lookup', async () => {
      const [u1, u2, u3] = ids(3);
      expect(await store.settings.pushShield(u1!)).toBe(0);
      await store.settings.setPushShield(u1!, 1);
      await store.settings.setPushShield(u2!, 1);
      expect(await store.settings.pushShield(u1!)).toBe(1);
      await store.settings.setPushShield(u1!, 0);
      expect(await store.settings.pushShield(u1!)).toBe(0);
      expect([...(await store.settings.pushShields([u3!, u2!, u1!, u2!])).entries()]).toEqual([
        [u1, 0],
        [u2, 1],
        [u3, 0],
      ]);
      expect((await store.settings.pushShields([])).size).toBe(0);
      await expect(store.settings.setPushShield(u1!, 2)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });

  describe('offline files', () => {
    test('add, list for the receiver (unexpired, oldest first), remove only with the right pair, purge', async () => {
      const [from, to, other] = ids(3);
      const base = { fromId: from!, toId: to!, fileSize: 3, serverId: 'fs1' };
      await store.offlineFiles.add({ ...base, taskId: `t-a-${from}`, fileName: 'a.txt', expires: clock + 100 });
      clock += 1;
      await store.offlineFiles.add({ ...base, taskId: `t-b-${from}`, fileName: 'b.txt', expires: clock + 100 });
      await store.offlineFiles.add({ ...base, taskId: `t-old-${from}`, fileName: 'old.txt', expires: clock - 1 });
      expect((await store.offlineFiles.listForReceiver(to!)).map((f) => f.fileName)).toEqual(['a.txt', 'b.txt']);
      expect(await store.offlineFiles.listForReceiver(from!)).toEqual([]);
      expect(await store.offlineFiles.find(`t-b-${from}`)).toMatchObject({ fromId: from, toId: to, fileSize: 3, serverId: 'fs1', created: clock });
      // Adding again replaces.
      await store.offlineFiles.add({ ...base, taskId: `t-b-${from}`, fileName: 'b2.txt', expires: clock + 100 });
      expect((await store.offlineFiles.find(`t-b-${from}`))?.fileName).toBe('b2.txt');
      expect(await store.offlineFiles.remove(`t-a-${from}`, other!, to!)).toBeUndefined();
      expect(await store.offlineFiles.remove(`t-a-${from}`, from!, to!)).toMatchObject({ taskId: `t-a-${from}`, serverId: 'fs1' });
      expect(await store.offlineFiles.remove(`t-a-${from}`, from!, to!)).toBeUndefined();
      expect(await store.offlineFiles.purgeExpired()).toBeGreaterThanOrEqual(1);
      expect(await store.offlineFiles.find(`t-old-${from}`)).toBeUndefined();
      await expect(store.offlineFiles.add({ ...base, taskId: '', fileName: 'x', expires: 1 })).rejects.toBeInstanceOf(StorageError);
    });
  });

  describe('transactions and errors', () => {
    test('a transaction that throws leaves nothing written; other callers are not pulled into it', async () => {
      const boom = new Error('boom');
      // Another caller (queued from outside the transaction's async context) writes while we are
      // suspended inside the transaction; it must neither be rolled back with it nor see into it.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const outside = gate.then(() => store.departments.create({ name: 'outside-dept' }));
      const err = await store.db
        .transaction(async (tx) => {
          await tx.execute('INSERT INTO im_depart (name, priority, parent_id, status, created, updated) VALUES (?, 0, 0, 0, 1, 1)', ['tx-dept']);
          await tx.execute('INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created) VALUES (1, 1, 2, 1, 1, 2, 1, ?, 1)', [Buffer.from([1])]);
          release();
          await sleep(30);
          expect((await tx.query('SELECT id FROM im_depart WHERE name = ?', ['tx-dept'])).length).toBe(1);
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(boom);
      await outside;
      expect(await store.departments.findByName('tx-dept')).toBeNull();
      expect(await store.departments.findByName('outside-dept')).not.toBeNull();
      expect(await store.db.query('SELECT msg_id FROM im_message WHERE session_type = 1 AND id_a = 1 AND id_b = 2')).toEqual([]);

      // Commit on resolve.
      const value = await store.db.transaction(async (tx) => {
        await tx.execute('INSERT INTO im_depart (name, priority, parent_id, status, created, updated) VALUES (?, 0, 0, 0, 1, 1)', ['tx-ok']);
        return 42;
      });
      expect(value).toBe(42);
      expect(await store.departments.findByName('tx-ok')).not.toBeNull();
    });

    test('a batch that ends its transaction commits all of it, or nothing when a statement fails', async () => {
      const insertDept = (name: string) => ({ sql: 'INSERT INTO im_depart (name, priority, parent_id, status, created, updated) VALUES (?, 0, 0, 0, 1, 1)', params: [name] });
      let used: import('./index').SqlExecutor | undefined;
      await store.db.transaction(async (tx) => {
        used = tx;
        await runBatch(tx, [insertDept('batch-a'), insertDept('batch-b')], { commit: true });
      });
      expect(await store.departments.findByName('batch-b')).not.toBeNull();
      await expect(used!.query('SELECT 1')).rejects.toBeInstanceOf(StorageError);
      // The second insert repeats a unique name: the first is rolled back with it, COMMIT never runs.
      const err = await store.db
        .transaction((tx) => runBatch(tx, [insertDept('batch-c'), insertDept('batch-a')], { commit: true }))
        .catch((e: unknown) => e);
      expect(isStorageError(err, 'DUPLICATE')).toBe(true);
      expect(await store.departments.findByName('batch-c')).toBeNull();
      // A transaction that fails on its very first statement leaves the store usable.
      await expect(store.db.transaction((tx) => tx.query('SELECT nope FROM im_depart'))).rejects.toBeInstanceOf(StorageError);
      expect(await store.db.transaction((tx) => tx.query<{ one: number }>('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
    });

    test('saveMessage failing half-way writes nothing', async () => {
      const [a, b] = ids(2);
      // A stray row at msg_id 1 makes step (2) fail after step (1) bumped the counter.
      await store.db.execute(
        'INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created) VALUES (1, ?, ?, 1, ?, ?, 1, ?, 1)',
        [a!, b!, a!, b!, Buffer.from('stray')],
      );
      await expect(saveSingle(store, a!, b!, 'x')).rejects.toMatchObject({ code: 'DUPLICATE' });
      expect(await store.messages.latestMsgId(SessionType.SINGLE, a!, b!)).toBe(0);
      expect(await store.db.query('SELECT user_id FROM im_recent_session WHERE user_id IN (?, ?)', [a!, b!])).toEqual([]);
      expect(await store.db.query('SELECT session_type FROM im_conversation WHERE session_type = 1 AND id_a = ? AND id_b = ?', [a!, b!])).toEqual([]);
    });

    test('executor is dead after the transaction; invalid arguments are rejected', async () => {
      let leaked: import('./index').SqlExecutor | undefined;
      await store.db.transaction(async (tx) => {
        leaked = tx;
      });
      await expect(leaked!.query('SELECT 1')).rejects.toBeInstanceOf(StorageError);
      await expect(store.messages.listMessages(4, 1, 2, { msgIdBegin: 0, count: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(saveSingle(store, -1, 2, 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    test('a closed store fails with UNAVAILABLE', async () => {
      const s = await open();
      await s.close();
      await s.close(); // idempotent
      const err = await s.users.findById(1).catch((e: unknown) => e);
      expect(isStorageError(err, 'UNAVAILABLE')).toBe(true);
    });
  });
});

describe('backend specifics', () => {
  test('sqlite: using the database object inside its own transaction fails fast instead of deadlocking (check on)', async () => {
    const b = sqliteTestBackend('storage');
    const s = await openStore({ ...b.config, detectReentry: true } as StoreConfig, { scrypt: FAST_SCRYPT });
    try {
      const err = await s.db.transaction(() => s.db.query('SELECT 1')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INTERNAL' });
      expect(await s.db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await s.close();
      await b.cleanup();
    }
  });

  test('sqlite: a second connection waits for the write lock asynchronously (event loop stays live)', async () => {
    const b = sqliteTestBackend('storage');
    const cfg = b.config;
    const [s1, s2] = [await openStore(cfg, { scrypt: FAST_SCRYPT }), await openStore(cfg, { scrypt: FAST_SCRYPT })];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = s1.db.transaction(async (tx) => {
        await tx.execute('INSERT INTO im_depart (name, priority, parent_id, status, created, updated) VALUES (?, 0, 0, 0, 1, 1)', ['held']);
        locked();
        await sleep(150);
      });
      await isLocked;
      const started = Date.now();
      const waiter = await s2.departments.create({ name: 'waiter' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      await holder;
      expect(ticks).toBeGreaterThan(10);
      expect(waiter.id).toBe(2);
      expect((await s1.departments.findByName('held'))?.id).toBe(1);
    } finally {
      clearInterval(timer);
      await s1.close();
      await s2.close();
      await b.cleanup();
    }
  });

  (process.env.TT_TEST_SKIP_MYSQL === '1' ? test.skip : test)('mysql: unreachable server maps to UNAVAILABLE', async () => {
    const err = await openStore({ kind: 'mysql', host: '127.0.0.1', port: 1, user: 'root', password: '', database: 'tt_never', connectionLimit: 1 }).catch((e: unknown) => e);
    expect(isStorageError(err, 'UNAVAILABLE')).toBe(true);
  });
});
