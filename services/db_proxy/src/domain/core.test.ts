import { IM, type DbProxyHandlers } from '@tt/proto';
import type { Store } from '@tt/storage';
import { md5, openTestDbProxy, wire, type TestDbProxy } from '../testing';

const { MsgType, SessionType } = IM.BaseDefine;
const { RecallResult } = IM.DbProxy;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('db_proxy conversation core (seqs, client_msg_id, sync, recall, read receipts, names) on SQLite', () => {
  let proxy: TestDbProxy;
  let store: Store;
  let h: DbProxyHandlers;
  let alice: number;
  let bob: number;
  let carol: number;
  let dave: number;

  beforeAll(async () => {
    proxy = await openTestDbProxy('core');
    ({ store, handlers: h } = proxy);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => (await store.users.create({ name, passwordMd5Hex: md5('pw') })).id));
  });

  afterAll(async () => {
    await proxy?.close();
  });

  const text = (from: number, to: number, body: string, createTime = nowSeconds()): IM.Message.IIMMsgData => ({ fromUserId: from, toSessionId: to, msgId: 0, createTime, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(body) });
  const groupText = (from: number, groupId: number, body: string, createTime = nowSeconds()): IM.Message.IIMMsgData => ({ ...text(from, groupId, body, createTime), msgType: MsgType.MSG_TYPE_GROUP_TEXT });
  const save = async (messages: IM.Message.IIMMsgData[], extras: IM.Core.IMessageExtra[] = []) =>
    wire(IM.DbProxy.SaveMessagesRsp, await h.saveMessages(IM.DbProxy.SaveMessagesReq.create({ messages, extras }))).results as Array<Record<string, any>>;
  const sync = async (userId: number, minSeq = 0, maxSeq = 0, limit = 0) => wire(IM.DbProxy.SyncRsp, await h.sync(IM.DbProxy.SyncReq.create({ userId, minSeq, maxSeq, limit })));
  const recall = async (userId: number, sessionType: number, peerId: number, msgId: number, windowSeconds = 120) =>
    wire(IM.DbProxy.RecallRsp, await h.recallMessage(IM.DbProxy.RecallReq.create({ userId, sessionType, peerId, msgId, windowSeconds })));
  const receipt = async (userId: number, sessionType: number, peerId: number, msgIds: number[], upToMsgId?: number) =>
    wire(IM.DbProxy.ReadReceiptRsp, await h.readReceipt(IM.DbProxy.ReadReceiptReq.create({ userId, sessionType, peerId, msgIds, upToMsgId })));
  const maxSeq = async (userId: number) => Number((await h.getMaxSeq(IM.DbProxy.UserRef.create({ userId }))).maxSeq);

  it('a send with an extra is stored with it and the server time; the resend gets the first answer; TeamTalk sends get seqs too', async () => {
    const before = Date.now();
    const [first, teamtalk] = await save([text(alice, bob, 'hello bob'), text(bob, alice, 'hi')], [{ clientMsgId: 'ws-1', kind: IM.Core.ContentKind.CONTENT_TEXT, extra: [{ key: 'mentions', value: 'bob' }] }]);
    const { saved } = first!;
    expect(saved.ack).toEqual({ userId: alice, sessionId: bob, msgId: 1, sessionType: SessionType.SESSION_TYPE_SINGLE });
    expect(saved.recipientIds).toEqual([bob]);
    expect(saved.seqs).toEqual([{ userId: alice, seq: 1 }, { userId: bob, seq: 1 }]);
    // The caller has the content: a fresh save answers with ids, seqs, time and names, not the message.
    expect(saved.stored).toBeUndefined();
    expect(Number(saved.serverTimeMs)).toBeGreaterThanOrEqual(before);
    const [stored] = (await sync(alice, 1, 1)).entries;
    expect(stored.message).toMatchObject({ fromUserId: alice, sessionType: 1, toId: bob, msgId: 1, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, extra: { clientMsgId: 'ws-1', kind: 1, extra: [{ key: 'mentions', value: 'bob' }] } });
    expect(Buffer.from(stored.message.content).toString()).toBe('hello bob');
    expect(Number(stored.message.extra.serverTimeMs)).toBe(Number(saved.serverTimeMs));
    expect(saved.duplicate).toBeUndefined();
    // Bob's TeamTalk client sent no extra: the message still gets both users' next seqs and a server time (its create time).
    expect(teamtalk!.saved.seqs).toEqual([{ userId: bob, seq: 2 }, { userId: alice, seq: 2 }]);
    expect(Number(teamtalk!.saved.serverTimeMs)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

    // Alice's connection dropped before the answer; she sends again (another msg_server, later): same answer, nothing delivered.
    const [again] = await save([text(alice, bob, 'hello bob', nowSeconds() + 5)], [{ clientMsgId: 'ws-1' }]);
    expect(again!.saved).toMatchObject({ ack: { msgId: 1, sessionId: bob }, seqs: [{ userId: alice, seq: 1 }], duplicate: true, stored: { msgId: 1, extra: { serverTimeMs: Number(saved.serverTimeMs) } } });
    expect(again!.saved.recipientIds ?? []).toEqual([]);
    expect(await maxSeq(bob)).toBe(2);
  });

  it('sync returns a user’s stream in pages; GetMaxSeq is its newest seq', async () => {
    await save([text(carol, dave, 'one'), text(carol, dave, 'two'), text(dave, carol, 'three')]);
    expect(await maxSeq(dave)).toBe(3);
    const all = await sync(dave);
    expect(all.serverMaxSeq).toBe(3);
    expect(all.hasMore).toBe(false);
    expect(all.entries.map((e: any) => [e.seq, Buffer.from(e.message.content).toString(), e.message.fromUserId])).toEqual([
      [1, 'one', carol],
      [2, 'two', carol],
      [3, 'three', dave],
    ]);
    const page = await sync(dave, 2, 0, 1);
    expect([page.entries.map((e: any) => e.seq), page.hasMore]).toEqual([[2], true]);
    expect(await sync(dave, 4)).toMatchObject({ serverMaxSeq: 3, hasMore: false });
  });

  it('recall: the sender within the window, not the peer, not too late; everyone’s sync shows it', async () => {
    const [sent, old] = await save([text(alice, carol, 'oops'), text(alice, carol, 'ancient', nowSeconds() - 3600)]);
    const msgId = sent!.saved.ack.msgId;
    expect(await recall(carol, SessionType.SESSION_TYPE_SINGLE, alice, msgId)).toMatchObject({ result: RecallResult.RECALL_NOT_ALLOWED });
    expect(await recall(alice, SessionType.SESSION_TYPE_SINGLE, carol, 999)).toMatchObject({ result: RecallResult.RECALL_NOT_FOUND });
    expect(await recall(alice, SessionType.SESSION_TYPE_SINGLE, carol, old!.saved.ack.msgId)).toMatchObject({ result: RecallResult.RECALL_TOO_LATE });
    const done = await recall(alice, SessionType.SESSION_TYPE_SINGLE, carol, msgId);
    const carolSeq = await maxSeq(carol);
    expect(done.result).toBe(RecallResult.RECALL_OK);
    expect(done.event).toMatchObject({ fromUserId: alice, sessionType: 1, toId: carol, msgId, recalledBy: alice, seqs: [{ userId: alice, seq: await maxSeq(alice) }, { userId: carol, seq: carolSeq }] });
    expect(Math.abs(done.event.recalledAtMs - Date.now())).toBeLessThan(5000);
    // Already recalled: fine, but nobody is told again.
    const twice = await recall(alice, SessionType.SESSION_TYPE_SINGLE, carol, msgId);
    expect([twice.result, twice.event]).toEqual([RecallResult.RECALL_OK, undefined]);
    expect(await maxSeq(carol)).toBe(carolSeq);
    // Carol's sync: the message keeps its place without its content, and the recall is an entry of its own.
    const entries = (await sync(carol)).entries.filter((e: any) => (e.message ?? e.recalled).msgId === msgId && (e.message ?? e.recalled).fromUserId === alice);
    expect(entries).toHaveLength(2);
    expect(entries[0].message).toMatchObject({ recalled: true, recalledBy: alice });
    expect(entries[0].message.content ?? []).toHaveLength(0);
    expect(entries[1]).toMatchObject({ seq: carolSeq, recalled: { msgId, recalledBy: alice, seqs: [{ userId: carol, seq: carolSeq }] } });
  });

  it('a group’s owner recalls any message at any time; members are told', async () => {
    const group = await store.groups.create({ type: 1, name: 'core', creatorId: carol, memberIds: [alice, bob] });
    const [said] = await save([groupText(bob, group.id, 'long ago', nowSeconds() - 86_400)]);
    expect(await recall(alice, SessionType.SESSION_TYPE_GROUP, group.id, said!.saved.ack.msgId)).toMatchObject({ result: RecallResult.RECALL_NOT_ALLOWED });
    expect(await recall(bob, SessionType.SESSION_TYPE_GROUP, group.id, said!.saved.ack.msgId)).toMatchObject({ result: RecallResult.RECALL_TOO_LATE });
    const byOwner = await recall(carol, SessionType.SESSION_TYPE_GROUP, group.id, said!.saved.ack.msgId);
    expect(byOwner.result).toBe(RecallResult.RECALL_OK);
    expect(byOwner.event.seqs.map((s: any) => s.userId)).toEqual([carol, ...[alice, bob].sort((a, b) => a - b)]);
  });

  it('read receipts: the read position moves forward only; senders are the peer, or in a group the senders of the named messages the reader may see', async () => {
    const group = await store.groups.create({ type: 1, name: 'receipts', creatorId: carol, memberIds: [alice, bob] });
    await save([groupText(alice, group.id, 'a1'), groupText(bob, group.id, 'b2'), groupText(carol, group.id, 'c3')]);
    expect(await receipt(carol, SessionType.SESSION_TYPE_GROUP, group.id, [1, 2, 3, 77])).toEqual({ readMsgId: 3, senderIds: [alice, bob].sort((a, b) => a - b), msgIds: [1, 2, 3] });
    // Naming an older message does not move the position back.
    expect(await receipt(carol, SessionType.SESSION_TYPE_GROUP, group.id, [1])).toEqual({ readMsgId: 3, senderIds: [alice], msgIds: [1] });
    // up_to_msg_id alone; never past the newest message.
    expect(await receipt(alice, SessionType.SESSION_TYPE_GROUP, group.id, [], 99)).toMatchObject({ readMsgId: 3 });
    // Dave joins later: what was said before is not his to acknowledge; outsiders are refused.
    await expect(receipt(dave, SessionType.SESSION_TYPE_GROUP, group.id, [1])).rejects.toMatchObject({ code: 7 });
    await store.groups.changeMembers(group.id, 'add', [dave]);
    expect((await receipt(dave, SessionType.SESSION_TYPE_GROUP, group.id, [1, 2])).msgIds ?? []).toEqual([]);
    // Single chat: the receipt goes to the peer.
    const [m] = await save([text(bob, dave, 'ping')]);
    expect(await receipt(dave, SessionType.SESSION_TYPE_SINGLE, bob, [m!.saved.ack.msgId])).toEqual({ readMsgId: m!.saved.ack.msgId, senderIds: [bob], msgIds: [m!.saved.ack.msgId] });
    expect((await store.sessions.unreadList(dave)).filter((s) => s.peerId === bob)).toEqual([]);
  });

  it('resolves account names and user ids, leaving out unknown ones', async () => {
    const rsp = wire(IM.DbProxy.ResolveUsersRsp, await h.resolveUsers(IM.DbProxy.ResolveUsersReq.create({ names: ['bob', 'nobody', 'alice'], userIds: [carol, 424242] })));
    expect(rsp.users).toEqual(
      [
        { userId: alice, name: 'alice' },
        { userId: bob, name: 'bob' },
        { userId: carol, name: 'carol' },
      ].sort((a, b) => a.userId - b.userId),
    );
  });

  it('refuses requests without a user or with a bad session', async () => {
    await expect(h.sync(IM.DbProxy.SyncReq.create({ userId: 0, minSeq: 0, maxSeq: 0, limit: 0 }))).rejects.toMatchObject({ code: 3 });
    await expect(h.recallMessage(IM.DbProxy.RecallReq.create({ userId: alice, sessionType: 9, peerId: bob, msgId: 1, windowSeconds: 1 }))).rejects.toMatchObject({ code: 3 });
    await expect(h.readReceipt(IM.DbProxy.ReadReceiptReq.create({ userId: alice, sessionType: 1, peerId: 0 }))).rejects.toMatchObject({ code: 3 });
  });
  it('chat rooms: join under the limit, members-only messages with no seqs, bounded history, recall tells the current members', async () => {
    const room = await store.rooms.create({ name: 'standup', creatorId: dave, maxMembers: 3 });
    const join = async (userId: number) => wire(IM.DbProxy.JoinRoomRsp, await h.joinRoom(IM.DbProxy.RoomRef.create({ userId, roomId: room.id })));
    expect(await join(alice)).toMatchObject({ result: IM.DbProxy.RoomJoinResult.ROOM_JOINED, room: { roomId: room.id, name: 'standup', memberCount: 1 }, memberIds: [alice] });
    await join(bob);
    await join(dave);
    expect((await join(carol)).result).toBe(IM.DbProxy.RoomJoinResult.ROOM_FULL);
    expect((await join(bob)).result).toBe(IM.DbProxy.RoomJoinResult.ROOM_ALREADY_MEMBER);
    const roomText = (from: number, body: string): IM.Message.IIMMsgData => ({ ...text(from, room.id, body), msgType: 0x21 as IM.BaseDefine.MsgType });
    const bobSeq = await maxSeq(bob);
    const [said, outsider] = await save([roomText(alice, 'morning'), roomText(carol, 'let me in')]);
    expect(said!.saved).toMatchObject({ ack: { userId: alice, sessionId: room.id, msgId: 1, sessionType: 3 }, recipientIds: [alice, bob, dave].sort((a, b) => a - b) });
    expect(said!.saved.seqs ?? []).toEqual([]);
    expect(outsider!.errorCode).toBe(7); // PERMISSION_DENIED
    expect(await maxSeq(bob)).toBe(bobSeq);
    const history = wire(IM.DbProxy.RoomHistoryRsp, await h.roomHistory(IM.DbProxy.RoomHistoryReq.create({ userId: bob, roomId: room.id, beforeMsgId: 0, limit: 10 })));
    expect(history.messages.map((m: any) => [m.msgId, m.sessionType, Buffer.from(m.content).toString()])).toEqual([[1, 3, 'morning']]);
    await expect(h.roomHistory(IM.DbProxy.RoomHistoryReq.create({ userId: carol, roomId: room.id, beforeMsgId: 0, limit: 10 }))).rejects.toMatchObject({ code: 7 });
    // Bob leaves; the creator recalls Alice's message: the members now in the room are told.
    expect(wire(IM.DbProxy.LeaveRoomRsp, await h.leaveRoom(IM.DbProxy.RoomRef.create({ userId: bob, roomId: room.id })))).toMatchObject({ left: true });
    const recalled = await recall(dave, 3, room.id, 1, 0);
    expect(recalled).toMatchObject({ result: RecallResult.RECALL_OK, event: { fromUserId: alice, sessionType: 3, toId: room.id, msgId: 1, recalledBy: dave } });
    expect(recalled.recipientIds).toEqual([alice, dave].sort((a, b) => a - b));
    expect(wire(IM.DbProxy.ListRoomsRsp, await h.listRooms(IM.DbProxy.ListRoomsReq.create({ userId: alice }))).rooms.map((r: any) => r.roomId)).toEqual([room.id]);
  });
});
