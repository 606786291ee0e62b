// The OMTP front (seed 004, docs/fronts/omtp.md) end to end, in both modes:
// small stories a user would recognise, one or more per packet type. In
// cluster mode OMTP clients sit on the second msg_server and their
// TeamTalk / WebSocket / second-OMTP peers on the first, so every story
// crosses msg_servers too.
import * as omtp from '@tt/omtp';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, OmtpClient, WsImClient, decryptContent, encryptContent, fetchToken, ok, singleConversationId, type OmtpPacket, type OmtpRequestOptions } from '@tt/client';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, arrivesWithin, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { PackType: T, Flags, DeviceType, Compress } = omtp;
const { MessageCmdID, MsgType, GroupModifyType } = IM.BaseDefine;
const { GroupCmdID } = IM.BaseDefine;
const { CommandType } = IM.Ws;

/** The messages (MsgReq) inside a list of OTIMPacks (history, hot sessions, streams). */
const messagesOf = (packs: omtp.OTIMPack[]) => packs.map((p) => omtp.decodeStruct(omtp.MsgReq, p.payload));

/** Resolves false when nothing matching arrives within `ms` (to prove something is NOT sent). */
async function omtpArrivesWithin(c: OmtpClient, predicate: (p: OmtpPacket) => boolean, ms: number): Promise<boolean> {
  try {
    await c.waitFor(predicate, ms);
    return true;
  } catch {
    return false;
  }
}

const isType = (type: number) => (p: OmtpPacket) => p.header.type === type;

/** Waits for the wall clock to pass into the next second (second-resolution "changed since" cursors). */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));

