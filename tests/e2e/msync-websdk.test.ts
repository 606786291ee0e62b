// The real Easemob Web SDK (npm easemob-websdk, run in Node with the browser
// globals it needs) against the MSync front (seed 002): a client nobody here
// wrote logs in through login_server's Easemob token endpoint, chats with a
// TeamTalk client and a WebSocket (seed 003) client, recalls, and gets what
// it missed while disconnected. Both modes; in cluster mode the SDK is on one
// msg_server and the others on the other.
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, WsImClient, decryptContent, fetchToken, ok, singleConversationId } from '@tt/client';
import { MODES, describeLocal, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';
import { loadEasemobSdk } from './support/easemob-sdk';

jest.setTimeout(90_000);

const { MessageCmdID, MsgType } = IM.BaseDefine;
const { CommandType } = IM.Ws;
const APP_KEY = 'ttorg#ttapp';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;

/** One SDK connection and everything its application was told. */
class SdkClient {
  readonly texts: Array<{ id: string; from: string; to: string; msg: string; time: number; chatType: string }> = [];
  readonly recalls: Array<{ mid: string; from: string; to: string }> = [];
  readonly events: string[] = [];
  constructor(readonly conn: Sdk) {
    conn.addEventHandler('e2e', {
      onConnected: () => this.events.push('connected'),
      onDisconnected: () => this.events.push('disconnected'),
      onTextMessage: (m: SdkClient['texts'][number]) => this.texts.push(m),
      onRecallMessage: (m: SdkClient['recalls'][number]) => this.recalls.push(m),
      onError: (e: unknown) => this.events.push(`error ${JSON.stringify(e)}`),
    });
  }

  async textFrom(from: string, msg: string): Promise<SdkClient['texts'][number]> {
    await waitUntil(() => this.texts.some((t) => t.from === from && t.msg === msg), 15_000, `the SDK to receive "${msg}" from ${from}`);
    return this.texts.find((t) => t.from === from && t.msg === msg)!;
  }
}

describe.each<Mode>(MODES)('the Easemob Web SDK on the MSync front (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let EC: Sdk;
  const sdks: SdkClient[] = [];
  const wsClients: WsImClient[] = [];

  beforeAll(async () => {
    EC = loadEasemobSdk();
    EC.logger?.setLevel?.(5);
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, `ms_${mode}_`);
  }, 120_000);

  afterAll(async () => {
    for (const s of sdks) s.conn.close();
    for (const c of wsClients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  const sdkConnection = (which = 0): SdkClient => {
    const ms = d.msgServers[which % d.msgServers.length];
    const conn = new EC.connection({ appKey: APP_KEY, url: ms.msyncUrl, apiUrl: d.loginUrl, isHttpDNS: false, autoReconnectNumMax: 5 });
    const client = new SdkClient(conn);
    sdks.push(client);
    return client;
  };

  const wsLogin = async (user: TestUser, which = 1): Promise<WsImClient> => {
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const c = await WsImClient.connect(d.msgServers[which % d.msgServers.length].wsUrl!);
    wsClients.push(c);
    ok(await c.auth(user.name, token, 'Web'), 'auth');
    return c;
  };

  it('logs in with a password, sends a text a TeamTalk and a WebSocket client receive, and gets their replies', async () => {
    const [em, tt, web] = [await f.newUser(), await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 1);
    const cWeb = await wsLogin(web, 1);
    const s = sdkConnection(0);
    const opened = await s.conn.open({ user: em.name, pwd: PASSWORD });
    expect(opened.accessToken).toEqual(expect.any(String));
    await waitUntil(() => s.events.includes('connected'), 15_000, 'the SDK to connect');

    // To TeamTalk.
    const arrival = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === em.id);
    const sent = await s.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: tt.name, msg: 'hello TeamTalk, from Easemob' }));
    expect(sent.serverMsgId).toMatch(/^\d+$/);
    const m = await arrival;
    expect(m.msgType).toBe(MsgType.MSG_TYPE_SINGLE_TEXT);
    expect(decryptContent(m.msgData)).toBe('hello TeamTalk, from Easemob');

    // To the WebSocket client.
    const pushed = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => p.senderId === em.name);
    await s.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: web.name, msg: 'hello WebSocket, from Easemob' }));
    const p = await pushed;
    expect(Buffer.from(p.content!).toString()).toBe('hello WebSocket, from Easemob');
    expect(p.conversationId).toBe(singleConversationId(em.name, web.name));

    // Their replies.
    await cTT.sendText(em.id, 'reply from TeamTalk');
    const fromTT = await s.textFrom(tt.name, 'reply from TeamTalk');
    expect(fromTT).toMatchObject({ to: em.name, chatType: 'singleChat' });
    const fromWeb = ok(await cWeb.sendText({ receiverId: em.name }, 'reply from the web'));
    const replied = await s.textFrom(web.name, 'reply from the web');

    // The SDK's read receipt reaches the WebSocket sender as the seed's receipt push.
    const receipt = cWeb.waitForPush(CommandType.CMD_READ_RECEIPT_PUSH);
    await s.conn.send(EC.message.create({ type: 'read', chatType: 'singleChat', to: web.name, id: replied.id }));
    expect(await receipt).toMatchObject({ userId: em.name, messageIds: [fromWeb.messageId] });
  });

  it('logs in with a token (no REST call), recalls its message, and sees the others\' recalls', async () => {
    const [em, web, tt] = [await f.newUser(), await f.newUser(), await f.newUser()];
    const cWeb = await wsLogin(web, 1);
    const cTT = await f.login(tt, 1);
    const token = await fetchToken(d.loginUrl, em.name, PASSWORD);
    const s = sdkConnection(0);
    await s.conn.open({ user: em.name, accessToken: token });
    await waitUntil(() => s.events.includes('connected'), 15_000, 'the SDK to connect with a token');
    const conversation = singleConversationId(em.name, web.name);

    // The SDK recalls what it sent: the WebSocket client is told, sync shows it recalled.
    const pushed = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => p.senderId === em.name);
    const sent = await s.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: web.name, msg: 'sent by mistake' }));
    const p = await pushed;
    const revoked = cWeb.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    await s.conn.recallMessage({ mid: sent.serverMsgId, to: web.name, chatType: 'singleChat' });
    expect(await revoked).toMatchObject({ messageId: p.messageId, conversationId: conversation, revokedBy: em.name });

    // A recall of the SDK's message to TeamTalk: TeamTalk's history shows the placeholder.
    const arrival = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === em.id);
    const toTT = await s.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: tt.name, msg: 'also a mistake' }));
    const m = await arrival;
    await s.conn.recallMessage({ mid: toTT.serverMsgId, to: tt.name, chatType: 'singleChat' });
    const history = await cTT.messageList(em.id, 0, 10);
    expect(decryptContent(history.msgList.find((h) => h.msgId === m.msgId)!.msgData)).not.toContain('also a mistake');

    // The WebSocket client recalls its own message: the SDK's application hears of that very message id.
    const sentByWeb = ok(await cWeb.sendText({ receiverId: em.name }, 'I take that back'));
    const received = await s.textFrom(web.name, 'I take that back');
    ok(await cWeb.revoke(sentByWeb.messageId!, conversation));
    await waitUntil(() => s.recalls.some((r) => r.mid === received.id), 15_000, 'the SDK to hear of the recall');
    expect(s.recalls.find((r) => r.mid === received.id)).toMatchObject({ from: web.name, to: em.name });

    // Nobody else may recall the SDK's message.
    const another = await s.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: web.name, msg: 'mine to recall' }));
    const pushedAgain = await cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (x) => Buffer.from(x.content!).toString() === 'mine to recall');
    expect((await cWeb.revoke(pushedAgain.messageId!, conversation)).errorCode).not.toBe(0);
    expect(another.serverMsgId).not.toBe(sent.serverMsgId);
  });

  it('gets exactly what it missed after a reconnect (to the other msg_server in cluster mode), and chats in a group', async () => {
    const [em, tt, web] = [await f.newUser(), await f.newUser(), await f.newUser()];
    const cTT = await f.login(tt, 1);
    const cWeb = await wsLogin(web, 1);
    const s = sdkConnection(0);
    await s.conn.open({ user: em.name, pwd: PASSWORD });
    await waitUntil(() => s.events.includes('connected'), 15_000, 'the SDK to connect');
    await cTT.sendText(em.id, 'before the drop');
    await s.textFrom(tt.name, 'before the drop');

    // The network goes: the SDK reconnects by itself (to the next msg_server, as a load balancer might send it).
    s.conn.url = d.msgServers[1 % d.msgServers.length].msyncUrl;
    s.conn.sock.terminate();
    await cTT.sendText(em.id, 'while away 1');
    ok(await cWeb.sendText({ receiverId: em.name }, 'while away 2'));
    await cTT.sendText(em.id, 'while away 3');
    await s.textFrom(tt.name, 'while away 1');
    await s.textFrom(web.name, 'while away 2');
    await s.textFrom(tt.name, 'while away 3');
    // Continued from its key: nothing it had is delivered again.
    expect(s.texts.filter((t) => t.msg === 'before the drop')).toHaveLength(1);
    expect(s.texts.map((t) => t.msg)).toEqual(['before the drop', 'while away 1', 'while away 2', 'while away 3']);

    // A group (its JID is the group id): every member gets the SDK's message; the SDK gets theirs.
    const out = await d.ttctl('group', 'create', `Easemob_${mode}`, '--owner', tt.name, '--members', [em.name, web.name].join(','));
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === em.id && m.toSessionId === groupId);
    const atWeb = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => p.groupId === String(groupId));
    await s.conn.send(EC.message.create({ type: 'txt', chatType: 'groupChat', to: String(groupId), msg: 'hello group' }));
    expect((await atTT).msgType).toBe(MsgType.MSG_TYPE_GROUP_TEXT);
    expect(Buffer.from((await atWeb).content!).toString()).toBe('hello group');
    ok(await cWeb.sendText({ groupId: String(groupId) }, 'hello from the web, group'));
    expect(await s.textFrom(web.name, 'hello from the web, group')).toMatchObject({ to: String(groupId), chatType: 'groupChat' });
  });

  it('joins a chat room, chats there with another SDK user, and recalls there', async () => {
    const [alice, bob] = [await f.newUser(), await f.newUser()];
    const out = await d.ttctl('room', 'create', `Lobby_${mode}`, '--max-members', '10', '--owner', alice.name);
    const roomId = /with id (\d+)/.exec(out)![1];
    const a = sdkConnection(0);
    const b = sdkConnection(1);
    await a.conn.open({ user: alice.name, pwd: PASSWORD });
    await b.conn.open({ user: bob.name, pwd: PASSWORD });
    await waitUntil(() => a.events.includes('connected') && b.events.includes('connected'), 15_000, 'both SDKs to connect');
    await a.conn.joinChatRoom({ roomId });
    await b.conn.joinChatRoom({ roomId });

    const sent = await a.conn.send(EC.message.create({ type: 'txt', chatType: 'chatRoom', to: roomId, msg: 'hello room' }));
    const got = await b.textFrom(alice.name, 'hello room');
    expect(got).toMatchObject({ to: roomId, chatType: 'chatRoom', id: sent.serverMsgId });
    await b.conn.send(EC.message.create({ type: 'txt', chatType: 'chatRoom', to: roomId, msg: 'hello back' }));
    await a.textFrom(bob.name, 'hello back');

    await a.conn.recallMessage({ mid: sent.serverMsgId, to: roomId, chatType: 'chatRoom' });
    await waitUntil(() => b.recalls.some((r) => r.mid === sent.serverMsgId), 15_000, 'the room recall to reach the other member');

    // After leaving, nothing more arrives.
    await b.conn.leaveChatRoom({ roomId });
    await a.conn.send(EC.message.create({ type: 'txt', chatType: 'chatRoom', to: roomId, msg: 'anyone?' }));
    await new Promise((r) => setTimeout(r, 500));
    expect(b.texts.some((t) => t.msg === 'anyone?')).toBe(false);
  });
});
