import { IM, type DbProxyHandlers } from '@tt/proto';
import { GroupType, type Store } from '@tt/storage';
import { md5, openTestDbProxy, wire, type TestDbProxy } from './testing';

const { MsgType, SessionType } = IM.BaseDefine;
const { MonitorResult } = IM.DbProxy;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('db_proxy message views and session monitors (through the handlers, SQLite)', () => {
  let proxy: TestDbProxy;
  let store: Store;
  let h: DbProxyHandlers;
  let alice: number;
  let bob: number;
  let carol: number;
  let mona: number;
  let groupId: number;

  beforeAll(async () => {
    proxy = await openTestDbProxy('views');
    ({ store, handlers: h } = proxy);
    [alice, bob, carol, mona] = await Promise.all(['alice', 'bob', 'carol', 'mona'].map(async (name) => (await store.users.create({ name, passwordMd5Hex: md5('pw') })).id));
    groupId = (await store.groups.create({ type: GroupType.NORMAL, name: 'team', creatorId: alice, memberIds: [bob] })).id;
  });

  afterAll(async () => {
    await proxy?.close();
  });

  const text = (from: number, to: number, body: string, createTime = nowSeconds()): IM.Message.IIMMsgData => ({ fromUserId: from, toSessionId: to, msgId: 0, createTime, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(body) });
  const save = async (message: IM.Message.IIMMsgData, extra?: IM.Core.IMessageExtra) => {
    const [result] = wire(IM.DbProxy.SaveMessagesRsp, await h.saveMessages(IM.DbProxy.SaveMessagesReq.create({ messages: [message], extras: extra ? [extra] : [] }))).results as Array<Record<string, any>>;
    expect(result.saved).toBeDefined();
    return result.saved.ack.msgId as number;
  };
  const single = (peerId: number) => ({ sessionType: SessionType.SESSION_TYPE_SINGLE, peerId });
  const history = async (userId: number, conversation: IM.Core.IConversationRef, beforeMsgId: number, limit: number): Promise<Array<Record<string, any>>> =>
    wire(IM.DbProxy.HistoryRsp, await h.history(IM.DbProxy.HistoryReq.create({ userId, conversation, beforeMsgId, limit }))).messages ?? [];
  const contents = (messages: Array<Record<string, any>>) => messages.map((m) => Buffer.from(m.content ?? []).toString());
  const prioritySync = async (userId: number, after = 0, limit = 50) => wire(IM.DbProxy.HighPrioritySyncRsp, await h.highPrioritySync(IM.DbProxy.HighPrioritySyncReq.create({ userId, after, limit })));
  const monitor = async (userId: number, session: IM.DbProxy.IMonitoredSession, start: boolean) => wire(IM.DbProxy.MonitorRsp, await h.monitor(IM.DbProxy.MonitorReq.create({ userId, session, start })));

  it('a high-priority message appears in both participants’ streams, a normal one does not', async () => {
    await save(text(alice, bob, 'normal'), { clientMsgId: 'n-1' });
    const urgent = await save(text(alice, bob, 'urgent'), { clientMsgId: 'u-1', highPriority: true });
    for (const user of [alice, bob]) {
      const page = await prioritySync(user);
      expect(page.entries).toHaveLength(1);
      expect(page.entries[0].message).toMatchObject({ msgId: urgent, fromUserId: alice, toId: bob, fromName: 'alice', toName: 'bob', extra: { highPriority: true } });
      expect(page.lastCursor).toBe(page.entries[0].cursor);
      expect((await prioritySync(user, page.lastCursor)).entries ?? []).toEqual([]);
    }
    expect(await prioritySync(carol)).toEqual({ lastCursor: 0 });
  });

  it('pages history oldest first within each page, flags recalls, refuses outsiders of a group', async () => {
    for (let i = 1; i <= 5; i++) await save(text(bob, alice, `b${i}`));
    // alice–bob now holds: normal(1), urgent(2), b1..b5 (3..7).
    expect(contents(await history(alice, single(bob), 0, 3))).toEqual(['b3', 'b4', 'b5']);
    expect(contents(await history(alice, single(bob), 5, 3))).toEqual(['urgent', 'b1', 'b2']);
    await h.recallMessage(IM.DbProxy.RecallReq.create({ userId: bob, sessionType: SessionType.SESSION_TYPE_SINGLE, peerId: alice, msgId: 7, windowSeconds: 120 }));
    const [newest] = await history(bob, single(alice), 0, 1);
    expect(newest).toMatchObject({ msgId: 7, recalled: true, recalledBy: bob, fromName: 'bob', toName: 'alice' });
    expect(newest.content ?? []).toHaveLength(0);

    await save({ ...text(alice, groupId, 'to the team'), msgType: MsgType.MSG_TYPE_GROUP_TEXT });
    expect(contents(await history(bob, { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId }, 0, 10))).toEqual(['to the team']);
    await expect(h.history(IM.DbProxy.HistoryReq.create({ userId: carol, conversation: { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId }, beforeMsgId: 0, limit: 10 }))).rejects.toMatchObject({ code: 7 });
    await expect(h.history(IM.DbProxy.HistoryReq.create({ userId: carol, conversation: { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: 999_999 }, beforeMsgId: 0, limit: 10 }))).rejects.toMatchObject({ code: 5 });
    await expect(h.history(IM.DbProxy.HistoryReq.create({ userId: carol, conversation: single(999_999), beforeMsgId: 0, limit: 10 }))).rejects.toMatchObject({ code: 5 });
    await expect(h.history(IM.DbProxy.HistoryReq.create({ userId: carol, conversation: { sessionType: 9, peerId: 1 }, beforeMsgId: 0, limit: 10 }))).rejects.toMatchObject({ code: 3 });
  });

  it('hides messages by msg_id or by the sender’s client_msg_id, for the hider only', async () => {
    const hide = async (userId: number, msgIds: number[], clientMsgId?: string) =>
      wire(IM.DbProxy.HideMessagesRsp, await h.hideMessages(IM.DbProxy.HideMessagesReq.create({ userId, conversation: single(userId === alice ? bob : alice), msgIds, clientMsgId }))).msgIds ?? [];
    expect(await hide(alice, [3, 404])).toEqual([3]);
    expect(await hide(alice, [], 'n-1')).toEqual([1]);
    expect(await hide(bob, [], 'n-1')).toEqual([]); // bob did not send it
    // A group's messages are hidden by its members only; carol is not one.
    const team = { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId };
    await expect(h.hideMessages(IM.DbProxy.HideMessagesReq.create({ userId: carol, conversation: team, msgIds: [1] }))).rejects.toMatchObject({ code: 7 });
    expect(wire(IM.DbProxy.HideMessagesRsp, await h.hideMessages(IM.DbProxy.HideMessagesReq.create({ userId: bob, conversation: team, msgIds: [1] }))).msgIds).toEqual([1]);
    expect((await history(alice, single(bob), 0, 10)).map((m) => m.msgId)).toEqual([2, 4, 5, 6, 7]);
    expect((await history(bob, single(alice), 0, 7)).map((m) => m.msgId)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const found = wire(IM.DbProxy.FindClientMsgRsp, await h.findClientMsg(IM.DbProxy.FindClientMsgReq.create({ userId: alice, clientMsgId: 'u-1' })));
    expect(found).toEqual({ found: true, conversation: single(bob), msgId: 2 });
    expect(wire(IM.DbProxy.FindClientMsgRsp, await h.findClientMsg(IM.DbProxy.FindClientMsgReq.create({ userId: bob, clientMsgId: 'u-1' })))).toEqual({ found: false });
  });

  it('lists hot sessions since a time with read state, newest messages and session attributes', async () => {
    await store.db.execute('INSERT INTO im_session_attr (user_id, session_type, peer_id, name, value, updated) VALUES (?, ?, ?, ?, ?, ?)', [alice, SessionType.SESSION_TYPE_SINGLE, bob, 'top', '1', nowSeconds()]);
    const rsp = wire(IM.DbProxy.HotSessionsRsp, await h.hotSessions(IM.DbProxy.HotSessionsReq.create({ userId: alice, since: 0, limit: 10, lastMessages: 2 })));
    expect(rsp.nowMs).toBeGreaterThan(Date.now() - 60_000);
    const byPeer = new Map((rsp.sessions as Array<Record<string, any>>).map((s) => [`${s.conversation.sessionType}:${s.conversation.peerId}`, s]));
    expect(byPeer.size).toBe(2);
    const withBob = byPeer.get(`1:${bob}`)!;
    expect(withBob).toMatchObject({ readMsgId: 2, unread: 5, attributes: [{ key: 'top', value: '1' }] });
    expect(withBob.lastMessages.map((m: Record<string, any>) => m.msgId)).toEqual([6, 7]);
    expect(byPeer.get(`2:${groupId}`)!.lastMessages.map((m: Record<string, any>) => Buffer.from(m.content).toString())).toEqual(['to the team']);
    const future = wire(IM.DbProxy.HotSessionsRsp, await h.hotSessions(IM.DbProxy.HotSessionsReq.create({ userId: alice, since: nowSeconds() + 3600, limit: 10, lastMessages: 2 })));
    expect(future.sessions ?? []).toEqual([]);
  });

  it('monitors: permission first, sessions must exist, start/stop recorded, revoke stops them', async () => {
    const chat = { sessionType: SessionType.SESSION_TYPE_SINGLE, idA: Math.min(alice, bob), idB: Math.max(alice, bob) };
    const team = { sessionType: SessionType.SESSION_TYPE_GROUP, idA: groupId, idB: 0 };
    expect(await monitor(mona, chat, true)).toEqual({ result: MonitorResult.MONITOR_NO_PERMISSION, changed: false });
    await h.monitorGrant(IM.DbProxy.MonitorGrantReq.create({ userId: mona, granted: true, by: 'ops' }));
    expect(await monitor(mona, chat, true)).toEqual({ result: MonitorResult.MONITOR_OK, changed: true });
    expect(await monitor(mona, chat, true)).toEqual({ result: MonitorResult.MONITOR_OK, changed: false });
    expect(await monitor(mona, team, true)).toEqual({ result: MonitorResult.MONITOR_OK, changed: true });
    expect(await monitor(mona, { sessionType: SessionType.SESSION_TYPE_GROUP, idA: 999_999, idB: 0 }, true)).toEqual({ result: MonitorResult.MONITOR_NOT_FOUND, changed: false });
    expect(await monitor(mona, { sessionType: SessionType.SESSION_TYPE_SINGLE, idA: alice, idB: 999_999 }, true)).toEqual({ result: MonitorResult.MONITOR_NOT_FOUND, changed: false });
    await expect(h.monitor(IM.DbProxy.MonitorReq.create({ userId: mona, session: { ...chat, idA: chat.idB, idB: chat.idA }, start: true }))).rejects.toMatchObject({ code: 3 });
    expect(await monitor(mona, team, false)).toEqual({ result: MonitorResult.MONITOR_OK, changed: true });
    expect(await monitor(mona, team, false)).toEqual({ result: MonitorResult.MONITOR_OK, changed: false });

    const mine = wire(IM.DbProxy.MonitorListRsp, await h.monitorList(IM.DbProxy.UserRef.create({ userId: mona })));
    expect(mine.entries).toEqual([{ userId: mona, session: chat, started: expect.any(Number) }]);
    const all = wire(IM.DbProxy.MonitorListRsp, await h.monitorList(IM.DbProxy.UserRef.create({ userId: 0 })));
    expect(all.grantedUserIds).toEqual([mona]);

    await h.monitorGrant(IM.DbProxy.MonitorGrantReq.create({ userId: mona, granted: false, by: 'ops2' }));
    expect(wire(IM.DbProxy.MonitorListRsp, await h.monitorList(IM.DbProxy.UserRef.create({ userId: 0 })))).toEqual({});
    const log = wire(IM.DbProxy.MonitorLogRsp, await h.monitorLog(IM.DbProxy.MonitorLogReq.create({ userId: mona, limit: 10 })));
    expect(log.entries.map((e: Record<string, any>) => [e.action, e.by, e.session?.sessionType ?? 0])).toEqual([
      ['revoke', 'ops2', 0],
      ['stop', '', 1],
      ['stop', '', 2],
      ['start', '', 2],
      ['start', '', 1],
      ['grant', 'ops', 0],
    ]);
    await expect(h.monitorGrant(IM.DbProxy.MonitorGrantReq.create({ userId: 999_999, granted: true, by: 'ops' }))).rejects.toMatchObject({ code: 5 });
  });
});
