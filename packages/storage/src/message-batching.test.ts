import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from './store';

describe('messages are group-committed (SQLite)', () => {
  it('hundreds of concurrent saves share transactions and keep every conversation’s ids contiguous', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gc-'));
    const sizes: number[] = [];
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { onMessageBatch: (n) => sizes.push(n) });
    try {
      const saves = [];
      for (let n = 0; n < 100; n++) {
        for (let pair = 1; pair <= 5; pair++) {
          saves.push(store.messages.saveMessage({ sessionType: 1, fromUserId: pair, toId: 100 + pair, msgType: 1, data: Buffer.from(`m${n}`), createTime: 1 }));
        }
      }
      const ids = (await Promise.all(saves)).map((r) => r.msgId);
      for (let pair = 0; pair < 5; pair++) expect(ids.filter((_, i) => i % 5 === pair)).toEqual(Array.from({ length: 100 }, (_, n) => n + 1));
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(500);
      const stored = await store.messages.listMessages(1, 1, 101, { msgIdBegin: 0, count: 100 });
      expect(stored.map((m) => m.data.toString())).toEqual(Array.from({ length: 100 }, (_, n) => `m${99 - n}`));
      // Every message of a batch counts towards the recipient's unread, and the summary is the last one.
      const [unread] = await store.sessions.unreadList(101);
      expect(unread).toEqual(expect.objectContaining({ peerId: 1, unreadCnt: 100, latestMsgId: 100 }));
      expect(unread.latestMsgData?.toString()).toBe('m99');

      // Group messages in one batch: one counter per group, every member's unread adds up.
      const group = await Promise.all([1, 2, 3].map((n) => store.messages.saveMessage({ sessionType: 2, fromUserId: n, toId: 900, msgType: 17, data: Buffer.from(`g${n}`), createTime: 1, recipientIds: [1, 2, 3, 4] })));
      expect(group.map((g) => g.msgId)).toEqual([1, 2, 3]);
      const [member4] = (await store.sessions.unreadList(4)).filter((u) => u.peerId === 900);
      expect(member4).toEqual(expect.objectContaining({ unreadCnt: 3, latestMsgId: 3 }));
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('messages are group-committed (MySQL, concurrent transactions)', () => {
  const server = {
    host: process.env.TT_TEST_MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.TT_TEST_MYSQL_PORT ?? 3306),
    user: process.env.TT_TEST_MYSQL_USER ?? 'root',
    password: process.env.TT_TEST_MYSQL_PASSWORD ?? '',
  };

  it('each conversation is numbered in the order its messages were submitted, though batches commit in parallel', async () => {
    const database = `tt_test_order_${Date.now().toString(36)}`;
    const sizes: number[] = [];
    const store = await openStore({ kind: 'mysql', ...server, database, connectionLimit: 8 }, { onMessageBatch: (n) => sizes.push(n) });
    try {
      // Three waves of 1,200 saves over 40 conversations: many batches, several lanes at once.
      const byPair = new Map<number, Array<Promise<{ msgId: number }>>>();
      for (let wave = 0; wave < 3; wave++) {
        for (let n = 0; n < 30; n++) {
          for (let pair = 1; pair <= 40; pair++) {
            const save = store.messages.saveMessage({ sessionType: 1, fromUserId: pair, toId: 1000 + pair, msgType: 1, data: Buffer.from(`${wave}:${n}`), createTime: 1 });
            byPair.set(pair, [...(byPair.get(pair) ?? []), save]);
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      for (const [, saves] of byPair) expect((await Promise.all(saves)).map((s) => s.msgId)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      expect(sizes.length).toBeGreaterThan(4);
      const stored = await store.messages.listMessages(1, 7, 1007, { msgIdBegin: 0, count: 90 });
      expect(stored.map((m) => m.data.toString()).reverse()).toEqual(Array.from({ length: 90 }, (_, i) => `${Math.floor(i / 30)}:${i % 30}`));
    } finally {
      await store.db.execute(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
      await store.close();
    }
  });
});
