// One cluster, two client protocols: TeamTalk clients (TCP, 16-byte PDUs)
// and WebSocket clients (seed 003) chat with each other through the
// conversation core, in both modes. In cluster mode the TeamTalk client is on
// one msg_server and the WebSocket client on the other.
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, TeamTalkClient, WsImClient, decryptContent, encryptContent, fetchToken, groupConversationId, ok, singleConversationId } from '@tt/client';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { MessageCmdID, SwitchServiceCmdID, SessionType, MsgType, ClientType } = IM.BaseDefine;
const { CommandType, ErrorCode } = IM.Ws;

const text = (m: IM.Ws.IPushMessage) => Buffer.from(m.content ?? []).toString('utf8');

describe.each<Mode>(MODES)('TeamTalk and WebSocket clients together (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const ws: WsImClient[] = [];

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, `xp_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    for (const c of ws) c.close();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => {
    expect(f.decodeErrors()).toEqual([]);
    expect(ws.flatMap((c) => c.decodeErrors)).toEqual([]);
  });

  /** A WebSocket client of `user` on msg_server `which` (the other one than TeamTalk's default in cluster mode). */
  const wsLogin = async (user: TestUser, which = 1, platform = 'Web'): Promise<WsImClient> => {
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const c = await WsImClient.connect(d.msgServers[which % d.msgServers.length].wsUrl!);
    ws.push(c);
    ok(await c.auth(user.name, token, platform), 'auth');
    return c;
  };

  it('a TeamTalk client and a WebSocket client chat both ways, text intact', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web);
    const conversation = singleConversationId(tt.name, web.name);

    const pushed = cWeb.waitForPush(CommandType.CMD_PUSH_MSG);
    const ack = await cTT.sendText(web.id, 'hello from TeamTalk');
    const got = await pushed;
    expect(got).toMatchObject({ senderId: tt.name, receiverId: web.name, conversationId: conversation, messageType: 1, messageId: `${conversation}:${ack.msgId}` });
    expect(text(got)).toBe('hello from TeamTalk');
    expect(Number(got.seq)).toBeGreaterThan(0);

    const arrival = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === web.id);
    const sent = ok(await cWeb.sendText({ receiverId: tt.name }, 'hello from the web'));
    const m = await arrival;
    expect(m).toMatchObject({ toSessionId: tt.id, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgId: ack.msgId + 1 });
    expect(decryptContent(m.msgData)).toBe('hello from the web');
    expect(sent.messageId).toBe(`${conversation}:${ack.msgId + 1}`);
    expect(Number(sent.seq)).toBe(Number(got.seq) + 1);
    expect(Math.abs(Number(sent.serverTime) - Date.now())).toBeLessThan(5000);
  });

  it("the sender, msg_id and time are always the server's: a TeamTalk client cannot send as someone else", async () => {
    const [tt, victim, web] = [await f.newUser(), await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web);
    const pushed = cWeb.waitForPush(CommandType.CMD_PUSH_MSG);
    const forged = { fromUserId: victim.id, toSessionId: web.id, msgId: 999, createTime: 1, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: encryptContent('not really from the victim') };
    const ack = await cTT.request<IM.Message.IMMsgDataAck>(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, forged);
    const got = await pushed;
    expect(got.senderId).toBe(tt.name);
    expect(got.messageId).toBe(`${singleConversationId(tt.name, web.name)}:${ack.msgId}`);
    expect(ack.msgId).toBe(1);
    expect(Math.abs(Number(got.serverTime) - Date.now())).toBeLessThan(5000);
  });

  it('typing goes both ways: the seed\'s typing push and TeamTalk\'s typing P2P command', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web);
    const conversation = singleConversationId(tt.name, web.name);

    const p2p = cTT.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD);
    ok(await cWeb.typing(conversation, 1));
    const cmd = await p2p;
    expect(cmd.fromUserId).toBe(web.id);
    expect(JSON.parse(cmd.cmdMsgData)).toMatchObject({ ServiceID: 2, CmdID: (2 << 16) | 1 });

    const typingPush = cWeb.waitForPush(CommandType.CMD_TYPING_STATUS_PUSH);
    cTT.send(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg, { fromUserId: tt.id, toUserId: web.id, cmdMsgData: JSON.stringify({ ServiceID: 2, CmdID: (2 << 16) | 2, Content: 'stop writing' }) });
    expect(await typingPush).toMatchObject({ conversationId: conversation, userId: tt.name, status: 0 });
  });

  it('read receipts reach the sender, and the reader\'s other devices are told', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web);
    const webOnTeamTalk = await f.login(web, 0, ClientType.CLIENT_TYPE_ANDROID);
    const conversation = singleConversationId(tt.name, web.name);

    // The WebSocket user sends; the TeamTalk reader's read ack becomes a receipt.
    const sent = ok(await cWeb.sendText({ receiverId: tt.name }, 'did you read this?'));
    const receipt = cWeb.waitForPush(CommandType.CMD_READ_RECEIPT_PUSH);
    cTT.readAck(web.id, Number(sent.messageId!.split(':').pop()));
    expect(await receipt).toMatchObject({ conversationId: conversation, userId: tt.name, messageIds: [sent.messageId] });

    // The WebSocket user reads TeamTalk's message: its TeamTalk device hears of it.
    const ack = await cTT.sendText(web.id, 'and this one?');
    const pushed = await cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.senderId === tt.name);
    const notify = webOnTeamTalk.waitFor<IM.Message.IMMsgDataReadNotify>(MessageCmdID.CID_MSG_READ_NOTIFY);
    ok(await cWeb.readReceipt(conversation, [pushed.messageId!]));
    expect(await notify).toMatchObject({ userId: web.id, sessionId: tt.id, msgId: ack.msgId, sessionType: SessionType.SESSION_TYPE_SINGLE });
  });

  it('a sender recalls a message: every connection hears of it, sync and history show it recalled; nobody else may recall it', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web);
    const webTab2 = await wsLogin(web, 0);
    const conversation = singleConversationId(tt.name, web.name);

    const sent = ok(await cWeb.sendText({ receiverId: tt.name }, 'oops, wrong chat'));
    await cTT.waitFor(MessageCmdID.CID_MSG_DATA, (m: IM.Message.IMMsgData) => m.fromUserId === web.id);
    // The recipient may not recall it.
    const ttOnWs = await wsLogin(tt);
    const denied = await ttOnWs.revoke(sent.messageId!, conversation);
    expect(denied.errorCode).toBe(ErrorCode.ERR_PERMISSION_DENIED);

    const revokeOnOtherTab = webTab2.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    const revokeAtPeer = ttOnWs.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    ok(await cWeb.revoke(sent.messageId!, conversation));
    for (const push of [await revokeOnOtherTab, await revokeAtPeer]) expect(push).toMatchObject({ messageId: sent.messageId, conversationId: conversation, revokedBy: web.name });

    // Sync shows the message as recalled, and the recall as an entry of its own.
    const synced = ok(await ttOnWs.sync(1));
    const original = synced.messages.find((m) => m.messageId === sent.messageId && m.messageType !== 0)!;
    expect(original.extra).toMatchObject({ recalled: '1' });
    expect(original.content).toHaveLength(0);
    expect(synced.messages.find((m) => m.messageId === sent.messageId && m.messageType === 0)?.extra).toMatchObject({ event: 'revoke', revoked_by: web.name });

    // TeamTalk's history shows a placeholder instead of the text.
    const history = await cTT.messageList(web.id, 0, 10);
    const recalled = history.msgList.find((m) => `${conversation}:${m.msgId}` === sent.messageId)!;
    expect(decryptContent(recalled.msgData)).not.toContain('wrong chat');
  });

  it('after a reconnect, sync returns exactly the messages missed, on any msg_server', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const first = await wsLogin(web, 1);
    await cTT.sendText(web.id, 'before');
    const before = await first.waitForPush(CommandType.CMD_PUSH_MSG);
    first.close();
    await first.waitForClose();

    for (const t of ['missed 1', 'missed 2', 'missed 3']) await cTT.sendText(web.id, t);
    const again = await wsLogin(web, 0);
    expect(again.maxSeq).toBe(Number(before.seq) + 3);
    const synced = ok(await again.sync(Number(before.seq) + 1, 0, 2));
    expect(synced.messages.map(text)).toEqual(['missed 1', 'missed 2']);
    expect(synced.hasMore).toBe(true);
    const rest = ok(await again.sync(Number(synced.messages[1].seq) + 1));
    expect(rest.messages.map(text)).toEqual(['missed 3']);
    expect(rest.hasMore).toBe(false);
    expect(Number(rest.serverMaxSeq)).toBe(again.maxSeq);
    expect([...synced.messages, ...rest.messages].map((m) => Number(m.seq))).toEqual([1, 2, 3].map((n) => Number(before.seq) + n));
  });

  it('a resend with the same client_msg_id, even on another msg_server, gets the first answer and creates no duplicate', async () => {
    const [tt, web] = [await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 0);
    const a = await wsLogin(web, 1);
    const first = ok(await a.sendText({ receiverId: tt.name }, 'exactly once', { clientMsgId: 'c-42' }));
    a.close();
    const b = await wsLogin(web, 0);
    const again = ok(await b.sendText({ receiverId: tt.name }, 'exactly once', { clientMsgId: 'c-42' }));
    expect(again).toMatchObject({ messageId: first.messageId, seq: first.seq });
    const next = ok(await b.sendText({ receiverId: tt.name }, 'and then this', { clientMsgId: 'c-43' }));
    await cTT.waitFor(MessageCmdID.CID_MSG_DATA, (m: IM.Message.IMMsgData) => decryptContent(m.msgData) === 'and then this');
    const got = cTT.received.filter((p) => p.commandId === MessageCmdID.CID_MSG_DATA).map((p) => decryptContent((p.message as IM.Message.IMMsgData).msgData));
    expect(got).toEqual(['exactly once', 'and then this']);
    expect(Number(next.seq)).toBe(Number(first.seq) + 1);
  });

  it('a group with members on both protocols: everyone gets every message, each WebSocket member with its own seq', async () => {
    const [owner, ttMember, web1, web2] = await f.newUsers(4);
    const out = await d.ttctl('group', 'create', `Mixed_${mode}`, '--owner', owner.name, '--members', [ttMember.name, web1.name, web2.name].join(','));
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const cOwner = await f.login(owner, 0);
    const cMember = await f.login(ttMember, 1);
    const w1 = await wsLogin(web1, 1);
    const w2 = await wsLogin(web2, 0);
    // Give web2 a seq of its own first, so the two members' seqs differ.
    await cOwner.sendText(web2.id, 'private hello');
    await w2.waitForPush(CommandType.CMD_PUSH_MSG);

    const atMember = cMember.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    const atW2 = w2.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.groupId === String(groupId));
    const sent = ok(await w1.sendText({ groupId }, 'hi all'));
    expect(decryptContent((await atMember).msgData)).toBe('hi all');
    expect((await atMember).msgType).toBe(MsgType.MSG_TYPE_GROUP_TEXT);
    const p2 = await atW2;
    expect(p2).toMatchObject({ senderId: web1.name, conversationId: groupConversationId(groupId), messageId: sent.messageId });
    expect(Number(p2.seq)).toBe(2);
    expect(Number(sent.seq)).toBe(1);

    const atW1 = w1.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.senderId === owner.name);
    const fromTeamTalk = { fromUserId: owner.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('welcome') };
    await cOwner.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, fromTeamTalk);
    expect(text(await atW1)).toBe('welcome');
  });

  it('a group owner may recall any member\'s message at any time; a member may not recall another\'s', async () => {
    const [owner, member, other] = await f.newUsers(3);
    const out = await d.ttctl('group', 'create', `Moderated_${mode}`, '--owner', owner.name, '--members', [member.name, other.name].join(','));
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const conversation = groupConversationId(groupId);
    const wOwner = await wsLogin(owner, 0);
    const wMember = await wsLogin(member, 1);
    const wOther = await wsLogin(other, 0);
    const sent = ok(await wMember.sendText({ groupId }, 'off-topic'));
    expect((await wOther.revoke(sent.messageId!, conversation)).errorCode).toBe(ErrorCode.ERR_PERMISSION_DENIED);
    const atMember = wMember.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    const atOther = wOther.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    ok(await wOwner.revoke(sent.messageId!, conversation));
    expect(await atMember).toMatchObject({ messageId: sent.messageId, revokedBy: owner.name });
    expect(await atOther).toMatchObject({ messageId: sent.messageId, revokedBy: owner.name });
  });

  it('one phone per user across protocols: a WebSocket phone login kicks the TeamTalk phone, and the other way round', async () => {
    const user = await f.newUser();
    const ttPhone = await f.login(user, 0, ClientType.CLIENT_TYPE_ANDROID);
    const kicked = ttPhone.waitFor<IM.Login.IMKickUser>(IM.BaseDefine.LoginCmdID.CID_LOGIN_KICK_USER);
    const wsPhone = await wsLogin(user, 1, 'iOS');
    expect((await kicked).kickReason).toBe(IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER);
    // A browser tab kicks nobody and is kicked by nobody.
    const tab = await wsLogin(user, 0, 'Web');
    const notice = wsPhone.waitForPush(CommandType.CMD_KICK_NOTIFY);
    await f.login(user, 1, ClientType.CLIENT_TYPE_ANDROID);
    expect((await notice).errorCode).toBe(ErrorCode.ERR_AUTH_FAILED);
    expect((await wsPhone.waitForClose()).code).toBe(4001);
    expect(tab.closed).toBe(false);
  });

  it('bad input on the WebSocket front: clear errors or a close, never a crash', async () => {
    const user = await f.newUser();
    const url = d.msgServers[0].wsUrl!;
    // A command before auth: an error response, then the connection is closed.
    const early = await WsImClient.connect(url);
    ws.push(early);
    const rsp = await early.requestRaw(CommandType.CMD_SYNC_REQ, IM.Ws.SyncRequest.encode({ minSeq: 1 }).finish());
    expect(IM.Ws.SyncResponse.decode(rsp.body).errorCode).toBe(ErrorCode.ERR_AUTH_FAILED);
    expect((await early.waitForClose()).code).toBe(1008);
    // A wrong token.
    const wrong = await WsImClient.connect(url);
    ws.push(wrong);
    expect((await wrong.auth(user.name, 'not.a.token')).errorCode).toBe(ErrorCode.ERR_AUTH_FAILED);
    await wrong.waitForClose();
    // Text frames, garbage, oversized frames.
    for (const [payload, code] of [['hello', 1003], [Buffer.from([0xff, 0xff, 0xff, 0x0f]), 1007], [Buffer.alloc(2 * 1024 * 1024, 1), 1009]] as const) {
      const c = await WsImClient.connect(url);
      ws.push(c);
      c.sendRaw(payload);
      expect((await c.waitForClose()).code).toBe(code);
    }
    // After auth: an unknown command and a body that does not decode get ERR_INVALID_PARAM; the connection stays.
    const c = await wsLogin(user, 0);
    const unknown = await c.requestRaw(4242, Buffer.alloc(0));
    expect(unknown.command).toBe(4243);
    expect(IM.Ws.ErrorNotice.decode(unknown.body).errorCode).toBe(ErrorCode.ERR_INVALID_PARAM);
    const garbled = await c.requestRaw(CommandType.CMD_SEND_MSG_REQ, Buffer.from([0x0a, 0xff]));
    expect(IM.Ws.SendMessageResponse.decode(garbled.body).errorCode).toBe(ErrorCode.ERR_INVALID_PARAM);
    expect((await c.send({ receiverId: 'nobody-here', messageType: 1, content: Buffer.from('x') })).errorCode).toBe(ErrorCode.ERR_USER_NOT_EXIST);
    expect((await c.send({ receiverId: user.name, messageType: 1, content: Buffer.from('x') })).errorCode).toBe(ErrorCode.ERR_INVALID_PARAM);
    expect((await c.send({ groupId: '999999', messageType: 1, content: Buffer.from('x') })).errorCode).not.toBe(ErrorCode.ERR_SUCCESS);
    expect((await c.heartbeat()).serverTime).toBeGreaterThan(0);
    // The server is still fine.
    expect((await TeamTalkClient.connectVia(d.loginUrl).then(async (t) => { f.clients.push(t); return t.login({ userName: user.name, password: PASSWORD }); })).resultCode).toBe(0);
  });
});