describe.each<Mode>(MODES)('OMTP front (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const omtpClients: OmtpClient[] = [];
  const wsClients: WsImClient[] = [];

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, `om_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    for (const c of omtpClients) c.destroy();
    for (const c of wsClients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => {
    expect(f.decodeErrors()).toEqual([]);
    expect(omtpClients.flatMap((c) => c.decodeErrors)).toEqual([]);
    expect(wsClients.flatMap((c) => c.decodeErrors)).toEqual([]);
  });

  /** An OMTP connection to msg_server `which` (default: the second one in cluster mode). */
  const connect = async (which = 1): Promise<OmtpClient> => {
    const ms = d.msgServers[which % d.msgServers.length];
    const c = await OmtpClient.connect(ms.host, ms.omtpPort!);
    omtpClients.push(c);
    return c;
  };

  const login = async (user: TestUser, which = 1, deviceType: number = DeviceType.DEVICE_LINUX, deviceId?: string): Promise<OmtpClient> => {
    const c = await connect(which);
    const rsp = await c.login(user.name, PASSWORD, deviceType, deviceId ? { deviceId } : {});
    if (rsp.code !== 0) throw new Error(`OMTP login of ${user.name} failed: ${rsp.code} ${rsp.extraData}`);
    return c;
  };

  const wsLogin = async (user: TestUser, which = 0): Promise<WsImClient> => {
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const c = await WsImClient.connect(d.msgServers[which % d.msgServers.length].wsUrl!);
    wsClients.push(c);
    ok(await c.auth(user.name, token, 'Web'), 'auth');
    return c;
  };

  const newGroup = async (name: string, owner: TestUser, members: TestUser[]): Promise<number> => {
    const out = await d.ttctl('group', 'create', `${name}_${mode}`, '--owner', owner.name, '--members', members.map((m) => m.name).join(','));
    return Number(/id (\d+)/.exec(out)![1]);
  };

  /** A request with its answer's body (decoded by the type's answer struct). */
  const ask = async <A>(c: OmtpClient, type: number, struct: omtp.StructSchema<any> | undefined, value?: object, options: OmtpRequestOptions<A> = {}): Promise<A> =>
    (await c.request<A>(type, struct, value as never, options)).body;

  const hotSessions = (c: OmtpClient, timestampUs = 0) => ask<omtp.HotSessionResp>(c, T.PT_HOTSESSION_SYNC, omtp.HotSessionReq, { timestamp: timestampUs });
  const history = (c: OmtpClient, sessionId: string, seqId = 0, count = 50) => ask<omtp.HistoryMsgPullResp>(c, T.PT_HISTORY_MSG_PULL, omtp.HistoryMsgPullReq, { sessionId, seqId, count });
  const control = (c: OmtpClient, command: number, sessionId: string, seqId: number, packId = '') => ask<omtp.CommonResp>(c, T.PT_MSG_CTRL, omtp.MsgControl, { command, sessionId, packId, seqId });
  const groupSync = (c: OmtpClient, timestamp = 0) => ask<omtp.GroupChatSyncResp>(c, T.PT_GROUPCHAT_SYNC, omtp.GroupChatSyncReq, { timestamp });
  const friendSync = (c: OmtpClient, timestamp = 0) => ask<omtp.FriendSyncResp>(c, T.PT_FRIEND_SYNC, omtp.FriendSyncReq, { timestamp });
  const ttGroupInfo = async (c: Awaited<ReturnType<Fixture['login']>>, groupId: number) =>
    (await c.request<IM.Group.IMGroupInfoListRsp>(GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: c.userId, groupVersionList: [{ groupId, version: 0 }] })).groupInfoList[0];

  // ---------------------------------------------------------------- login

  it('logs in with a password or a token (also via login_server), answers PING, LOGOUT answers then closes; a wrong password is 401 and closed', async () => {
    const user = await f.newUser();
    const c = await connect();
    const before = Date.now();
    const rsp = await c.login(user.name, PASSWORD);
    expect(rsp).toMatchObject({ code: 0, clientId: user.name });
    const extra = JSON.parse(rsp.extraData) as { userId: number; nick: string; serverTime: number };
    expect(extra.userId).toBe(user.id);
    expect(typeof extra.nick).toBe('string');
    expect(Math.abs(extra.serverTime - before)).toBeLessThan(5000);

    const pong = await c.ping();
    expect(pong.header).toMatchObject({ type: T.PT_PING, flags: Flags.ACK });
    expect(pong.payload).toHaveLength(0);

    const bye = await c.logout();
    expect(bye.header).toMatchObject({ type: T.PT_LOGOUT, flags: Flags.ACK });
    await c.waitForClose();

    // A token from login_server, on a connection login_server pointed at.
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const via = await OmtpClient.connectVia(d.loginUrl);
    omtpClients.push(via);
    expect(await via.login(user.name, token, DeviceType.DEVICE_ANDROID)).toMatchObject({ code: 0, clientId: user.name });
    expect((await via.ping()).header.flags).toBe(Flags.ACK);

    const wrong = await connect(0);
    expect((await wrong.login(user.name, 'not the password')).code).toBe(401);
    await wrong.waitForClose();
    const nobody = await connect(0);
    expect((await nobody.login(`${user.name}_nobody`, PASSWORD)).code).toBe(401);
    await nobody.waitForClose();
  });

  it('any packet but PING/LOGIN before login is answered 401', async () => {
    const c = await connect();
    expect((await c.ping()).header.flags).toBe(Flags.ACK);
    expect((await hotSessions(c)).code).toBe(401);
    const ack = await c.request<omtp.MsgAck>(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, { sessionId: '', from: 'x', to: 'y', contentType: 1, content: 'hi' });
    expect(ack.body.code).toBe(401);
    expect((await groupSync(c)).errorCode.code).toBe(401);
  });

  it('a second Windows login of a user kicks the first (KICKOUT with its device, then closed); a phone and a PC stay together', async () => {
    const user = await f.newUser();
    const first = await login(user, 1, DeviceType.DEVICE_WINDOWS, 'pc-one');
    const phone = await login(user, 0, DeviceType.DEVICE_IOS, 'phone-one');
    const kicked = first.waitForPush(T.PT_KICKOUT, omtp.KickOutReq);
    const second = await login(user, 0, DeviceType.DEVICE_WINDOWS, 'pc-two');
    expect((await kicked).body).toEqual({ deviceType: DeviceType.DEVICE_WINDOWS, deviceId: 'pc-one' });
    await first.waitForClose();
    // The phone and the new PC both work and both get the user's messages.
    expect(phone.isClosed).toBe(false);
    expect((await phone.ping()).header.flags).toBe(Flags.ACK);
    const peer = await login(await f.newUser(), 1);
    await peer.sendSingle(user.name, 'to both devices');
    for (const c of [phone, second]) expect((await c.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq)).body).toMatchObject({ from: peer.userName, to: user.name, content: 'to both devices' });
    expect(await omtpArrivesWithin(phone, isType(T.PT_KICKOUT), 300)).toBe(false);
  });

  // ---------------------------------------------------------------- messages

  it('single chat both ways with TeamTalk and WebSocket clients; MsgAck seqId counts 1, 2, 3 per session', async () => {
    const [o, tt, web] = await f.newUsers(3);
    const co = await login(o, 1);
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web, 0);

    for (const n of [1, 2, 3]) {
      const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === o.id && m.msgId === n);
      const before = Date.now();
      const ack = await co.sendSingle(tt.name, `to TeamTalk ${n} 你好`);
      expect(ack).toMatchObject({ code: 0, seqId: n, sessionId: singleConversationId(o.name, tt.name) });
      expect(Math.abs(ack.timestamp - before)).toBeLessThan(5000);
      const m = await atTT;
      expect(m.msgType).toBe(MsgType.MSG_TYPE_SINGLE_TEXT);
      expect(decryptContent(m.msgData)).toBe(`to TeamTalk ${n} 你好`);
    }
    // Another session starts at 1.
    const atWeb = cWeb.waitForPush(CommandType.CMD_PUSH_MSG);
    expect(await co.sendSingle(web.name, 'to the web')).toMatchObject({ code: 0, seqId: 1, sessionId: singleConversationId(o.name, web.name) });
    const pushed = await atWeb;
    expect(pushed).toMatchObject({ senderId: o.name, receiverId: web.name });
    expect(Buffer.from(pushed.content).toString()).toBe('to the web');

    // The other way: TeamTalk and WebSocket → OMTP.
    const ttAck = await cTT.sendText(o.id, 'from TeamTalk');
    const fromTT = await co.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, (m) => m.from === tt.name);
    expect(fromTT.body).toMatchObject({ sessionId: singleConversationId(o.name, tt.name), seqId: ttAck.msgId, from: tt.name, to: o.name, contentType: 1, content: 'from TeamTalk' });
    expect(ttAck.msgId).toBe(4);
    expect(fromTT.packet.header.flags & Flags.ACK).toBe(0);

    ok(await cWeb.sendText({ receiverId: o.name }, 'from the web'));
    const fromWeb = await co.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, (m) => m.from === web.name);
    expect(fromWeb.body).toMatchObject({ sessionId: singleConversationId(o.name, web.name), seqId: 2, to: o.name, content: 'from the web' });
    // The client acknowledges a push; the server answers nothing (and does not choke).
    co.ack(fromWeb.packet);
    expect((await co.ping()).header.flags).toBe(Flags.ACK);
  });

  it('a resend with the same packId (DUP or not, even on another msg_server) gets the same MsgAck and is delivered once', async () => {
    const [o, tt] = await f.newUsers(2);
    const co = await login(o, 1);
    const cTT = await f.login(tt, 0);
    const packId = `resend-${mode}-${o.name}`;
    const first = await co.sendSingle(tt.name, 'exactly once', { packId });
    expect(first).toMatchObject({ code: 0, seqId: 1 });
    await cTT.waitFor(MessageCmdID.CID_MSG_DATA, (m: IM.Message.IMMsgData) => m.fromUserId === o.id);

    expect(await co.sendSingle(tt.name, 'exactly once', { packId, flags: Flags.DUP })).toEqual(first);
    const elsewhere = await login(o, 0, DeviceType.DEVICE_ANDROID);
    expect(await elsewhere.sendSingle(tt.name, 'exactly once', { packId })).toEqual(first);
    expect(await arrivesWithin(cTT, MessageCmdID.CID_MSG_DATA, 500, (m: IM.Message.IMMsgData) => m.fromUserId === o.id)).toBe(false);
    const h = await history(co, first.sessionId);
    expect(messagesOf(h.msgs).map((m) => m.content)).toEqual(['exactly once']);
    // The next new message is number 2.
    expect((await co.sendSingle(tt.name, 'next')).seqId).toBe(2);
  });

  it('a DUP resend of a group creation gets the first answer again and creates no second group', async () => {
    const [o, m] = await f.newUsers(2);
    const co = await login(o, 1);
    const packId = `create-${mode}-${o.name}`;
    const create = { groupInfo: { groupId: '', name: 'made once', avatar: '', creatorId: o.name, desc: '', memberLimit: 0, createTime: 0, updateTime: 0 }, memberIds: [m.name] };
    const first = await ask<omtp.GroupChatCreateResp>(co, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, create, { packId });
    expect(first.errorCode.code).toBe(0);
    const again = await ask<omtp.GroupChatCreateResp>(co, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, create, { packId, flags: Flags.DUP });
    expect(again).toEqual(first);
    expect((await groupSync(co)).groupchats.filter((g) => g.name === 'made once').map((g) => g.groupId)).toEqual([first.groupId]);
    // Without DUP a request is new, whatever its packId.
    const other = await ask<omtp.GroupChatCreateResp>(co, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, create, { packId });
    expect(other.groupId).not.toBe(first.groupId);
  });

  it('group chat both ways with TeamTalk, WebSocket and another OMTP member; outsiders may not send', async () => {
    const [o, o2, tt, web, outsider] = await f.newUsers(5);
    const groupId = await newGroup('OmtpMixed', o, [o2, tt, web]);
    const co = await login(o, 1);
    const co2 = await login(o2, 0);
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web, 0);

    const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    const atWeb = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.groupId === String(groupId));
    const ack = await co.sendGroup(groupId, 'hi all');
    expect(ack).toMatchObject({ code: 0, sessionId: `sg_${groupId}`, seqId: 1 });
    const m = await atTT;
    expect(m.msgType).toBe(MsgType.MSG_TYPE_GROUP_TEXT);
    expect(decryptContent(m.msgData)).toBe('hi all');
    expect(Buffer.from((await atWeb).content).toString()).toBe('hi all');
    expect((await co2.waitForPush(T.PT_MSG_GROUP_CHAT, omtp.MsgReq)).body).toMatchObject({ sessionId: `sg_${groupId}`, seqId: 1, from: o.name, to: String(groupId), content: 'hi all' });

    await cTT.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: tt.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('from TeamTalk') });
    expect((await co.waitForPush(T.PT_MSG_GROUP_CHAT, omtp.MsgReq, (x) => x.from === tt.name)).body).toMatchObject({ sessionId: `sg_${groupId}`, seqId: 2, to: String(groupId), content: 'from TeamTalk' });
    ok(await cWeb.sendText({ groupId }, 'from the web'));
    expect((await co2.waitForPush(T.PT_MSG_GROUP_CHAT, omtp.MsgReq, (x) => x.from === web.name)).body).toMatchObject({ seqId: 3, content: 'from the web' });

    const cOut = await login(outsider, 1);
    expect((await cOut.sendGroup(groupId, 'let me in')).code).toBe(403);
    expect(await arrivesWithin(cTT, MessageCmdID.CID_MSG_DATA, 300, (x: IM.Message.IMMsgData) => x.fromUserId === outsider.id)).toBe(false);
  });

  // ---------------------------------------------------------------- recall, delete, read

  it('recall: the peer gets MSG_CTRL 1, the web a revoke push, history shows REVOKE; by packId too; nobody else may recall; delete hides only for oneself', async () => {
    const [a, b, web] = await f.newUsers(3);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const cWeb = await wsLogin(web, 0);
    const sessionId = singleConversationId(a.name, b.name);

    const oops = await ca.sendSingle(b.name, 'oops', { packId: `oops-${a.name}` });
    await cb.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq);
    // The recipient may not recall it.
    expect((await control(cb, 1, sessionId, oops.seqId)).code).toBe(403);

    const atPeer = cb.waitForPush(T.PT_MSG_CTRL, omtp.MsgControl);
    expect((await control(ca, 1, sessionId, oops.seqId)).code).toBe(0);
    const pushed = await atPeer;
    expect(pushed.body).toEqual({ command: 1, sessionId, packId: `oops-${a.name}`, seqId: oops.seqId });
    expect(pushed.packet.header.flags & Flags.ACK).toBe(0);

    const recalled = messagesOf((await history(cb, sessionId)).msgs);
    expect(recalled).toHaveLength(1);
    expect(recalled[0]).toMatchObject({ seqId: oops.seqId, status: 1, content: '' });
    expect((await history(cb, sessionId)).msgs[0].header.flags & Flags.REVOKE).toBe(Flags.REVOKE);

    // By the sender's own packId (seqId 0); the web peer hears of it.
    const webSession = singleConversationId(a.name, web.name);
    const toWeb = await ca.sendSingle(web.name, 'take me back', { packId: `back-${a.name}` });
    await cWeb.waitForPush(CommandType.CMD_PUSH_MSG);
    const revokeAtWeb = cWeb.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    expect((await control(ca, 1, webSession, 0, `back-${a.name}`)).code).toBe(0);
    expect(await revokeAtWeb).toMatchObject({ messageId: `${webSession}:${toWeb.seqId}`, conversationId: webSession, revokedBy: a.name });
    expect((await control(ca, 1, webSession, 0, 'no-such-pack-id')).code).toBe(404);

    // Delete hides a message from the deleter's history only.
    const keep = await cb.sendSingle(a.name, 'keep me');
    const gone = await cb.sendSingle(a.name, 'hide me');
    expect((await control(ca, 2, sessionId, gone.seqId)).code).toBe(0);
    expect(messagesOf((await history(ca, sessionId)).msgs).map((m) => m.seqId)).toEqual([oops.seqId, keep.seqId]);
    expect(messagesOf((await history(cb, sessionId)).msgs).map((m) => m.seqId)).toEqual([oops.seqId, keep.seqId, gone.seqId]);
  });

  it('MSG_READ: unread drops in HOTSESSION_SYNC and the peer gets a MSG_READ push', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const sessionId = singleConversationId(a.name, b.name);
    for (const t of ['one', 'two', 'three']) await ca.sendSingle(b.name, t);

    const unread = (await hotSessions(cb)).sessions.find((s) => s.sessionId === sessionId)!;
    expect(unread).toMatchObject({ readSeqId: 0, unreadCount: 3 });
    const readAtPeer = ca.waitForPush(T.PT_MSG_READ, omtp.MsgReaded);
    expect((await ask<omtp.CommonResp>(cb, T.PT_MSG_READ, omtp.MsgReaded, { sessionId, seqId: 2 })).code).toBe(0);
    expect((await readAtPeer).body).toEqual({ sessionId, seqId: 2 });
    const afterRead = (await hotSessions(cb)).sessions.find((s) => s.sessionId === sessionId)!;
    expect(afterRead.readSeqId).toBe(2);
    expect(afterRead.unreadCount).toBeLessThan(3);
    // A bare peer name names the session too.
    expect((await ask<omtp.CommonResp>(cb, T.PT_MSG_READ, omtp.MsgReaded, { sessionId: a.name, seqId: 3 })).code).toBe(0);
    expect((await hotSessions(cb)).sessions.find((s) => s.sessionId === sessionId)).toMatchObject({ readSeqId: 3, unreadCount: 0 });
  });

  // ---------------------------------------------------------------- views

  it('HOTSESSION_SYNC: sessions newest first with read position, unread, last messages and attributes; timestamps in µs', async () => {
    const [a, b, c] = await f.newUsers(3);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const cc = await login(c, 0);
    const start = await hotSessions(ca);
    expect(start.code).toBe(0);
    expect(start.sessions).toEqual([]);
    expect(Math.abs(start.timestamp - Date.now() * 1000)).toBeLessThan(5_000_000);

    for (const t of ['m1', 'm2', 'm3', 'm4']) await cb.sendSingle(a.name, t);
    const withB = singleConversationId(a.name, b.name);
    const withC = singleConversationId(a.name, c.name);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: a.name, sessionId: withB, attrName: 'top', attrValue: '1' })).code).toBe(0);
    // Changes are kept to the second: the newer session is a second newer.
    await nextSecond();
    await cc.sendSingle(a.name, 'newer');

    const all = await hotSessions(ca);
    expect(all.sessions.map((s) => s.sessionId)).toEqual([withC, withB]);
    const sb = all.sessions[1];
    expect(sb).toMatchObject({ readSeqId: 0, unreadCount: 4 });
    expect(messagesOf(sb.lastMsgs).map((m) => [m.seqId, m.content, m.from])).toEqual([
      [2, 'm2', b.name],
      [3, 'm3', b.name],
      [4, 'm4', b.name],
    ]);
    expect(JSON.parse(sb.attribute)).toEqual({ top: '1' });
    expect(JSON.parse(all.sessions[0].attribute)).toEqual({});

    // From "now" nothing is new; from before the messages both sessions are.
    await nextSecond();
    const now = (await hotSessions(ca)).timestamp;
    expect((await hotSessions(ca, now)).sessions).toEqual([]);
    expect((await hotSessions(ca, start.timestamp)).sessions.map((s) => s.sessionId).sort()).toEqual([withB, withC].sort());
    // New activity shows up from that cursor.
    await cb.sendSingle(a.name, 'm5');
    expect((await hotSessions(ca, now)).sessions.map((s) => s.sessionId)).toEqual([withB]);
  });

  it('HIGH_PRIOR_MSG_SYNC: a HIGHPRJ message is in both users\' streams with the flag, a normal one is not; paging by lastSeqId', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    await ca.sendSingle(b.name, 'normal');
    const urgent1 = await ca.sendSingle(b.name, 'urgent 1', { flags: Flags.HIGHPRJ });
    const pushed = await cb.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, (m) => m.content === 'urgent 1');
    expect(pushed.packet.header.flags & Flags.HIGHPRJ).toBe(Flags.HIGHPRJ);
    await cb.sendSingle(a.name, 'urgent 2', { flags: Flags.HIGHPRJ });
    await ca.sendSingle(b.name, 'normal again');

    for (const c of [ca, cb]) {
      const all = await ask<omtp.MsgHighPrioritySyncResp>(c, T.PT_HIGH_PRIOR_MSG_SYNC, omtp.MsgHighPrioritySyncReq, { seqId: 0, count: 200 });
      expect(all.code).toBe(0);
      expect(messagesOf(all.msgs).map((m) => m.content)).toEqual(['urgent 1', 'urgent 2']);
      expect(all.msgs.every((p) => (p.header.flags & Flags.HIGHPRJ) !== 0)).toBe(true);
      expect(messagesOf(all.msgs)[0]).toMatchObject({ seqId: urgent1.seqId, sessionId: urgent1.sessionId });

      // One at a time: ask again from lastSeqId until nothing is left.
      const page1 = await ask<omtp.MsgHighPrioritySyncResp>(c, T.PT_HIGH_PRIOR_MSG_SYNC, omtp.MsgHighPrioritySyncReq, { seqId: 0, count: 1 });
      expect(messagesOf(page1.msgs).map((m) => m.content)).toEqual(['urgent 1']);
      const page2 = await ask<omtp.MsgHighPrioritySyncResp>(c, T.PT_HIGH_PRIOR_MSG_SYNC, omtp.MsgHighPrioritySyncReq, { seqId: page1.lastSeqId, count: 1 });
      expect(messagesOf(page2.msgs).map((m) => m.content)).toEqual(['urgent 2']);
      expect(page2.lastSeqId).toBeGreaterThan(page1.lastSeqId);
      const page3 = await ask<omtp.MsgHighPrioritySyncResp>(c, T.PT_HIGH_PRIOR_MSG_SYNC, omtp.MsgHighPrioritySyncReq, { seqId: page2.lastSeqId, count: 1 });
      expect(page3.msgs).toEqual([]);
      expect(page3.lastSeqId).toBe(page2.lastSeqId);
    }
    // They stay in their session too.
    expect(messagesOf((await history(ca, urgent1.sessionId)).msgs).map((m) => m.content)).toEqual(['normal', 'urgent 1', 'urgent 2', 'normal again']);
  });

  it('HISTORY_MSG_PULL pages backwards by seqId, oldest first', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    for (let n = 1; n <= 5; n++) await (n % 2 ? ca : cb).sendSingle(n % 2 ? b.name : a.name, `h${n}`);
    const sessionId = singleConversationId(a.name, b.name);
    const newest = await history(cb, sessionId, 0, 2);
    expect(newest).toMatchObject({ errorCode: { code: 0 }, sessionId });
    expect(messagesOf(newest.msgs).map((m) => [m.seqId, m.content])).toEqual([
      [4, 'h4'],
      [5, 'h5'],
    ]);
    expect(messagesOf((await history(cb, sessionId, 4, 2)).msgs).map((m) => m.seqId)).toEqual([2, 3]);
    expect(messagesOf((await history(cb, sessionId, 2, 2)).msgs).map((m) => m.seqId)).toEqual([1]);
    expect((await history(cb, sessionId, 1, 2)).msgs).toEqual([]);
    expect(messagesOf((await history(ca, b.name, 0, 10)).msgs).map((m) => [m.from, m.to])).toEqual([
      [a.name, b.name],
      [b.name, a.name],
      [a.name, b.name],
      [b.name, a.name],
      [a.name, b.name],
    ]);
    // A session of others is not this user's.
    const [x, y] = await f.newUsers(2);
    expect((await history(ca, singleConversationId(x.name, y.name))).errorCode.code).toBe(404);
  });

  // ---------------------------------------------------------------- monitors, notifications

  it('SESSION_MONITOR: 403 without the grant; with it (ttctl monitor grant) START copies a session live, SYNC lists it, STOP ends it; ttctl monitor log records both', async () => {
    const [mon, a, b] = await f.newUsers(3);
    const cm = await login(mon, 1);
    const ca = await login(a, 0);
    const cbTT = await f.login(b, 0);
    const sessionId = singleConversationId(a.name, b.name);
    expect((await ask<omtp.CommonErrorCode>(cm, T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId })).code).toBe(403);

    await d.ttctl('monitor', 'grant', mon.name);
    await ca.sendSingle(b.name, 'before monitoring');
    expect((await ask<omtp.CommonErrorCode>(cm, T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId })).code).toBe(0);
    await ca.sendSingle(b.name, 'while monitored');
    const copy = await cm.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq);
    expect(copy.body).toMatchObject({ sessionId, from: a.name, to: b.name, content: 'while monitored', seqId: 2 });
    await cbTT.sendText(a.id, 'reply while monitored');
    expect((await cm.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq)).body).toMatchObject({ sessionId, from: b.name, to: a.name, content: 'reply while monitored', seqId: 3 });

    const synced = await ask<omtp.HotSessionResp>(cm, T.PT_SESSION_MONITOR_SYNC, undefined);
    expect(synced.code).toBe(0);
    expect(synced.sessions.map((s) => s.sessionId)).toEqual([sessionId]);
    expect(synced.sessions[0]).toMatchObject({ readSeqId: 0, unreadCount: 0 });
    expect(messagesOf(synced.sessions[0].lastMsgs).map((m) => m.content)).toContain('reply while monitored');

    expect((await ask<omtp.CommonErrorCode>(cm, T.PT_SESSION_MONITOR_STOP, omtp.SessionMonitor, { sessionId })).code).toBe(0);
    await ca.sendSingle(b.name, 'after monitoring');
    expect(await omtpArrivesWithin(cm, isType(T.PT_MSG_SINGLE_CHAT), 500)).toBe(false);
    expect((await ask<omtp.HotSessionResp>(cm, T.PT_SESSION_MONITOR_SYNC, undefined)).sessions).toEqual([]);

    // Revoking the grant stops a running monitor at once, on every msg_server.
    expect((await ask<omtp.CommonErrorCode>(cm, T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId })).code).toBe(0);
    await ca.sendSingle(b.name, 'monitored again');
    await cm.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, (m) => m.content === 'monitored again');
    expect(await d.ttctl('monitor', 'revoke', mon.name)).toMatch(/may no longer monitor sessions$/m);
    await ca.sendSingle(b.name, 'after the revoke');
    expect(await omtpArrivesWithin(cm, isType(T.PT_MSG_SINGLE_CHAT), 500)).toBe(false);
    expect((await ask<omtp.CommonErrorCode>(cm, T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId })).code).toBe(403);

    const log = await d.ttctl('monitor', 'log');
    // Lines: at, user id, user, action, session, by.
    const lines = log.split('\n').filter((l) => l.split('\t')[1] === String(mon.id));
    expect(lines.some((l) => l.split('\t')[3] === 'start' && l.split('\t')[4] === `${a.name} and ${b.name}`)).toBe(true);
    expect(lines.some((l) => /\tstop\t/.test(l))).toBe(true);
    expect(lines.some((l) => /\trevoke\t/.test(l))).toBe(true);
  });

  it('BIZ_NOTIFY: ttctl notify reaches an online OMTP user and a group\'s members; a client may not send one', async () => {
    const [u, owner] = await f.newUsers(2);
    const cu = await login(u, 1);
    await d.ttctl('notify', '--user', u.name, 'your parcel has arrived');
    const note = await cu.waitForPush(T.PT_MSG_BIZ_NOTIFY, omtp.MsgReq);
    expect(note.body).toMatchObject({ sessionId: 'biz', to: u.name, content: 'your parcel has arrived' });
    cu.ack(note.packet);

    const groupId = await newGroup('Biz', owner, [u]);
    await d.ttctl('notify', '--group', String(groupId), 'maintenance tonight');
    expect((await cu.waitForPush(T.PT_MSG_BIZ_NOTIFY, omtp.MsgReq)).body).toMatchObject({ sessionId: 'biz', to: String(groupId), content: 'maintenance tonight' });

    const mine = await cu.request<omtp.MsgAck>(T.PT_MSG_BIZ_NOTIFY, omtp.MsgReq, { sessionId: 'biz', from: u.name, to: owner.name, contentType: 1, content: 'fake notice' });
    expect(mine.body.code).toBe(403);
  });

  it('SYNC_DATA_CMD: FRIEND_ADD pushes command 1 to both users (the adder\'s other device), group changes command 3; a client\'s own SYNC_DATA_CMD is answered 0', async () => {
    const [a, b, c] = await f.newUsers(3);
    const ca = await login(a, 1);
    const caPhone = await login(a, 0, DeviceType.DEVICE_IOS);
    const cb = await login(b, 0);
    const cc = await login(c, 0);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: a.name, friendId: b.name, remark: 'Bee' }] })).code).toBe(0);
    for (const [cl, other] of [
      [caPhone, b],
      [cb, a],
    ] as const) {
      const push = await cl.waitForPush(T.PT_SYNC_DATA_CMD, omtp.SyncDataReq);
      expect(push.body.command).toBe(1);
      expect(JSON.parse(push.body.content)).toMatchObject({ friendId: other.name });
      cl.ack(push.packet);
    }

    const created = await ask<omtp.GroupChatCreateResp>(ca, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, { groupInfo: { groupId: '', name: `sync_${mode}`, creatorId: a.name }, memberIds: [] });
    expect(created.errorCode.code).toBe(0);
    expect((await ask<omtp.GroupChatJoinResp>(ca, T.PT_GROUPCHAT_JION, omtp.GroupChatJoinReq, { groupId: created.groupId, memberIds: [c.name] })).errorCode.code).toBe(0);
    const groupPush = await cc.waitForPush(T.PT_SYNC_DATA_CMD, omtp.SyncDataReq, (s) => s.command === 3);
    expect(JSON.parse(groupPush.body.content)).toMatchObject({ groupId: created.groupId });

    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_SYNC_DATA_CMD, omtp.SyncDataReq, { command: 1, content: '{}' })).code).toBe(0);
  });

  // ---------------------------------------------------------------- groups

  it('a group made on OMTP with a TeamTalk and a WebSocket member: join, chat, info update, transfer, quit, dismiss; permissions; sync and members', async () => {
    const [owner, o2, tt, web, outsider] = await f.newUsers(5);
    const co = await login(owner, 1);
    const co2 = await login(o2, 0);
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web, 0);
    const cOut = await login(outsider, 0);
    const before = (await groupSync(co2)).timestamp;

    const created = await ask<omtp.GroupChatCreateResp>(co, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, {
      groupInfo: { groupId: '', name: `Team_${mode}`, creatorId: owner.name, desc: 'the team', memberLimit: 10 },
      memberIds: [o2.name, web.name],
    });
    expect(created.errorCode.code).toBe(0);
    const groupId = Number(created.groupId);
    expect(groupId).toBeGreaterThan(0);
    expect((await ask<omtp.GroupChatCreateResp>(co, T.PT_GROUPCHAT_CREATE, omtp.GroupChatCreateReq, { groupInfo: { groupId: '', name: '', creatorId: owner.name }, memberIds: [] })).errorCode.code).toBe(400);

    // Join: the TeamTalk user is told.
    const ttHears = cTT.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (n) => n.groupId === groupId);
    expect((await ask<omtp.GroupChatJoinResp>(co2, T.PT_GROUPCHAT_JION, omtp.GroupChatJoinReq, { groupId: created.groupId, memberIds: [tt.name] })).errorCode.code).toBe(403);
    expect(await ask<omtp.GroupChatJoinResp>(co, T.PT_GROUPCHAT_JION, omtp.GroupChatJoinReq, { groupId: created.groupId, memberIds: [tt.name] })).toMatchObject({ errorCode: { code: 0 }, groupId: created.groupId });
    expect((await ttHears).chgUserIdList).toContain(tt.id);

    // Chat both ways.
    const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    expect(await co.sendGroup(groupId, 'welcome')).toMatchObject({ code: 0, seqId: 1 });
    expect(decryptContent((await atTT).msgData)).toBe('welcome');
    await cTT.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: tt.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('thanks') });
    expect((await co.waitForPush(T.PT_MSG_GROUP_CHAT, omtp.MsgReq, (m) => m.from === tt.name)).body).toMatchObject({ seqId: 2, content: 'thanks' });

    // Members and sync, for members only.
    const members = await ask<omtp.GroupChatMemberGetResp>(co2, T.PT_GROUPCHAT_MEMBERS_GET, omtp.GroupChatMemberGetReq, { groupId: created.groupId });
    expect(members.errorCode.code).toBe(0);
    expect([...members.memberIds].sort()).toEqual([owner.name, o2.name, tt.name, web.name].sort());
    expect((await ask<omtp.GroupChatMemberGetResp>(cOut, T.PT_GROUPCHAT_MEMBERS_GET, omtp.GroupChatMemberGetReq, { groupId: created.groupId })).errorCode.code).toBe(403);
    const listed = (await groupSync(co2, before)).groupchats.find((g) => g.groupId === created.groupId)!;
    expect(listed).toMatchObject({ name: `Team_${mode}`, creatorId: owner.name, desc: 'the team', memberLimit: 10 });
    expect((await groupSync(cOut)).groupchats.find((g) => g.groupId === created.groupId)).toBeUndefined();

    // A non-owner may not dismiss, transfer or remove others.
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_DISMISS, omtp.GroupChatDismissReq, { groupId: created.groupId, operatorId: o2.name })).code).toBe(403);
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_UPDATE_CREATOR, omtp.GroupChatCreatorUpdateReq, { groupId: created.groupId, operatorId: o2.name, newCreatorId: o2.name })).code).toBe(403);
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_QUIT, omtp.GroupChatQuitReq, { groupId: created.groupId, operatorId: o2.name, memberIds: [tt.name] })).code).toBe(403);
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_INFO_UPDATE, omtp.GroupChatInfoUpdateReq, { operatorId: o2.name, groupInfo: { groupId: created.groupId, name: 'mine now', creatorId: o2.name } })).code).toBe(403);
    // Acting for someone else.
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_DISMISS, omtp.GroupChatDismissReq, { groupId: created.groupId, operatorId: owner.name })).code).toBe(403);

    // Info update: TeamTalk's group version goes up and it sees the new name.
    const v0 = await ttGroupInfo(cTT, groupId);
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_INFO_UPDATE, omtp.GroupChatInfoUpdateReq, { operatorId: owner.name, groupInfo: { groupId: created.groupId, name: `Renamed_${mode}`, creatorId: owner.name, desc: 'new desc' } })).code).toBe(0);
    const v1 = await ttGroupInfo(cTT, groupId);
    expect(v1.version).toBeGreaterThan(v0.version);
    expect(v1.groupName).toBe(`Renamed_${mode}`);
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_INFO_UPDATE, omtp.GroupChatInfoUpdateReq, { operatorId: owner.name, groupInfo: { groupId: created.groupId, name: '', creatorId: owner.name, memberLimit: 2 } })).code).toBe(400);
    expect((await groupSync(co2)).groupchats.find((g) => g.groupId === created.groupId)).toMatchObject({ name: `Renamed_${mode}`, desc: 'new desc', memberLimit: 10 });

    // Transfer to o2: the version goes up again; the old owner is a member now and may leave.
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_QUIT, omtp.GroupChatQuitReq, { groupId: created.groupId, operatorId: owner.name, memberIds: [] })).code).not.toBe(0);
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_UPDATE_CREATOR, omtp.GroupChatCreatorUpdateReq, { groupId: created.groupId, operatorId: owner.name, newCreatorId: o2.name })).code).toBe(0);
    const v2 = await ttGroupInfo(cTT, groupId);
    expect(v2.version).toBeGreaterThan(v1.version);
    expect(v2.groupCreatorId).toBe(o2.id);
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_DISMISS, omtp.GroupChatDismissReq, { groupId: created.groupId, operatorId: owner.name })).code).toBe(403);
    const ownerBeforeQuit = (await groupSync(co)).timestamp;
    expect((await ask<omtp.CommonErrorCode>(co, T.PT_GROUPCHAT_QUIT, omtp.GroupChatQuitReq, { groupId: created.groupId, operatorId: owner.name, memberIds: [] })).code).toBe(0);
    const afterQuit = await groupSync(co, ownerBeforeQuit);
    expect(afterQuit.delGroupChatIds).toContain(created.groupId);
    expect((await co.sendGroup(groupId, 'still here?')).code).toBe(403);

    // Dismiss: TeamTalk hears everyone removed, the web a group_dismissed event, sync lists the id as deleted.
    const o2BeforeDismiss = (await groupSync(co2)).timestamp;
    const ttRemoved = cTT.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (n) => n.groupId === groupId && n.changeType === GroupModifyType.GROUP_MODIFY_TYPE_DEL);
    const webHears = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.extra?.event === 'group_dismissed');
    expect((await ask<omtp.CommonErrorCode>(co2, T.PT_GROUPCHAT_DISMISS, omtp.GroupChatDismissReq, { groupId: created.groupId, operatorId: o2.name })).code).toBe(0);
    expect([...(await ttRemoved).chgUserIdList].sort((x, y) => x - y)).toEqual([o2.id, tt.id, web.id].sort((x, y) => x - y));
    expect((await webHears).groupId).toBe(created.groupId);
    const afterDismiss = await groupSync(co2, o2BeforeDismiss);
    expect(afterDismiss.delGroupChatIds).toContain(created.groupId);
    expect(afterDismiss.groupchats.find((g) => g.groupId === created.groupId)).toBeUndefined();
    expect((await co2.sendGroup(groupId, 'anyone?')).code).not.toBe(0);
  });

  // ---------------------------------------------------------------- friends, profiles, attributes

  it('friends with remarks: add (mutual), change the remark, sync, delete; only for oneself', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    expect((await friendSync(ca)).friends).toEqual([]);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: a.name, friendId: b.name, remark: 'Bee' }] })).code).toBe(0);
    expect((await friendSync(ca)).friends).toEqual([{ userId: a.name, friendId: b.name, remark: 'Bee' }]);
    expect((await friendSync(cb)).friends).toEqual([{ userId: b.name, friendId: a.name, remark: '' }]);
    // b names a; a's remark stays.
    expect((await ask<omtp.CommonErrorCode>(cb, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: b.name, friendId: a.name, remark: 'Ay' }] })).code).toBe(0);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: a.name, friendId: b.name, remark: 'Bea' }] })).code).toBe(0);
    expect((await friendSync(ca)).friends).toEqual([{ userId: a.name, friendId: b.name, remark: 'Bea' }]);
    expect((await friendSync(cb)).friends).toEqual([{ userId: b.name, friendId: a.name, remark: 'Ay' }]);
    expect((await friendSync(ca, Date.now() + 60_000)).friends).toEqual([]);

    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: b.name, friendId: a.name, remark: 'x' }] })).code).toBe(403);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: a.name, friendId: `${a.name}_nobody`, remark: '' }] })).code).toBe(404);

    const delAtB = cb.waitForPush(T.PT_SYNC_DATA_CMD, omtp.SyncDataReq, (s) => s.command === 1 && JSON.parse(s.content).added === false);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_FRIEND_DEL, omtp.FriendDelReq, { friends: [{ userId: a.name, friendId: b.name, remark: '' }] })).code).toBe(0);
    await delAtB;
    expect((await friendSync(ca)).friends).toEqual([]);
    expect((await friendSync(cb)).friends).toEqual([]);
  });

  it('USERINFO_GET/UPDATE, USERATTRIBUTE_SET/GET, SESSIONATTRIBUTE_SET mute', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const birthday = Date.UTC(1990, 4, 17);
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_USERINFO_UPDATE, omtp.UserInfoUpdateReq, { userInfo: { userId: a.name, name: 'Alice A', avator: 'https://example.com/a.png', mobile: '+15550100', birthday } })).code).toBe(0);
    // Empty fields leave things as they are.
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_USERINFO_UPDATE, omtp.UserInfoUpdateReq, { userInfo: { userId: a.name, name: 'Alice', avator: '', mobile: '', birthday: 0 } })).code).toBe(0);
    expect((await ask<omtp.CommonErrorCode>(cb, T.PT_USERINFO_UPDATE, omtp.UserInfoUpdateReq, { userInfo: { userId: a.name, name: 'Mallory', avator: '', mobile: '', birthday: 0 } })).code).toBe(403);
    const got = await ask<omtp.UserInfoGetResp>(cb, T.PT_USERINFO_GET, omtp.UserInfoGetReq, { userIds: [a.name, `${a.name}_nobody`] });
    expect(got.errorCode.code).toBe(0);
    expect(got.userInfos).toEqual([{ userId: a.name, name: 'Alice', avator: 'https://example.com/a.png', mobile: '+15550100', birthday }]);

    const setAttr = (c: OmtpClient, userId: string, friendId: string, attrName: string, attrValue: string) => ask<omtp.CommonErrorCode>(c, T.PT_USERATTRIBUTE_SET, omtp.UserAttrSetReq, { attribute: { userId, friendId, attrName, attrValue } });
    expect((await setAttr(ca, a.name, b.name, 'remark', 'Bob from work')).code).toBe(0);
    expect((await setAttr(ca, a.name, b.name, 'star', '1')).code).toBe(0);
    expect((await setAttr(cb, a.name, b.name, 'remark', 'x')).code).toBe(403);
    const attrs = await ask<omtp.UserAttrGetResp>(ca, T.PT_USERATTRIBUTE_GET, undefined);
    expect(attrs.errorCode.code).toBe(0);
    expect([...attrs.attributes].sort((x, y) => x.attrName.localeCompare(y.attrName))).toEqual([
      { userId: a.name, friendId: b.name, attrName: 'remark', attrValue: 'Bob from work' },
      { userId: a.name, friendId: b.name, attrName: 'star', attrValue: '1' },
    ]);
    expect((await setAttr(ca, a.name, b.name, 'star', '')).code).toBe(0);
    expect((await ask<omtp.UserAttrGetResp>(ca, T.PT_USERATTRIBUTE_GET, undefined)).attributes.map((x) => x.attrName)).toEqual(['remark']);
    expect((await ask<omtp.UserAttrGetResp>(cb, T.PT_USERATTRIBUTE_GET, undefined)).attributes).toEqual([]);

    // Mute a session: its attribute shows in HOTSESSION_SYNC; unmute removes it.
    await cb.sendSingle(a.name, 'hello');
    const sessionId = singleConversationId(a.name, b.name);
    const setSession = (value: string) => ask<omtp.CommonErrorCode>(ca, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: a.name, sessionId, attrName: 'mute', attrValue: value });
    expect((await setSession('1')).code).toBe(0);
    expect(JSON.parse((await hotSessions(ca)).sessions.find((s) => s.sessionId === sessionId)!.attribute)).toEqual({ mute: '1' });
    expect(JSON.parse((await hotSessions(cb)).sessions.find((s) => s.sessionId === sessionId)!.attribute)).toEqual({});
    expect((await setSession('')).code).toBe(0);
    expect(JSON.parse((await hotSessions(ca)).sessions.find((s) => s.sessionId === sessionId)!.attribute)).toEqual({});
    expect((await ask<omtp.CommonErrorCode>(ca, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: b.name, sessionId, attrName: 'mute', attrValue: '1' })).code).toBe(403);
  });

  // ---------------------------------------------------------------- bad input

  it('bad input: broken frames close the connection; unknown type 415, reserved flags 400, COMPRESS=2 415; zlib works both ways; the server lives on', async () => {
    const user = await f.newUser();

    const tooShort = await login(user, 1);
    tooShort.raw(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    await tooShort.waitForClose();
    const huge = await login(user, 1);
    huge.raw(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    await huge.waitForClose();
    const garbage = await login(user, 1);
    garbage.raw(omtp.frameBytes(Buffer.from('ffffffffffffffff', 'hex')));
    await garbage.waitForClose();
    const beforeLogin = await connect(1);
    beforeLogin.raw(Buffer.from([0, 0, 0, 1]));
    await beforeLogin.waitForClose();

    const c = await login(user, 1);
    const unknown = await c.request<omtp.CommonResp>(99, undefined, undefined, { answer: omtp.CommonResp });
    expect(unknown.header).toMatchObject({ type: 99, flags: Flags.ACK });
    expect(unknown.body.code).toBe(415);

    const reserved = await c.request<omtp.HotSessionResp>(T.PT_HOTSESSION_SYNC, omtp.HotSessionReq, { timestamp: 0 }, { flags: 1 << 12 });
    expect(reserved.body.code).toBe(400);

    const packId = `compress2-${user.name}`;
    const compress2 = await c.requestPacket({ type: T.PT_HOTSESSION_SYNC, version: omtp.OMTP_VERSION, flags: 2 << Flags.COMPRESS_SHIFT, packId }, omtp.encodeStruct(omtp.HotSessionReq, { timestamp: 0 }));
    expect(omtp.decodeStruct(omtp.HotSessionResp, compress2.payload).code).toBe(415);

    // A payload that does not decode as its type's struct: 400 in the type's answer struct.
    const undecodable = await c.requestPacket({ type: T.PT_GROUPCHAT_SYNC, version: omtp.OMTP_VERSION, flags: 0, packId: `bad-${user.name}` }, Buffer.from('ffff', 'hex'));
    expect(omtp.decodeStruct(omtp.GroupChatSyncResp, undecodable.payload).errorCode.code).toBe(400);

    // zlib: the request compressed, the answer compressed too.
    const zipped = await c.request<omtp.HotSessionResp>(T.PT_HOTSESSION_SYNC, omtp.HotSessionReq, { timestamp: 0 }, { compress: Compress.ZLIB });
    expect(omtp.compressOf(zipped.header.flags)).toBe(Compress.ZLIB);
    expect(zipped.rawPayload.equals(zipped.payload)).toBe(false);
    expect(zipped.body.code).toBe(0);
    expect((await c.ping()).header.flags).toBe(Flags.ACK);

    // A zlib login gets zlib pushes.
    const peer = await f.newUser();
    const zc = await connect(0);
    expect((await zc.login(peer.name, PASSWORD, DeviceType.DEVICE_LINUX, { compress: Compress.ZLIB })).code).toBe(0);
    await c.sendSingle(peer.name, 'squeezed');
    const push = await zc.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq);
    expect(omtp.compressOf(push.packet.header.flags)).toBe(Compress.ZLIB);
    expect(push.body.content).toBe('squeezed');

    // The servers survived all of it.
    for (let which = 0; which < d.msgServers.length; which++) {
      const fresh = await login(await f.newUser(), which);
      expect((await fresh.ping()).header.flags).toBe(Flags.ACK);
    }
  });
});
