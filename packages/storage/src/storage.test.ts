/**
 * Contract suite: the same tests against SQLite (fresh temp dir) and MariaDB/MySQL (fresh database
 * tt_test_<random>, dropped afterwards).
 * MySQL connection: TT_TEST_MYSQL_HOST/PORT/USER/PASSWORD (default 127.0.0.1:3306 root, empty password);
 * TT_TEST_SKIP_MYSQL=1 skips that backend.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { isStorageError, openStore, SessionType, Store, StoreConfig, StorageError, UserStatus } from './index';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const mysqlServer = {
  host: process.env.TT_TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.TT_TEST_MYSQL_PORT ?? 3306),
  user: process.env.TT_TEST_MYSQL_USER ?? 'root',
  password: process.env.TT_TEST_MYSQL_PASSWORD ?? '',
};

/** A backend environment: `config()` names one database/file; `fresh()` makes a new, empty one. */
interface Backend {
  name: string;
  /** Config for a new empty database (each call a different one). */
  fresh(): StoreConfig;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(path.join(tmpdir(), 'tt-storage-'));
  let n = 0;
  return {
    name: 'sqlite',
    // A nested directory that does not exist yet: openStore must create it.
    fresh: () => ({ kind: 'sqlite', file: path.join(dir, `db${n++}`, 'tt.sqlite') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function mysqlBackend(): Backend {
  const created: string[] = [];
  return {
    name: 'mysql',
    fresh: () => {
      const database = `tt_test_${randomBytes(6).toString('hex')}`;
      created.push(database);
      return { kind: 'mysql', ...mysqlServer, database, connectionLimit: 8 };
    },
    cleanup: async () => {
      const conn = await mysql.createConnection(mysqlServer);
      try {
        for (const db of created) await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

const backends: Array<[string, () => Backend]> = [['sqlite', sqliteBackend]];
if (process.env.TT_TEST_SKIP_MYSQL !== '1') backends.push(['mysql', mysqlBackend]);

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe.each(backends)('storage contract: %s', (_name, makeBackend) => {
  let backend: Backend;
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
    config = backend.fresh();
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
      expect(store.migrations?.applied).toEqual([1]);
      const again = await open();
      try {
        expect(again.migrations).toEqual({ applied: [], current: 1 });
        const rows = await again.db.query<{ version: number; name: string; applied_at: number }>(
          'SELECT version, name, applied_at FROM tt_schema_migrations',
        );
        expect(rows).toHaveLength(1);
        expect(Number(rows[0]!.version)).toBe(1);
      } finally {
        await again.close();
      }
    });

    test('two processes opening a new database at once apply each migration exactly once', async () => {
      const cfg = backend.fresh();
      const [a, b] = await Promise.all([open(cfg), open(cfg)]);
      try {
        expect([...a.migrations!.applied, ...b.migrations!.applied]).toEqual([1]);
        const rows = await b.db.query('SELECT version FROM tt_schema_migrations');
        expect(rows).toHaveLength(1);
        // Both work.
        await a.users.create({ name: 'm1', passwordMd5Hex: md5('x') });
        expect(await b.users.findByName('m1')).not.toBeNull();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
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
      await expect(store.messages.listMessages(3, 1, 2, { msgIdBegin: 0, count: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
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
  test('sqlite: using the database object inside its own transaction fails fast instead of deadlocking', async () => {
    const b = sqliteBackend();
    const s = await openStore(b.fresh(), { scrypt: FAST_SCRYPT });
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
    const b = sqliteBackend();
    const cfg = b.fresh();
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
