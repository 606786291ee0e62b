// One cluster, four client protocols in one conversation and one group:
// TeamTalk (TCP), the WebSocket front (seed 003), the 12-byte TCP front
// (seed 001) and MSync (seed 002, driven by the real Easemob Web SDK).
// Both modes; in cluster mode the clients are spread over two msg_servers.
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, Tcp12Client, WsImClient, decryptContent, encryptContent, fetchToken, ok } from '@tt/client';
import { MODES, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';
import { loadEasemobSdk } from './support/easemob-sdk';

jest.setTimeout(90_000);

const { MessageCmdID, MsgType } = IM.BaseDefine;
const { CommandType } = IM.Ws;
const { ConversationType } = IM.Tcp12;
const APP_KEY = 'ttorg#ttapp';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;
type SdkText = { id: string; from: string; to: string; msg: string; chatType: string };

/** An Easemob Web SDK connection and the texts and recalls its application was told of. */
class EasemobUser {
  readonly texts: SdkText[] = [];
  readonly recalls: Array<{ mid: string; from: string }> = [];
  connected = false;
  constructor(readonly conn: Sdk) {
    conn.addEventHandler('all-fronts', {
      onConnected: () => (this.connected = true),
      onTextMessage: (m: SdkText) => this.texts.push(m),
      onRecallMessage: (m: { mid: string; from: string }) => this.recalls.push(m),
    });
  }

  async text(from: string, msg: string): Promise<SdkText> {
    await waitUntil(() => this.texts.some((t) => t.from === from && t.msg === msg), 15_000, `the SDK to receive "${msg}" from ${from}`);
    return this.texts.find((t) => t.from === from && t.msg === msg)!;
  }
}

describe.each<Mode>(MODES)('every front in one conversation and one group (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let EC: Sdk;
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    EC = loadEasemobSdk();
    EC.logger?.setLevel?.(5);
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, `all_${mode}_`);
  }, 120_000);

  afterAll(async () => {
    for (const close of closers) close();
    f?.closeAll();
    await d?.stop();
  });

  const server = (which: number) => d.msgServers[which % d.msgServers.length];

  const onWs = async (user: TestUser, which: number): Promise<WsImClient> => {
    const c = await WsImClient.connect(server(which).wsUrl!);
    closers.push(() => c.close());
    ok(await c.auth(user.name, await fetchToken(d.loginUrl, user.name, PASSWORD), 'Web'), 'ws auth');
    return c;
  };

  const onTcp12 = async (user: TestUser, which: number): Promise<Tcp12Client> => {
    const c = await Tcp12Client.connect(server(which).host, server(which).tcp12Port!);
    closers.push(() => c.close());
    await c.login({ account: user.name, password: PASSWORD, platform: 'web' });
    return c;
  };

  const onEasemob = async (user: TestUser, which: number): Promise<EasemobUser> => {
    const u = new EasemobUser(new EC.connection({ appKey: APP_KEY, url: server(which).msyncUrl, apiUrl: d.loginUrl, isHttpDNS: false }));
    closers.push(() => u.conn.close());
    await u.conn.open({ user: user.name, pwd: PASSWORD });
    await waitUntil(() => u.connected, 15_000, 'the SDK to connect');
    return u;
  };

  const wsText = (p: { content?: Uint8Array | null }) => Buffer.from(p.content ?? []).toString();

  it('a conversation between two users, each on two protocols: every device of both sees every message, text intact', async () => {
    const [ann, ben] = await f.newUsers(2);
    // Ann: a TeamTalk PC client and a WebSocket browser tab. Ben: a tcp12 client and the Easemob SDK.
    const annTT = await f.login(ann, 0);
    const annWeb = await onWs(ann, 1);
    const ben12 = await onTcp12(ben, 1);
    const benEm = await onEasemob(ben, 0);

    // Ann writes from TeamTalk: both of Ben's protocols get it, and so does Ann's own browser tab.
    const at12 = ben12.waitForMessage((m) => m.message?.from === ann.name);
    const atOwnTab = annWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => wsText(p) === 'hello Ben, from TeamTalk');
    await annTT.sendText(ben.id, 'hello Ben, from TeamTalk');
    expect((await at12).message?.messageContent?.searchableContent).toBe('hello Ben, from TeamTalk');
    await benEm.text(ann.name, 'hello Ben, from TeamTalk');
    expect(await atOwnTab).toMatchObject({ senderId: ann.name, receiverId: ben.name });

    // Ben answers from the Easemob SDK: Ann's TeamTalk client and browser tab, and Ben's tcp12 client.
    const atTT = annTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === ben.id);
    const atAnnWeb = annWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => p.senderId === ben.name);
    const atBen12 = ben12.waitForMessage((m) => m.message?.from === ben.name);
    await benEm.conn.send(EC.message.create({ type: 'txt', chatType: 'singleChat', to: ann.name, msg: 'hi Ann, from Easemob 你好' }));
    expect(decryptContent((await atTT).msgData)).toBe('hi Ann, from Easemob 你好');
    expect(wsText(await atAnnWeb)).toBe('hi Ann, from Easemob 你好');
    expect((await atBen12).message?.messageContent?.searchableContent).toBe('hi Ann, from Easemob 你好');

    // Ann's tab and Ben's tcp12 client write too; everyone else sees it.
    const fromTab = ben12.waitForMessage((m) => m.message?.messageContent?.searchableContent === 'from the tab');
    const tabAtTT = annTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'from the tab');
    ok(await annWeb.sendText({ receiverId: ben.name }, 'from the tab'));
    await fromTab;
    await tabAtTT;
    await benEm.text(ann.name, 'from the tab');
    const from12AtWeb = annWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => wsText(p) === 'from tcp12');
    const from12AtTT = annTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'from tcp12');
    await ben12.sendText(ann.name, 'from tcp12', 1);
    await from12AtWeb;
    await from12AtTT;
    await benEm.text(ben.name, 'from tcp12'); // Ben's own other device
  });

  it('a group with a member on each protocol: every message reaches the three others; a recall reaches every front that can show one', async () => {
    const [tt, web, t12, em] = await f.newUsers(4);
    const out = await d.ttctl('group', 'create', `AllFronts_${mode}`, '--owner', tt.name, '--members', [web.name, t12.name, em.name].join(','));
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const cTT = await f.login(tt, 0);
    const cWeb = await onWs(web, 1);
    const c12 = await onTcp12(t12, 0);
    const cEm = await onEasemob(em, 1);

    // What the other three see of a text: each waiter is set up before the send.
    const atTT = (text: string) => cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId && decryptContent(m.msgData) === text);
    const atWeb = (text: string) => cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (p) => p.groupId === String(groupId) && wsText(p) === text);
    const at12 = (text: string) => c12.waitForMessage((m) => m.message?.conversation?.type === ConversationType.GROUP && m.message?.messageContent?.searchableContent === text);

    // From TeamTalk.
    let seen: Array<Promise<unknown>> = [atWeb('from TeamTalk'), at12('from TeamTalk')];
    await cTT.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: tt.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('from TeamTalk') });
    await Promise.all([...seen, cEm.text(tt.name, 'from TeamTalk')]);
    // From the WebSocket front.
    seen = [atTT('from the web'), at12('from the web')];
    ok(await cWeb.sendText({ groupId: String(groupId) }, 'from the web'));
    await Promise.all([...seen, cEm.text(web.name, 'from the web')]);
    // From tcp12.
    seen = [atTT('from tcp12'), atWeb('from tcp12')];
    const sent12 = await c12.sendText({ group: groupId }, 'from tcp12', 1);
    await Promise.all([...seen, cEm.text(t12.name, 'from tcp12')]);
    // From the Easemob SDK.
    seen = [atTT('from Easemob'), atWeb('from Easemob'), at12('from Easemob')];
    await cEm.conn.send(EC.message.create({ type: 'txt', chatType: 'groupChat', to: String(groupId), msg: 'from Easemob' }));
    await Promise.all(seen);

    // tcp12's member takes its message back: the WebSocket member and the SDK are told; TeamTalk's history shows it recalled.
    const revoked = cWeb.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    const fromTcp12AtEm = cEm.texts.find((t) => t.from === t12.name && t.msg === 'from tcp12')!;
    await c12.recall(sent12.messageUid);
    expect(await revoked).toMatchObject({ messageId: sent12.messageUid, revokedBy: t12.name });
    await waitUntil(() => cEm.recalls.some((r) => r.mid === fromTcp12AtEm.id), 15_000, 'the SDK to hear of the recall');
    const history = await cTT.messageList(groupId, 0, 10, IM.BaseDefine.SessionType.SESSION_TYPE_GROUP);
    expect(history.msgList.map((m) => decryptContent(m.msgData))).not.toContain('from tcp12');
    expect(history.msgList.map((m) => decryptContent(m.msgData))).toContain('from Easemob');
  });

  it('a WebSocket member away from the group gets exactly what the other three protocols said meanwhile', async () => {
    const [tt, web, t12, em] = await f.newUsers(4);
    const out = await d.ttctl('group', 'create', `AllFrontsSync_${mode}`, '--owner', tt.name, '--members', [web.name, t12.name, em.name].join(','));
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const cTT = await f.login(tt, 1);
    const c12 = await onTcp12(t12, 1);
    const cEm = await onEasemob(em, 0);
    const first = await onWs(web, 0);
    const before = Number((await first.sync(0, 0, 1)).serverMaxSeq);
    first.close();

    await cTT.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: tt.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('missed 1') });
    await c12.sendText({ group: groupId }, 'missed 2', 1);
    await cEm.conn.send(EC.message.create({ type: 'txt', chatType: 'groupChat', to: String(groupId), msg: 'missed 3' }));
    await cEm.text(t12.name, 'missed 2'); // all three are stored by now

    const back = await onWs(web, 1);
    const page = await back.sync(before + 1, 0, 100);
    expect(page.messages.map((m) => [m.senderId, wsText(m)])).toEqual([
      [tt.name, 'missed 1'],
      [t12.name, 'missed 2'],
      [em.name, 'missed 3'],
    ]);
    expect(page.messages.map((m) => Number(m.seq))).toEqual([before + 1, before + 2, before + 3]);
    expect(page.hasMore).toBe(false);
  });
});
