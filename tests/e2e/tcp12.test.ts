// The tcp12 front (seed 001: 12-byte header + protobuf over TCP) with the
// other fronts, in both modes. In cluster mode tcp12 clients sit on one
// msg_server and the TeamTalk/WebSocket clients on the other, so every story
// crosses servers too.
import { gzipSync } from 'node:zlib';
import { IM } from '@tt/proto';
import {
  DEFAULT_CONTENT_KEY,
  Tcp12Client,
  Tcp12StatusError,
  TeamTalkClient,
  WsImClient,
  aesEncrypt,
  connectFlag,
  decryptContent,
  encodeTcp12Frame,
  encryptContent,
  fetchToken,
  ok,
  singleConversationId,
  type Tcp12Mode,
} from '@tt/client';
import { issueToken } from '@tt/auth';
import { MODES, describeLocal, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { IMCommand, Status, MessageContentType, ConversationType, NoticeType } = IM.Tcp12;
const { MessageCmdID, MsgType, ClientType } = IM.BaseDefine;
const { CommandType } = IM.Ws;
const AES_KEY = '0123456789abcdef'.repeat(4);

const textOf = (d: IM.Tcp12.IDeliveredMessage) => d.message?.messageContent?.searchableContent;

describe.each<Mode>(MODES)('tcp12 front with TeamTalk and WebSocket clients (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const clients: Array<Tcp12Client | WsImClient> = [];

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY, MSG_SERVER_TCP12_AES_KEY: AES_KEY, MSG_SERVER_TCP12_MAX_FRAME_BYTES: '65536', MSG_SERVER_MAX_CONTENT_BYTES: '32768' } });
    f = new Fixture(d, `t12_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => {
    expect(f.decodeErrors()).toEqual([]);
    expect(clients.flatMap((c) => c.decodeErrors)).toEqual([]);
  });

  /** A tcp12 connection to msg_server `which` (default: the second one in cluster mode). */
  const connect = async (which = 1, mode?: Tcp12Mode): Promise<Tcp12Client> => {
    const ms = d.msgServers[which % d.msgServers.length];
    const c = await Tcp12Client.connect(ms.host, ms.tcp12Port!, { aesKeyHex: AES_KEY, mode });
    clients.push(c);
    return c;
  };

  const login = async (user: TestUser, which = 1, opts: { platform?: string; mode?: Tcp12Mode } = {}): Promise<Tcp12Client> => {
    const c = await connect(which, opts.mode);
    await c.login({ account: user.name, password: PASSWORD, platform: opts.platform ?? 'web' });
    return c;
  };

  const wsLogin = async (user: TestUser, which = 0): Promise<WsImClient> => {
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const c = await WsImClient.connect(d.msgServers[which % d.msgServers.length].wsUrl!);
    clients.push(c);
    ok(await c.auth(user.name, token, 'Web'), 'auth');
    return c;
  };

  const newGroup = async (name: string, owner: TestUser, members: TestUser[]) => {
    const out = await d.ttctl('group', 'create', `${name}_${mode}`, '--owner', owner.name, '--members', members.map((m) => m.name).join(','));
    return Number(/id (\d+)/.exec(out)![1]);
  };

  it('login_server hands out the front; a token from POST /auth/token logs in; a bad or expired one is refused', async () => {
    const user = await f.newUser();
    const via = await Tcp12Client.connectVia(d.loginUrl);
    clients.push(via);
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const rsp = await via.login({ token, platform: 'ios' });
    expect(rsp.userId).toBe(user.name);
    expect(Math.abs(Number(rsp.serverTime) - Date.now())).toBeLessThan(5000);
    expect((await via.ping()).time).toBeGreaterThan(0);

    const bad = await connect();
    await expect(bad.login({ token: 'not.a.token' })).rejects.toMatchObject({ status: Status.AUTH_FAILED });
    await bad.waitForClose();
    const expired = await connect();
    const old = await issueToken({ userId: user.id, name: user.name }, { secret: d.authSecret!, ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    await expect(expired.login({ token: old.token })).rejects.toMatchObject({ status: Status.TOKEN_EXPIRED });
    const wrongPassword = await connect();
    await expect(wrongPassword.login({ account: user.name, password: 'nope' })).rejects.toMatchObject({ status: Status.AUTH_FAILED });
  });

  it('a tcp12 client, a TeamTalk client and a WebSocket client chat both ways in single chat, text intact', async () => {
    const [t12, tt, web] = await f.newUsers(3);
    const c12 = await login(t12);
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web, 0);

    // tcp12 → TeamTalk and → WebSocket.
    const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === t12.id);
    const sent = await c12.sendText(tt.name, 'hello TeamTalk 你好', 1);
    expect(sent).toMatchObject({ messageId: 1, messageUid: `${singleConversationId(t12.name, tt.name)}:1` });
    expect(Number(sent.seq)).toBeGreaterThan(0);
    const m = await atTT;
    expect(m.msgType).toBe(MsgType.MSG_TYPE_SINGLE_TEXT);
    expect(decryptContent(m.msgData)).toBe('hello TeamTalk 你好');

    const atWeb = cWeb.waitForPush(CommandType.CMD_PUSH_MSG);
    await c12.sendText(web.name, 'hello web', 2);
    const pushed = await atWeb;
    expect(pushed).toMatchObject({ senderId: t12.name, receiverId: web.name, messageType: 1 });
    expect(Buffer.from(pushed.content).toString()).toBe('hello web');

    // TeamTalk → tcp12 and WebSocket → tcp12.
    const fromTT = c12.waitForMessage((x) => x.message?.from === tt.name);
    const ack = await cTT.sendText(t12.id, 'hi from TeamTalk');
    const got = await fromTT;
    expect(got.message).toMatchObject({ messageId: 0, from: tt.name, to: t12.name, conversation: { type: ConversationType.SIGNAL, target: tt.name }, messageContent: { contentType: MessageContentType.TEXT, searchableContent: 'hi from TeamTalk' } });
    expect(got.messageUid).toBe(`${singleConversationId(t12.name, tt.name)}:${ack.msgId}`);
    expect(Number(got.seq)).toBe(Number(sent.seq) + 2);

    const fromWeb = c12.waitForMessage((x) => x.message?.from === web.name);
    ok(await cWeb.sendText({ receiverId: t12.name }, 'hi from the web'));
    expect(textOf(await fromWeb)).toBe('hi from the web');

    // The web reads tcp12's message: a read notice (MN) for the sender.
    const webConversation = singleConversationId(t12.name, web.name);
    const webCopy = pushed;
    const readNotice = c12.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.type === NoticeType.NOTICE_READ);
    ok(await cWeb.readReceipt(webConversation, [webCopy.messageId]));
    expect((await readNotice).read).toMatchObject({ reader: web.name, conversation: { type: ConversationType.SIGNAL, target: web.name }, messageUids: [webCopy.messageId] });

    // Typing both ways: the web's typing is an MPS TYPING; tcp12's a TypingStatusPush.
    const typingAt12 = c12.waitForMessage((x) => x.message?.messageContent?.contentType === MessageContentType.TYPING);
    ok(await cWeb.typing(webConversation, 1));
    expect(await typingAt12).toMatchObject({ message: { from: web.name, conversation: { target: web.name }, messageContent: { data: Buffer.from([1]) } } });
    const typingAtWeb = cWeb.waitForPush(CommandType.CMD_TYPING_STATUS_PUSH);
    await c12.sendMessage({ conversation: { type: ConversationType.SIGNAL, target: web.name }, messageContent: { contentType: MessageContentType.TYPING, data: Buffer.from([0]) } });
    expect(await typingAtWeb).toMatchObject({ conversationId: webConversation, userId: t12.name, status: 0 });
  });

  it('a group with members on tcp12, TeamTalk and WebSocket: everyone gets every message', async () => {
    const [owner, t12b, tt, web] = await f.newUsers(4);
    const groupId = await newGroup('T12Mixed', owner, [t12b, tt, web]);
    const cOwner = await login(owner, 1);
    const cMember = await login(t12b, 0);
    const cTT = await f.login(tt, 0);
    const cWeb = await wsLogin(web, 0);

    const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    const atWeb = cWeb.waitForPush(CommandType.CMD_PUSH_MSG, (m) => m.groupId === String(groupId));
    const atMember = cMember.waitForMessage((m) => m.message?.conversation?.type === ConversationType.GROUP);
    const sent = await c12SendGroup(cOwner, groupId, 'hi all', 7);
    expect(decryptContent((await atTT).msgData)).toBe('hi all');
    expect((await atTT).msgType).toBe(MsgType.MSG_TYPE_GROUP_TEXT);
    expect(Buffer.from((await atWeb).content).toString()).toBe('hi all');
    expect(await atMember).toMatchObject({ messageUid: sent.messageUid, message: { messageId: 7, from: owner.name, to: String(groupId), conversation: { type: ConversationType.GROUP, target: String(groupId) } } });

    const fromTT = cOwner.waitForMessage((m) => m.message?.from === tt.name);
    await cTT.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: tt.id, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('from TeamTalk') });
    expect(textOf(await fromTT)).toBe('from TeamTalk');
    const fromWeb = cMember.waitForMessage((m) => m.message?.from === web.name);
    ok(await cWeb.sendText({ groupId }, 'from the web'));
    expect(await fromWeb).toMatchObject({ message: { conversation: { type: ConversationType.GROUP, target: String(groupId) }, messageContent: { searchableContent: 'from the web' } } });
    // Not a member: refused.
    const outsider = await login(await f.newUser(), 1);
    await expect(outsider.sendText({ group: groupId }, 'let me in')).rejects.toBeInstanceOf(Tcp12StatusError);
  });

  const c12SendGroup = (c: Tcp12Client, groupId: number, text: string, messageId: number) => c.sendText({ group: groupId }, text, messageId);

  it('a recall on tcp12 is seen by the other fronts, and one from the web by tcp12; nobody else may recall', async () => {
    const [t12, web] = await f.newUsers(2);
    const c12 = await login(t12);
    const second = await login(t12, 0);
    const cWeb = await wsLogin(web, 0);
    const sent = await c12.sendText(web.name, 'oops', 1);
    await cWeb.waitForPush(CommandType.CMD_PUSH_MSG);

    // The recipient may not recall it.
    const webOn12 = await login(web, 1);
    await expect(webOn12.recall(sent.messageUid)).rejects.toMatchObject({ status: Status.PERMISSION_DENIED });
    await expect(c12.recall('garbage')).rejects.toMatchObject({ status: Status.BAD_REQUEST });

    const atWeb = cWeb.waitForPush(CommandType.CMD_REVOKE_MSG_PUSH);
    const atPeer12 = webOn12.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.type === NoticeType.NOTICE_RECALL);
    const atOwnDevice = second.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.type === NoticeType.NOTICE_RECALL);
    await c12.recall(sent.messageUid);
    expect(await atWeb).toMatchObject({ messageId: sent.messageUid, revokedBy: t12.name });
    const peerNotice = await atPeer12;
    expect(peerNotice.recall).toMatchObject({ messageUid: sent.messageUid, recalledBy: t12.name, from: t12.name, conversation: { type: ConversationType.SIGNAL, target: t12.name } });
    expect(Number(peerNotice.seq)).toBeGreaterThan(0);
    expect((await atOwnDevice).recall).toMatchObject({ conversation: { target: web.name } });

    // The other way: the web recalls, tcp12 hears.
    const back = ok(await cWeb.sendText({ receiverId: t12.name }, 'mine to take back'));
    await c12.waitForMessage((m) => m.messageUid === back.messageId);
    const notice = c12.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.recall?.messageUid === back.messageId);
    ok(await cWeb.revoke(back.messageId, singleConversationId(t12.name, web.name)));
    expect((await notice).recall).toMatchObject({ recalledBy: web.name });

    // MP shows the message as recalled and the recall as its own entry.
    const pulled = await webOn12.pull(1);
    const original = pulled.entries.find((e) => e.message?.messageUid === sent.messageUid)!;
    expect(original.message!.recalled).toBe(true);
    expect(pulled.entries.find((e) => e.recall?.messageUid === sent.messageUid)).toBeDefined();
  });

  it('after a reconnect, MP returns exactly the missed messages, on any msg_server', async () => {
    const [t12, tt] = await f.newUsers(2);
    const cTT = await f.login(tt, 0);
    const first = await login(t12, 1);
    await cTT.sendText(t12.id, 'before');
    const before = await first.waitForMessage();
    first.close();
    await first.waitForClose();

    for (const t of ['missed 1', 'missed 2', 'missed 3']) await cTT.sendText(t12.id, t);
    const again = await login(t12, 0);
    expect(again.maxSeq).toBe(Number(before.seq) + 3);
    const page = await again.pull(Number(before.seq) + 1, 0, 2);
    expect(page.entries.map((e) => textOf(e.message!))).toEqual(['missed 1', 'missed 2']);
    expect(page.hasMore).toBe(true);
    const rest = await again.pull(Number(page.entries[1].seq) + 1);
    expect(rest.entries.map((e) => textOf(e.message!))).toEqual(['missed 3']);
    expect(rest.hasMore).toBe(false);
    expect(Number(rest.serverMaxSeq)).toBe(again.maxSeq);
    expect([...page.entries, ...rest.entries].map((e) => Number(e.seq))).toEqual([1, 2, 3].map((n) => Number(before.seq) + n));
    await expect(again.pull(5, 2)).rejects.toMatchObject({ status: Status.BAD_REQUEST });
  });

  it('a resend of a messageId, even after a reconnect to another msg_server, gets the first answer and no duplicate', async () => {
    const [t12, tt] = await f.newUsers(2);
    const cTT = await f.login(tt, 0);
    const a = await login(t12, 1);
    const first = await a.sendText(tt.name, 'exactly once', 42);
    a.close();
    const b = await login(t12, 0);
    const again = await b.sendText(tt.name, 'exactly once', 42);
    expect(again).toMatchObject({ messageId: 42, messageUid: first.messageUid, seq: first.seq });
    await b.sendText(tt.name, 'and then this', 43);
    await cTT.waitFor(MessageCmdID.CID_MSG_DATA, (m: IM.Message.IMMsgData) => decryptContent(m.msgData) === 'and then this');
    const got = cTT.received.filter((p) => p.commandId === MessageCmdID.CID_MSG_DATA).map((p) => decryptContent((p.message as IM.Message.IMMsgData).msgData));
    expect(got).toEqual(['exactly once', 'and then this']);
  });

  it('gzip and AES frames work both ways: answers are packed like their request, notices like LOGIN', async () => {
    const [a, b] = await f.newUsers(2);
    const packed: Tcp12Mode = { compression: 1, encryption: 1 };
    const ca = await connect(1, packed);
    await ca.login({ account: a.name, password: PASSWORD });
    const cb = await login(b, 0, { mode: { compression: 1 } });
    const loginAnswer = ca.received.find((fr) => fr.command === IMCommand.LOGIN)!;
    expect([loginAnswer.compression, loginAnswer.encryption, loginAnswer.flow]).toEqual([1, 1, 1]);

    const long = 'compress me '.repeat(200);
    const atB = cb.waitForMessage();
    await ca.sendText(b.name, long, 1);
    expect(textOf(await atB)).toBe(long);
    const notice = cb.received.find((fr) => fr.command === IMCommand.MPS)!;
    expect([notice.compression, notice.encryption, notice.flow]).toEqual([1, 0, 2]);
    const atA = ca.waitForMessage();
    await cb.sendText(a.name, 'secret reply', 1, { encryption: 1 });
    expect(textOf(await atA)).toBe('secret reply');
    expect(ca.received.find((fr) => fr.command === IMCommand.MPS)).toMatchObject({ compression: 1, encryption: 1, flow: 2 });
    const sendAnswer = cb.received.filter((fr) => fr.command === IMCommand.MS).pop()!;
    expect([sendAnswer.compression, sendAnswer.encryption]).toEqual([0, 1]);
    // A plain request on a packed connection gets a plain answer.
    await ca.ping({});
    expect(ca.received.filter((fr) => fr.command === IMCommand.PING).pop()).toMatchObject({ compression: 0, encryption: 0 });
  });

  it('every content type round-trips between two tcp12 clients; TYPING arrives and is never stored', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const contents: IM.Tcp12.IMessageContent[] = [
      { contentType: MessageContentType.TEXT, searchableContent: 'text', pushContent: 'push text', mentionedType: 1, mentionedTargets: [b.name] },
      { contentType: MessageContentType.SOUND, data: Buffer.from([1, 2, 3, 4]), msgLength: 3, mediaType: 2, remoteMediaUrl: 'http://media/v.amr' },
      { contentType: MessageContentType.IMAGE, remoteMediaUrl: 'http://media/i.png', data: Buffer.from([0xff, 0xd8]), localMediaPath: '/sdcard/i.png', mediaType: 1 },
      { contentType: MessageContentType.LOCATION, searchableContent: 'Beijing', data: Buffer.from('{"lat":39.9,"lng":116.4}') },
      { contentType: MessageContentType.FILE, searchableContent: 'report.pdf', remoteMediaUrl: 'http://media/report.pdf', msgLength: 12345 },
      { contentType: MessageContentType.VIDEO, remoteMediaUrl: 'http://media/v.mp4', data: Buffer.from([9]), msgLength: 30 },
      { contentType: MessageContentType.STICKER, remoteMediaUrl: 'http://media/s.gif', searchableContent: '[smile]' },
      { contentType: MessageContentType.TEXT, searchableContent: 'to everyone', mentionedType: 2 },
    ];
    let messageId = 100;
    for (const content of contents) {
      const arrival = cb.waitForMessage((m) => m.message?.messageId === messageId);
      await ca.sendMessage({ messageId, conversation: { type: ConversationType.SIGNAL, target: b.name }, messageContent: content });
      const got = await arrival;
      const norm = (c: IM.Tcp12.IMessageContent) => IM.Tcp12.MessageContent.toObject(IM.Tcp12.MessageContent.fromObject(c), { bytes: String });
      expect(norm(got.message!.messageContent!)).toEqual(norm(content));
      messageId++;
    }
    // TYPING: shown to the peer, answered without a uid, not in the sync stream.
    const typing = cb.waitForMessage((m) => m.message?.messageContent?.contentType === MessageContentType.TYPING);
    const answer = await ca.sendMessage({ messageId: 0, conversation: { type: ConversationType.SIGNAL, target: b.name }, messageContent: { contentType: MessageContentType.TYPING } });
    expect(answer.messageUid).toBe('');
    expect(await typing).toMatchObject({ message: { from: a.name, conversation: { target: a.name } } });
    expect(Number((await typing).seq)).toBe(0);
    const pulled = await cb.pull(1);
    expect(pulled.entries).toHaveLength(contents.length);
  });

  it('chat rooms: only members send (RJ first), members hear messages, joins, leaves and recalls; RH gives the history', async () => {
    const [owner, a, b] = await f.newUsers(3);
    const out = await d.ttctl('room', 'create', `Lobby_${mode}`, '--owner', owner.name, '--max-members', '3');
    const roomId = Number(/id (\d+)/.exec(out)![1]);
    const ca = await login(a, 1);
    const cb = await login(b, 0);
    const room = { room: roomId };
    await expect(ca.sendText(room, 'anyone?', 1)).rejects.toMatchObject({ status: Status.PERMISSION_DENIED });
    expect(await ca.joinRoom(roomId)).toMatchObject({ roomId: String(roomId), name: `Lobby_${mode}`, memberCount: 1, maxMembers: 3 });
    const joinSeen = ca.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.type === NoticeType.NOTICE_ROOM_MEMBER && n.roomMember?.user === b.name);
    await cb.joinRoom(roomId);
    expect((await joinSeen).roomMember).toMatchObject({ roomId: String(roomId), joined: true, memberCount: 2 });

    const atB = cb.waitForMessage((m) => m.message?.conversation?.type === ConversationType.CHATINGROOM);
    const sent = await ca.sendText(room, 'hello room', 2);
    expect(sent.messageUid).toMatch(new RegExp(`^sr_${roomId}:\\d+$`));
    expect(await atB).toMatchObject({ messageUid: sent.messageUid, message: { from: a.name, to: String(roomId), conversation: { type: ConversationType.CHATINGROOM, target: String(roomId) }, messageContent: { searchableContent: 'hello room' } } });
    expect(Number((await atB).seq)).toBe(0);
    const history = await cb.roomHistory(roomId);
    expect(history.messages.map(textOf)).toEqual(['hello room']);

    const recallSeen = cb.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.type === NoticeType.NOTICE_RECALL);
    await ca.recall(sent.messageUid);
    expect((await recallSeen).recall).toMatchObject({ messageUid: sent.messageUid, conversation: { type: ConversationType.CHATINGROOM, target: String(roomId) } });

    const leaveSeen = ca.waitForNotice<IM.Tcp12.Notice>(IMCommand.MN, (n) => n.roomMember?.joined === false);
    await cb.leaveRoom(roomId);
    expect((await leaveSeen).roomMember).toMatchObject({ user: b.name, memberCount: 1 });
    await expect(cb.leaveRoom(roomId)).rejects.toMatchObject({ status: Status.NOT_FOUND });
    await expect(cb.sendText(room, 'after leaving')).rejects.toMatchObject({ status: Status.PERMISSION_DENIED });
    await expect(cb.joinRoom(999999)).rejects.toMatchObject({ status: Status.NOT_FOUND });
    await expect(cb.joinRoom('lobby')).rejects.toMatchObject({ status: Status.BAD_REQUEST });
  });

  it('another login of the same kind kicks the older connection (LOGOUT notice, KICKED, close)', async () => {
    const user = await f.newUser();
    const phone = await login(user, 1, { platform: 'android' });
    const kicked = phone.waitForNotice<{ status: number; message: string }>(IMCommand.LOGOUT);
    const ttPhone = await f.login(user, 0, ClientType.CLIENT_TYPE_ANDROID);
    expect((await kicked).status).toBe(Status.KICKED);
    await phone.waitForClose();
    // A client of another platform ("web") kicks nobody.
    await login(user, 1);
    expect(ttPhone.closed).toBe(false);
  });

  it('bad input: a clear status or a close, never a crash; other clients keep being served', async () => {
    const [user, peer] = await f.newUsers(2);
    const watcher = await login(peer, 1);
    const answerOf = async (c: Tcp12Client, seq: number, command: number, bytes: Buffer) => {
      const answer = c.awaitResponse(seq, command);
      c.sendRaw(bytes);
      return answer;
    };
    // A command before login: NOT_LOGGED_IN, then the close.
    const early = await connect();
    const rsp = await answerOf(early, 9, IMCommand.MS, encodeTcp12Frame({ seq: 9, command: IMCommand.MS }, IM.Tcp12.Message.encode({ messageId: 1 }).finish()));
    expect(rsp.status).toBe(Status.NOT_LOGGED_IN);
    await early.waitForClose();

    // Reserved bits: closed at once.
    const reserved = await connect();
    reserved.sendRaw(encodeTcp12Frame({ seq: 1, command: IMCommand.PING, flag: connectFlag(0, 0, 0, 2) }, Buffer.alloc(0)));
    await reserved.waitForClose();
    // A length over the maximum: closed.
    const long = await connect();
    long.sendRaw(encodeTcp12Frame({ seq: 1, command: IMCommand.MS }, Buffer.alloc(0), 10 * 1024 * 1024));
    await long.waitForClose();
    // A truncated header, then the client closes: nothing breaks.
    const truncated = await connect();
    truncated.sendRaw(Buffer.from([0, 0, 0, 5, 1]));
    truncated.close();
    // An unknown version: answered, then closed.
    const v9 = await connect();
    expect((await answerOf(v9, 3, IMCommand.PING, encodeTcp12Frame({ seq: 3, command: IMCommand.PING, version: 9 }, Buffer.alloc(0)))).status).toBe(Status.VERSION_NOT_SUPPORTED);
    await v9.waitForClose();

    // Logged in: each bad frame gets its status; the connection stays.
    const c = await login(user, 1);
    const cases: Array<[string, number, Buffer, number]> = [
      ['bad gzip', IMCommand.PING, encodeTcp12Frame({ seq: 101, command: IMCommand.PING, flag: connectFlag(1, 0, 0) }, Buffer.from('not gzip at all')), Status.BAD_GZIP],
      ['bad AES', IMCommand.PING, encodeTcp12Frame({ seq: 102, command: IMCommand.PING, flag: connectFlag(0, 1, 0) }, Buffer.alloc(48, 3)), Status.BAD_AES],
      ['AES of gzip garbage', IMCommand.PING, encodeTcp12Frame({ seq: 103, command: IMCommand.PING, flag: connectFlag(1, 1, 0) }, aesEncrypt(Buffer.from(AES_KEY, 'hex'), Buffer.from('xx'))), Status.BAD_GZIP],
      ['RSA', IMCommand.PING, encodeTcp12Frame({ seq: 104, command: IMCommand.PING, flag: connectFlag(0, 2, 0) }, Buffer.alloc(0)), Status.ENCRYPTION_NOT_SUPPORTED],
      ['end-to-end RSA', IMCommand.PING, encodeTcp12Frame({ seq: 105, command: IMCommand.PING, flag: connectFlag(0, 3, 0) }, Buffer.alloc(0)), Status.ENCRYPTION_NOT_SUPPORTED],
      ['compression 2', IMCommand.PING, encodeTcp12Frame({ seq: 106, command: IMCommand.PING, flag: connectFlag(2, 0, 0) }, Buffer.alloc(0)), Status.COMPRESSION_NOT_SUPPORTED],
      ['garbage protobuf', IMCommand.MS, encodeTcp12Frame({ seq: 107, command: IMCommand.MS }, Buffer.from([0x0a, 0xff, 0xff])), Status.BAD_BODY],
      ['gzipped garbage protobuf', IMCommand.MP, encodeTcp12Frame({ seq: 108, command: IMCommand.MP, flag: connectFlag(1, 0, 0) }, gzipSync(Buffer.from([0x08]))), Status.BAD_BODY],
      ['unknown command', 99, encodeTcp12Frame({ seq: 109, command: 99 }, Buffer.alloc(0)), Status.UNKNOWN_COMMAND],
      ['a server command (MPS)', IMCommand.MPS, encodeTcp12Frame({ seq: 110, command: IMCommand.MPS }, Buffer.alloc(0)), Status.UNKNOWN_COMMAND],
      ['flow response from a client', IMCommand.PING, encodeTcp12Frame({ seq: 111, command: IMCommand.PING, flag: connectFlag(0, 0, 1) }, Buffer.alloc(0)), Status.BAD_REQUEST],
      ['a second LOGIN', IMCommand.LOGIN, encodeTcp12Frame({ seq: 112, command: IMCommand.LOGIN }, IM.Tcp12.LoginRequest.encode({ account: user.name, password: PASSWORD }).finish()), Status.ALREADY_LOGGED_IN],
    ];
    for (const [what, command, bytes, status] of cases) {
      const seq = bytes.readUInt32BE(5);
      const answer = await answerOf(c, seq, command, bytes);
      expect([what, answer.status]).toEqual([what, status]);
      expect(answer.command).toBe(command);
    }
    // Requests that decode but make no sense.
    await expect(c.sendText('nobody-at-all', 'x')).rejects.toMatchObject({ status: Status.USER_NOT_FOUND });
    await expect(c.sendText(user.name, 'x')).rejects.toMatchObject({ status: Status.BAD_REQUEST });
    await expect(c.sendMessage({ conversation: { type: ConversationType.SIGNAL, target: peer.name } })).rejects.toMatchObject({ status: Status.BAD_REQUEST });
    await expect(c.sendMessage({ conversation: { type: 7, target: peer.name }, messageContent: { contentType: 1, searchableContent: 'x' } })).rejects.toMatchObject({ status: Status.BAD_REQUEST });
    await expect(c.sendMessage({ conversation: { type: ConversationType.SIGNAL, target: peer.name }, messageContent: { contentType: 5, data: Buffer.alloc(40_000) } })).rejects.toMatchObject({ status: Status.TOO_LARGE });
    // Still fine: the connection, the watcher, and a new TeamTalk login.
    expect((await c.ping()).time).toBeGreaterThan(0);
    const arrival = watcher.waitForMessage();
    await c.sendText(peer.name, 'still here', 1);
    expect(textOf(await arrival)).toBe('still here');
    const tt = await TeamTalkClient.connectVia(d.loginUrl);
    f.clients.push(tt);
    expect((await tt.login({ userName: user.name, password: PASSWORD })).resultCode).toBe(0);
    // LOGOUT: the server closes.
    c.logout();
    await c.waitForClose();
  });
});

// Starts its own deployment with short limits: not against an external cluster.
describeLocal('tcp12 front: silence and PING (standalone, short limits)', () => {
  let d: Deployment;
  let f: Fixture;
  const clients: Tcp12Client[] = [];

  beforeAll(async () => {
    d = await startDeployment('standalone', { env: { MSG_SERVER_TCP12_IDLE_TIMEOUT_MS: '1500', MSG_SERVER_LOGIN_TIMEOUT_MS: '1500' } });
    f = new Fixture(d, 't12idle_');
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  const connect = async () => {
    const c = await Tcp12Client.connect(d.msgServers[0].host, d.msgServers[0].tcp12Port!);
    clients.push(c);
    return c;
  };

  it('a silent client is closed after the idle limit, one that PINGs stays; a connection that never logs in is closed too', async () => {
    const user = await f.newUser();
    const silent = await connect();
    await silent.login({ account: user.name, password: PASSWORD });
    const pinging = await connect();
    await pinging.login({ account: user.name, password: PASSWORD });
    const neverLogsIn = await connect();
    const started = Date.now();
    const timer = setInterval(() => pinging.ping().catch(() => undefined), 400);
    try {
      await silent.waitForClose(6000);
      await neverLogsIn.waitForClose(6000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      await new Promise((r) => setTimeout(r, 1000));
      expect(pinging.closed).toBe(false);
      expect((await pinging.ping()).time).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });
});
