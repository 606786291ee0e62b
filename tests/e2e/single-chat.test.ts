// Two TeamTalk clients log in and chat, online and offline, against the real
// product in both modes: standalone (one process, SQLite) and cluster (each
// role its own process on MariaDB, Redis and NATS, two msg_servers).
import * as net from 'node:net';
import { IM } from '@tt/proto';
import { TeamTalkClient, encryptContent, decryptContent } from '@tt/client';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, waitForCount, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { MessageCmdID, LoginCmdID, BuddyListCmdID, SessionType, MsgType, ClientType } = IM.BaseDefine;

describe.each<Mode>(MODES)('single chat (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1 });
    f = new Fixture(d, `user_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    f?.closeAll();
    await d?.stop();
  });

  // Every PDU the server sent must decode with all required fields present.
  afterEach(() => expect(f.decodeErrors()).toEqual([]));

  const connect = (which = 0) => f.connect(which);
  const newUser = () => f.newUser();
  const loggedIn = (user: TestUser, which = 0, clientType: number = ClientType.CLIENT_TYPE_WINDOWS) => f.login(user, which, clientType);

  it('login_server hands out a msg_server that accepts the login', async () => {
    const alice = await newUser();
    const c = await TeamTalkClient.connectVia(d.loginUrl);
    f.clients.push(c);
    const res = await c.login({ userName: alice.name, password: 'secret' });
    expect(res.resultCode).toBe(0);
    expect(res.userInfo).toMatchObject({ userId: alice.id, userNickName: alice.name });
    expect(Math.abs(res.serverTime - Date.now() / 1000)).toBeLessThan(5);
  });

  it('a wrong password is refused with result 6 and the connection is closed', async () => {
    const bob = await newUser();
    const c = await connect();
    const res = await c.login({ userName: bob.name, password: 'wrong' });
    expect(res.resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED);
    await c.waitForClose(5000);
    const unknown = await connect();
    expect((await unknown.login({ userName: 'nobody-at-all', password: 'x' })).resultCode).toBe(6);
  });

  it('requests before login are ignored, heartbeats are answered', async () => {
    const c = await connect();
    await expect(c.request(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: 1 }, 700)).rejects.toThrow(/no response/);
    await c.request(IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
    const u = await newUser();
    expect((await c.login({ userName: u.name, password: 'secret' })).resultCode).toBe(0);
  });

  it('A sends to B online (on another msg_server in cluster mode): ack with msg_id, B receives it intact', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    const cb = await loggedIn(b, 1);
    const arrival = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA);
    const ack = await ca.sendText(b.id, 'hello bob');
    expect(ack).toMatchObject({ userId: a.id, sessionId: b.id, msgId: 1, sessionType: SessionType.SESSION_TYPE_SINGLE });
    const got = await arrival;
    expect(got).toMatchObject({ fromUserId: a.id, toSessionId: b.id, msgId: 1, msgType: MsgType.MSG_TYPE_SINGLE_TEXT });
    expect(decryptContent(got.msgData)).toBe('hello bob');
    expect(Math.abs(got.createTime - Date.now() / 1000)).toBeLessThan(5);
  });

  it("msg_ids are consecutive per conversation in both directions, and the sender's other device gets a copy", async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    const caPhone = await loggedIn(a, 1, ClientType.CLIENT_TYPE_ANDROID);
    const cb = await loggedIn(b, 1);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ca.sendText(b.id, `a${i}`)).msgId);
    for (let i = 0; i < 2; i++) ids.push((await cb.sendText(a.id, `b${i}`)).msgId);
    ids.push((await ca.sendText(b.id, 'a3')).msgId);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
    await waitForCount(caPhone, MessageCmdID.CID_MSG_DATA, 6);
    const phoneIds = caPhone.received.filter((p) => p.commandId === MessageCmdID.CID_MSG_DATA).map((p) => (p.message as IM.Message.IMMsgData).msgId);
    expect(phoneIds).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('the first messages of a new pair, sent at the same moment from both sides, get distinct consecutive ids', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    const cb = await loggedIn(b, 1);
    const acks = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => ca.sendText(b.id, `x${i}`)),
      ...Array.from({ length: 8 }, (_, i) => cb.sendText(a.id, `y${i}`)),
    ]);
    expect(acks.map((x) => x.msgId).sort((p, q) => p - q)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a burst sent without waiting for acks is stored, acknowledged and delivered in the order it was sent', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    const cb = await loggedIn(b, 1);
    // 20: the default per-user rate limit's burst.
    const texts = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
    const acks = await Promise.all(texts.map((t) => ca.sendText(b.id, t)));
    expect(acks.map((x) => x.msgId)).toEqual(texts.map((_, i) => i + 1));
    await waitForCount(cb, MessageCmdID.CID_MSG_DATA, texts.length);
    const got = cb.received.filter((p) => p.commandId === MessageCmdID.CID_MSG_DATA).map((p) => p.message as IM.Message.IMMsgData);
    expect(got.map((m) => m.msgId)).toEqual(texts.map((_, i) => i + 1));
    expect(got.map((m) => decryptContent(m.msgData))).toEqual(texts);
  });

  it('offline messages: B logs in later, sees unread counts, pulls history, and a read ack clears unread on every device', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    for (const text of ['one', 'two', 'three']) await ca.sendText(b.id, text);

    const cb = await loggedIn(b, 1);
    const cbPhone = await loggedIn(b, 0, ClientType.CLIENT_TYPE_IOS);
    const unread = await cb.unreadCounts();
    expect(unread.totalCnt).toBe(3);
    expect(unread.unreadinfoList).toHaveLength(1);
    expect(unread.unreadinfoList[0]).toMatchObject({ sessionId: a.id, sessionType: SessionType.SESSION_TYPE_SINGLE, unreadCnt: 3, latestMsgId: 3, latestMsgFromUserId: a.id });
    expect(decryptContent(unread.unreadinfoList[0].latestMsgData)).toBe('three');

    const page = await cb.messageList(a.id, 0, 10);
    expect(page.msgList.map((m) => m.msgId)).toEqual([3, 2, 1]);
    expect(page.msgList.map((m) => decryptContent(m.msgData))).toEqual(['three', 'two', 'one']);
    expect(page.msgList.every((m) => m.fromSessionId === a.id)).toBe(true);
    const older = await cb.messageList(a.id, 2, 1);
    expect(older.msgList.map((m) => m.msgId)).toEqual([2]);

    const latest = await cb.request<IM.Message.IMGetLatestMsgIdRsp>(MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_REQ, IM.Message.IMGetLatestMsgIdReq, { userId: b.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: a.id });
    expect(latest.latestMsgId).toBe(3);
    const byId = await cb.request<IM.Message.IMGetMsgByIdRsp>(MessageCmdID.CID_MSG_GET_BY_MSG_ID_REQ, IM.Message.IMGetMsgByIdReq, { userId: b.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: a.id, msgIdList: [1, 3, 99] });
    expect(byId.msgList.map((m) => m.msgId).sort()).toEqual([1, 3]);

    const notified = cbPhone.waitFor<IM.Message.IMMsgDataReadNotify>(MessageCmdID.CID_MSG_READ_NOTIFY);
    cb.readAck(a.id, 3);
    expect(await notified).toMatchObject({ userId: b.id, sessionId: a.id, msgId: 3, sessionType: SessionType.SESSION_TYPE_SINGLE });
    expect((await cb.unreadCounts()).totalCnt).toBe(0);
  });

  it('recent sessions list the conversation with its latest message; server time is answered', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    await ca.sendText(b.id, 'latest words');
    const recent = await ca.request<IM.Buddy.IMRecentContactSessionRsp>(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId: a.id, latestUpdateTime: 0 });
    expect(recent.contactSessionList).toHaveLength(1);
    expect(recent.contactSessionList[0]).toMatchObject({ sessionId: b.id, sessionType: SessionType.SESSION_TYPE_SINGLE, latestMsgId: 1, latestMsgFromUserId: a.id });
    expect(decryptContent(recent.contactSessionList[0].latestMsgData)).toBe('latest words');
    const later = await ca.request<IM.Buddy.IMRecentContactSessionRsp>(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId: a.id, latestUpdateTime: recent.contactSessionList[0].updatedTime + 1 });
    expect(later.contactSessionList).toHaveLength(0);
    const time = await ca.request<IM.Message.IMClientTimeRsp>(MessageCmdID.CID_MSG_TIME_REQUEST, IM.Message.IMClientTimeReq, {});
    expect(Math.abs(time.serverTime - Date.now() / 1000)).toBeLessThan(5);
  });

  it('messages to oneself, empty ones and ones over the rate limit get no ack', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    await expect(ca.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: a.id, toSessionId: a.id, msgId: 0, createTime: 0, msgType: 1, msgData: encryptContent('me') }, 700)).rejects.toThrow(/no response/);
    await expect(ca.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: a.id, toSessionId: b.id, msgId: 0, createTime: 0, msgType: 1, msgData: Buffer.alloc(0) }, 700)).rejects.toThrow(/no response/);
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => ca.sendText(b.id, `burst ${i}`)));
    const acked = results.filter((r) => r.status === 'fulfilled').length;
    expect(acked).toBeGreaterThanOrEqual(20);
    expect(acked).toBeLessThan(30);
    // Stored ids stay consecutive: the dropped ones never took an id.
    expect((await ca.messageList(b.id, 0, 100)).msgList.map((m) => m.msgId)).toEqual(Array.from({ length: acked }, (_, i) => acked - i));
  });

  it('a broken frame closes only its own connection', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const ca = await loggedIn(a, 0);
    const cb = await loggedIn(b, 0);
    const raw = net.connect(d.msgServers[0].port, d.msgServers[0].host);
    await new Promise((r) => raw.once('connect', r));
    const closed = new Promise((r) => raw.once('close', r));
    raw.write(Buffer.from([0, 0, 0, 5, 0, 1, 0, 0, 0, 3, 3, 1, 0, 0, 0, 0]));
    await closed;
    const tooBig = net.connect(d.msgServers[0].port, d.msgServers[0].host);
    await new Promise((r) => tooBig.once('connect', r));
    const closed2 = new Promise((r) => tooBig.once('close', r));
    tooBig.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await closed2;
    const garbage = await connect(0);
    garbage.writeRaw(Buffer.concat([Buffer.from([0, 0, 0, 20, 0, 1, 0, 0, 0, 1, 1, 3, 0, 9, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    // An unparsable body is dropped, the connection survives and still works.
    await garbage.request(IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
    const arrival = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA);
    expect((await ca.sendText(b.id, 'still here')).msgId).toBe(1);
    expect(decryptContent((await arrival).msgData)).toBe('still here');
  });

  it('logout is answered, then the connection is closed', async () => {
    const a = await newUser();
    const ca = await loggedIn(a, 0);
    const rsp = await ca.request<IM.Login.IMLogoutRsp>(LoginCmdID.CID_LOGIN_REQ_LOGINOUT, IM.Login.IMLogoutReq, {});
    expect(rsp.resultCode).toBe(0);
    await ca.waitForClose(5000);
  });
});
