import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { MemoryCache } from '@tt/cache';
import { openStore, type Store } from '@tt/storage';
import { RpcError } from '@tt/rpc';
import { messageList, saveSingleMessage, unreadCounts, recentSessions, MAX_PAGE } from './messages';
import { KnownUsers, validateUser } from './users';
import { createHash } from 'node:crypto';

const { MsgType, SessionType } = IM.BaseDefine;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('db_proxy domain on a real (SQLite) store', () => {
  let dir: string;
  let store: Store;
  let alice: number;
  let bob: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-dbproxy-'));
    store = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { scrypt: { N: 1024 } });
    alice = (await store.users.create({ name: 'alice', passwordMd5Hex: md5('pw'), nick: 'Alice' })).id;
    bob = (await store.users.create({ name: 'bob', passwordMd5Hex: md5('pw') })).id;
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const msg = (from: number, to: number, text = 'hi') => ({ fromUserId: from, toSessionId: to, msgId: 0, createTime: 1_700_000_000, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(text) });

  it('validates logins and caches the slow check until the password changes', async () => {
    const cache = new MemoryCache();
    expect((await validateUser(store, cache, 'alice', md5('pw'))).userInfo).toMatchObject({ userId: alice, userNickName: 'Alice' });
    expect(await cache.get('nothing')).toBeNull();
    expect((await validateUser(store, cache, 'alice', md5('wrong'))).resultCode).not.toBe(0);
    expect((await validateUser(store, cache, 'nobody', md5('pw'))).resultCode).not.toBe(0);
    expect((await validateUser(store, cache, 'alice', 'not-an-md5')).resultCode).not.toBe(0);
    await store.users.setPassword('alice', md5('new'));
    expect((await validateUser(store, cache, 'alice', md5('pw'))).resultCode).not.toBe(0);
    expect((await validateUser(store, cache, 'alice', md5('new'))).resultCode).toBe(0);
  });

  it('remembers a successful check for PASSWORD_CHECK_CACHE_TTL_S, or not at all with 0', async () => {
    const sets: number[] = [];
    const recording = (inner: MemoryCache) => Object.assign(Object.create(inner) as MemoryCache, { set: (k: string, v: string, ttl?: number) => (sets.push(ttl ?? -1), inner.set(k, v, ttl)) });
    await validateUser(store, recording(new MemoryCache()), 'bob', md5('pw'), { checkCacheTtlSeconds: 3600 });
    expect(sets).toEqual([3600]);
    sets.length = 0;
    expect((await validateUser(store, recording(new MemoryCache()), 'bob', md5('pw'), { checkCacheTtlSeconds: 0 })).resultCode).toBe(0);
    expect(sets).toEqual([]);
  });

  it('stores single messages with consecutive ids and refuses unknown recipients', async () => {
    const users = new KnownUsers(store);
    expect((await saveSingleMessage(store, users, msg(alice, bob))).msgId).toBe(1);
    expect((await saveSingleMessage(store, users, msg(bob, alice))).msgId).toBe(2);
    await expect(saveSingleMessage(store, users, msg(alice, 9999))).rejects.toBeInstanceOf(RpcError);
    await expect(saveSingleMessage(store, users, { ...msg(alice, bob), msgType: MsgType.MSG_TYPE_GROUP_TEXT })).rejects.toThrow(/single-chat/);
    await expect(saveSingleMessage(store, users, msg(alice, alice))).rejects.toThrow(/different/);
  });

  it('reports unread per session with a valid latest msg_type, and caps history pages', async () => {
    const unread = await unreadCounts(store, bob);
    expect(unread.totalCnt).toBe(1);
    expect(unread.unreadinfoList![0]).toMatchObject({ sessionId: alice, sessionType: SessionType.SESSION_TYPE_SINGLE, unreadCnt: 1, latestMsgId: 2, latestMsgFromUserId: bob });
    const page = await messageList(store, { userId: alice, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: bob, msgIdBegin: 0, msgCnt: 1_000_000 });
    expect(page.msgList!.map((m) => m.msgId)).toEqual([2, 1]);
    expect(MAX_PAGE).toBeLessThanOrEqual(100);
    const recent = await recentSessions(store, { userId: bob, latestUpdateTime: 0 });
    expect(recent.contactSessionList![0]).toMatchObject({ sessionId: alice, latestMsgType: MsgType.MSG_TYPE_SINGLE_TEXT });
  });
});
