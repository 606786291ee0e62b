// Authorization on every command of every front, in both modes (issue 16):
// Mallory, an ordinary user, tries each command against what belongs to
// Bob (his conversation with Carol, his group, his settings, his offline
// file) and must get the front's own refusal: no crash, no silent success,
// nothing of Bob's in the answer. Every command is refused before login too
// (login and heartbeat aside). The case tables are checked against the
// commands the handlers register, so a new command without a case fails here.
import * as omtp from '@tt/omtp';
import { encodePdu } from '@tt/codec';
import { IM } from '@tt/proto';
import {
  FileServerConnection,
  MsyncClient,
  OmtpClient,
  Tcp12Client,
  Tcp12StatusError,
  TeamTalkClient,
  WsImClient,
  addOfflineFile,
  decodeSyncAnswer,
  deleteOfflineFile,
  encryptContent,
  fetchToken,
  groupConversationId,
  msyncUint64Field,
  ok,
  queryOfflineFiles,
  requestFileTransfer,
  singleConversationId,
  type SyncAnswer,
} from '@tt/client';
import { serverIdOf } from '../../services/msg_server/src/fronts/msync/wire';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, arrivesWithin, type TestUser } from './support/fixtures';
import { registeredCommands, type FrontName } from './support/front-commands';

jest.setTimeout(60_000);

const { MessageCmdID, BuddyListCmdID, GroupCmdID, LoginCmdID, FileCmdID, OtherCmdID, SwitchServiceCmdID, SessionType, MsgType, ClientType, GroupModifyType, TransferFileType, ClientFileRole, ClientFileState } = IM.BaseDefine;
const { ErrorCode: WsError } = IM.Ws;
const { Status: Tcp12Status } = IM.Tcp12;
const { Command: MsyncCommand } = IM.MSync.MSync;
const MsyncError = IM.MSync.Status.ErrorCode;
const { PackType: T } = omtp;

/** What a case does: try the command against another user's things; or, for a command that names nothing of anyone else, why. */
type Case = string | (() => Promise<void>);

/** What the stories share: Bob's things Mallory goes after. */
interface World {
  mallory: TestUser;
  bob: TestUser;
  carol: TestUser;
  /** Mallory's own contact (where her forged messages land). */
  dave: TestUser;
  ttMallory: TeamTalkClient;
  ttBob: TeamTalkClient;
  ttCarol: TeamTalkClient;
  ttDave: TeamTalkClient;
  /** Bob's group (Carol is in it, Mallory is not) and a message Bob sent there. */
  groupId: number;
  groupMsgId: number;
  /** A message Carol sent Bob, still unread. */
  bobCarolMsgId: number;
  /** A chat room Carol is in and Mallory is not, with a message of Carol's. */
  roomId: number;
  roomMsgId: number;
  /** An offline file Carol left for Bob. */
  offlineTaskId: string;
  offlineAddr: IM.BaseDefine.IIpAddr;
}

const SECRET = 'for bob only';
/** A 1x1 PNG. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1ad3e1c0000000049454e44ae426082', 'hex');

/** A TeamTalk request/response with the answer decoded. */
const ttAsk = <R>(c: TeamTalkClient, commandId: number, type: { encode(m: object): { finish(): Uint8Array } }, body: object) => c.request<R>(commandId, type as never, body);

/** A request TeamTalk queues after everything sent before it on the connection: proof the earlier ones were handled. */
const ttBarrier = (c: TeamTalkClient) => ttAsk<IM.Message.IMClientTimeRsp>(c, MessageCmdID.CID_MSG_TIME_REQUEST, IM.Message.IMClientTimeReq, {});

/** An OMTP answer's code, wherever its struct keeps it (code, or errorCode.code). */
const omtpCode = (body: unknown): number => {
  const b = body as { code?: number; errorCode?: { code: number } };
  return b.errorCode ? b.errorCode.code : b.code!;
};

/** The tcp12 status a request was refused with (OK when it was not). */
const tcp12Status = async (request: Promise<unknown>): Promise<number> => {
  try {
    await request;
    return Tcp12Status.OK;
  } catch (err) {
    if (err instanceof Tcp12StatusError) return err.status;
    throw err;
  }
};

describe.each<Mode>(MODES)('authorization on every command of every front (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const w = {} as World;
  const closers: Array<() => void> = [];
  const decodeErrors: Array<() => string[]> = [];

  beforeAll(async () => {
    // The operator API is called once per route and way in: above the default per-minute budget.
    d = await startDeployment(mode, { env: { ADMIN_API_RATE_LIMIT: '0' } });
    try {
      await setUp();
    } catch (err) {
      // What the servers said is the first thing to look at when the stage cannot be set.
      console.log(d.logs().slice(-5000));
      throw err;
    }
  }, 120_000);

  const setUp = async () => {
    f = new Fixture(d, `az_${mode}_`);
    [w.mallory, w.bob, w.carol, w.dave] = await f.newUsers(4);
    [w.ttMallory, w.ttBob, w.ttCarol, w.ttDave] = await Promise.all([w.mallory, w.bob, w.carol, w.dave].map((u) => f.login(u)));

    // Bob's group with Carol, and a message of Bob's in it.
    const out = await d.ttctl('group', 'create', `bobs_${mode}`, '--owner', w.bob.name, '--members', w.carol.name);
    w.groupId = Number(/id (\d+)/.exec(out)![1]);
    w.groupMsgId = (await w.ttBob.sendMessage(w.groupId, MsgType.MSG_TYPE_GROUP_TEXT, encryptContent(SECRET))).msgId;
    // Carol writes to Bob; Bob leaves it unread and shields pushes.
    w.bobCarolMsgId = (await w.ttCarol.sendText(w.bob.id, SECRET)).msgId;
    await ttAsk(w.ttBob, LoginCmdID.CID_LOGIN_REQ_PUSH_SHIELD, IM.Login.IMPushShieldReq, { userId: w.bob.id, shieldStatus: 1 });

    // A chat room Carol joined and wrote in.
    const room = await d.ttctl('room', 'create', `lobby_${mode}`, '--owner', w.bob.name, '--max-members', '10');
    w.roomId = Number(/id (\d+)/.exec(room)![1]);
    const carol12 = await tcp12(w.carol);
    await carol12.joinRoom(w.roomId);
    const sent = await carol12.sendText({ room: w.roomId }, SECRET, 1);
    w.roomMsgId = Number(sent.messageUid.split(':').pop());

    // An offline file from Carol to Bob, uploaded and recorded.
    const task = await requestFileTransfer(w.ttCarol, w.bob.id, 'bob.pdf', 1000, TransferFileType.FILE_TYPE_OFFLINE);
    expect(task.resultCode).toBe(0);
    w.offlineTaskId = task.taskId;
    w.offlineAddr = task.ipAddrList[0]!;
    const up = await fileConnection();
    const served = up.serve(Buffer.alloc(1000, 7), task.taskId, w.carol.id, { timeoutMs: 20_000 });
    expect((await up.login(w.carol.id, task.taskId, ClientFileRole.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    expect(await served).toBe(ClientFileState.CLIENT_FILE_DONE);
    addOfflineFile(w.ttCarol, w.bob.id, task.taskId, 'bob.pdf', 1000);
    await waitFor(async () => (await queryOfflineFiles(w.ttBob)).offlineFileList.length === 1, 'the offline file to be listed for Bob');
  };

  afterAll(async () => {
    for (const close of closers) close();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect([...f.decodeErrors(), ...decodeErrors.flatMap((e) => e())]).toEqual([]));

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    for (const deadline = Date.now() + 8000; !(await check()); ) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const ms = () => d.msgServers[0];

  const fileConnection = async () => {
    const c = await FileServerConnection.connect({ ip: w.offlineAddr.ip!, port: w.offlineAddr.port! });
    closers.push(() => c.close());
    decodeErrors.push(() => c.client.decodeErrors);
    return c;
  };

  async function tcp12(user?: TestUser): Promise<Tcp12Client> {
    const c = await Tcp12Client.connect(ms().host, ms().tcp12Port!);
    closers.push(() => c.close());
    decodeErrors.push(() => c.decodeErrors);
    // A browser's platform: TeamTalk's one-PC rule would otherwise end the user's TeamTalk connection.
    if (user) await c.login({ account: user.name, password: PASSWORD, platform: 'web' });
    return c;
  }

  const ws = async (user?: TestUser): Promise<WsImClient> => {
    const c = await WsImClient.connect(ms().wsUrl!);
    closers.push(() => c.close());
    decodeErrors.push(() => c.decodeErrors);
    if (user) ok(await c.auth(user.name, await fetchToken(d.loginUrl, user.name, PASSWORD)), 'auth');
    return c;
  };

  const msync = async (user?: TestUser): Promise<MsyncClient> => {
    const c = await MsyncClient.connectWs(ms().msyncUrl!);
    closers.push(() => c.close());
    if (user) expect((await c.provision({ name: user.name, password: PASSWORD, resource: 'web' })).status?.errorCode).toBe(MsyncError.OK);
    return c;
  };

  const omtpLogin = async (user?: TestUser): Promise<OmtpClient> => {
    const c = await OmtpClient.connect(ms().host, ms().omtpPort!);
    closers.push(() => c.destroy());
    decodeErrors.push(() => c.decodeErrors);
    // A phone, so the user's TeamTalk PC connection stays (one PC, one phone).
    if (user) expect((await c.login(user.name, PASSWORD, omtp.DeviceType.DEVICE_ANDROID)).code).toBe(0);
    return c;
  };

  /** Bob's and Carol's conversation, and Bob's group, as the string-id fronts name them. */
  const bobCarol = () => singleConversationId(w.bob.name, w.carol.name);
  const bobsGroup = () => groupConversationId(w.groupId);

  // ------------------------------------------------------------------ TeamTalk

  /** TeamTalk has few refusal answers: a refused request is answered for the sender's own account, or not at all, and changes nothing of Bob's. */
  const teamtalkCases: Record<string, Case> = {
    login: async () => {
      // Bob's name with Mallory's password's hash: refused (6) and closed.
      const c = await f.connect();
      const res = await c.login({ userName: w.bob.name, password: `${PASSWORD}-not` });
      expect(res.resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED);
      expect(res.userInfo).toBeFalsy();
      await c.waitForClose();
    },
    logout: 'ends the own connection only',
    kick_pc: async () => {
      // A phone may kick its own user's PC client, never another user's.
      const phone = await f.connect();
      const mine = await f.newUser();
      expect((await phone.login({ userName: mine.name, password: PASSWORD, clientType: ClientType.CLIENT_TYPE_ANDROID })).resultCode).toBe(0);
      const rsp = await ttAsk<IM.Login.IMKickPCClientRsp>(phone, LoginCmdID.CID_LOGIN_REQ_KICKPCCLIENT, IM.Login.IMKickPCClientReq, { userId: w.bob.id });
      expect(rsp).toMatchObject({ userId: mine.id, resultCode: 0 });
      expect(await arrivesWithin(w.ttBob, LoginCmdID.CID_LOGIN_KICK_USER, 300)).toBe(false);
      await ttBarrier(w.ttBob);
    },
    device_token: async () => {
      const rsp = await ttAsk<IM.Login.IMDeviceTokenRsp>(w.ttMallory, LoginCmdID.CID_LOGIN_REQ_DEVICETOKEN, IM.Login.IMDeviceTokenReq, { userId: w.bob.id, deviceToken: 'mallorys-phone' });
      expect(rsp.userId).toBe(w.mallory.id);
    },
    push_shield: async () => {
      const rsp = await ttAsk<IM.Login.IMPushShieldRsp>(w.ttMallory, LoginCmdID.CID_LOGIN_REQ_PUSH_SHIELD, IM.Login.IMPushShieldReq, { userId: w.bob.id, shieldStatus: 0 });
      expect(rsp.userId).toBe(w.mallory.id);
      const bobs = await ttAsk<IM.Login.IMQueryPushShieldRsp>(w.ttBob, LoginCmdID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldReq, { userId: w.bob.id });
      expect(bobs.shieldStatus).toBe(1);
    },
    query_push_shield: async () => {
      const rsp = await ttAsk<IM.Login.IMQueryPushShieldRsp>(w.ttMallory, LoginCmdID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldReq, { userId: w.bob.id });
      expect(rsp).toMatchObject({ userId: w.mallory.id });
      expect(rsp.shieldStatus ?? 0).toBe(0);
    },
    msg_serv: 'names this server\'s address only',
    heartbeat: 'names nothing',
    msg_data: async () => {
      // Into Bob's group: no ack, and Carol hears nothing.
      const seq = w.ttMallory.send(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: w.mallory.id, toSessionId: w.groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('let me in') });
      await ttBarrier(w.ttMallory);
      expect(w.ttMallory.received.filter((p) => p.seqNum === seq)).toEqual([]);
      expect(await arrivesWithin(w.ttCarol, MessageCmdID.CID_MSG_DATA, 200, (m: IM.Message.IMMsgData) => m.fromUserId === w.mallory.id)).toBe(false);
      // As Bob, to Dave: it arrives as Mallory's.
      const heard = w.ttDave.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA);
      await ttAsk(w.ttMallory, MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: w.bob.id, toSessionId: w.dave.id, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: encryptContent('from bob, honest') });
      expect((await heard).fromUserId).toBe(w.mallory.id);
    },
    msg_data_ack: 'acknowledges a delivery to the own connection; nothing is stored',
    read_ack: async () => {
      // Reading Bob's conversation with Carol "as Bob" moves Mallory's read position only: Bob's unread stays.
      w.ttMallory.send(MessageCmdID.CID_MSG_READ_ACK, IM.Message.IMMsgDataReadAck, { userId: w.bob.id, sessionId: w.carol.id, msgId: w.bobCarolMsgId, sessionType: SessionType.SESSION_TYPE_SINGLE });
      w.ttMallory.send(MessageCmdID.CID_MSG_READ_ACK, IM.Message.IMMsgDataReadAck, { userId: w.mallory.id, sessionId: w.groupId, msgId: w.groupMsgId, sessionType: SessionType.SESSION_TYPE_GROUP });
      await ttBarrier(w.ttMallory);
      const unread = await w.ttBob.unreadCounts();
      expect(unread.unreadinfoList.find((u) => u.sessionId === w.carol.id)?.unreadCnt).toBe(1);
      expect(await arrivesWithin(w.ttCarol, MessageCmdID.CID_MSG_READ_NOTIFY, 200)).toBe(false);
    },
    time: 'names nothing',
    unread_cnt: async () => {
      const rsp = await ttAsk<IM.Message.IMUnreadMsgCntRsp>(w.ttMallory, MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: w.bob.id });
      expect(rsp.userId).toBe(w.mallory.id);
      expect(rsp.unreadinfoList.map((u) => u.sessionId)).not.toContain(w.carol.id);
    },
    msg_list: async () => {
      const single = await ttAsk<IM.Message.IMGetMsgListRsp>(w.ttMallory, MessageCmdID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq, { userId: w.bob.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: w.carol.id, msgIdBegin: 0, msgCnt: 20 });
      expect(single.msgList).toEqual([]);
      const group = await ttAsk<IM.Message.IMGetMsgListRsp>(w.ttMallory, MessageCmdID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq, { userId: w.mallory.id, sessionType: SessionType.SESSION_TYPE_GROUP, sessionId: w.groupId, msgIdBegin: 0, msgCnt: 20 });
      expect(group.msgList).toEqual([]);
    },
    latest_msg_id: async () => {
      const single = await ttAsk<IM.Message.IMGetLatestMsgIdRsp>(w.ttMallory, MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_REQ, IM.Message.IMGetLatestMsgIdReq, { userId: w.bob.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: w.carol.id });
      expect(single.latestMsgId).toBe(0);
      const group = await ttAsk<IM.Message.IMGetLatestMsgIdRsp>(w.ttMallory, MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_REQ, IM.Message.IMGetLatestMsgIdReq, { userId: w.mallory.id, sessionType: SessionType.SESSION_TYPE_GROUP, sessionId: w.groupId });
      expect(group.latestMsgId).toBe(0);
    },
    msg_by_id: async () => {
      const single = await ttAsk<IM.Message.IMGetMsgByIdRsp>(w.ttMallory, MessageCmdID.CID_MSG_GET_BY_MSG_ID_REQ, IM.Message.IMGetMsgByIdReq, { userId: w.bob.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: w.carol.id, msgIdList: [w.bobCarolMsgId] });
      expect(single.msgList).toEqual([]);
      const group = await ttAsk<IM.Message.IMGetMsgByIdRsp>(w.ttMallory, MessageCmdID.CID_MSG_GET_BY_MSG_ID_REQ, IM.Message.IMGetMsgByIdReq, { userId: w.mallory.id, sessionType: SessionType.SESSION_TYPE_GROUP, sessionId: w.groupId, msgIdList: [w.groupMsgId] });
      expect(group.msgList).toEqual([]);
    },
    recent_sessions: async () => {
      const rsp = await ttAsk<IM.Buddy.IMRecentContactSessionRsp>(w.ttMallory, BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId: w.bob.id, latestUpdateTime: 0 });
      expect(rsp.userId).toBe(w.mallory.id);
      expect(rsp.contactSessionList.map((s) => s.sessionId)).not.toContain(w.carol.id);
      expect(rsp.contactSessionList.map((s) => s.sessionId)).not.toContain(w.groupId);
    },
    users_info: 'the organization\'s directory, open to every user as in TeamTalk',
    users_stat: 'presence, open to every user as in TeamTalk',
    all_user: 'the organization\'s directory, open to every user as in TeamTalk',
    department: 'the organization\'s departments, open to every user as in TeamTalk',
    remove_session: async () => {
      const rsp = await ttAsk<IM.Buddy.IMRemoveSessionRsp>(w.ttMallory, BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_REQ, IM.Buddy.IMRemoveSessionReq, { userId: w.bob.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: w.carol.id });
      expect(rsp.userId).toBe(w.mallory.id);
      const bobs = await ttAsk<IM.Buddy.IMRecentContactSessionRsp>(w.ttBob, BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId: w.bob.id, latestUpdateTime: 0 });
      expect(bobs.contactSessionList.map((s) => s.sessionId)).toContain(w.carol.id);
    },
    change_avatar: async () => {
      await ttAsk(w.ttMallory, BuddyListCmdID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, IM.Buddy.IMChangeAvatarReq, { userId: w.bob.id, avatarUrl: 'http://mallory.example/bob.png' });
      const info = await ttAsk<IM.Buddy.IMUsersInfoRsp>(w.ttCarol, BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, IM.Buddy.IMUsersInfoReq, { userId: w.carol.id, userIdList: [w.bob.id, w.mallory.id] });
      expect(info.userInfoList.find((u) => u.userId === w.bob.id)?.avatarUrl).not.toContain('mallory');
      expect(info.userInfoList.find((u) => u.userId === w.mallory.id)?.avatarUrl).toContain('mallory');
    },
    change_sign_info: async () => {
      await ttAsk(w.ttMallory, BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, IM.Buddy.IMChangeSignInfoReq, { userId: w.bob.id, signInfo: 'signed by mallory' });
      const info = await ttAsk<IM.Buddy.IMUsersInfoRsp>(w.ttCarol, BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, IM.Buddy.IMUsersInfoReq, { userId: w.carol.id, userIdList: [w.bob.id, w.mallory.id] });
      expect(info.userInfoList.find((u) => u.userId === w.bob.id)?.signInfo ?? '').not.toContain('mallory');
      expect(info.userInfoList.find((u) => u.userId === w.mallory.id)?.signInfo).toBe('signed by mallory');
    },
    p2p: async () => {
      // A command "from Bob" reaches Dave as Mallory's.
      const heard = w.ttDave.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD);
      w.ttMallory.send(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg, { fromUserId: w.bob.id, toUserId: w.dave.id, cmdMsgData: '{"hello":1}' });
      expect((await heard).fromUserId).toBe(w.mallory.id);
    },
    group_list: async () => {
      const rsp = await ttAsk<IM.Group.IMNormalGroupListRsp>(w.ttMallory, GroupCmdID.CID_GROUP_NORMAL_LIST_REQUEST, IM.Group.IMNormalGroupListReq, { userId: w.bob.id });
      expect(rsp.userId).toBe(w.mallory.id);
      expect(rsp.groupVersionList.map((g) => g.groupId)).not.toContain(w.groupId);
    },
    group_info: async () => {
      const rsp = await ttAsk<IM.Group.IMGroupInfoListRsp>(w.ttMallory, GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: w.bob.id, groupVersionList: [{ groupId: w.groupId, version: 0 }] });
      expect(rsp.userId).toBe(w.mallory.id);
      expect(rsp.groupInfoList.flatMap((g) => g.groupMemberList)).toEqual([]);
    },
    group_create: async () => {
      // Created "as Bob": the group is Mallory's.
      const rsp = await ttAsk<IM.Group.IMGroupCreateRsp>(w.ttMallory, GroupCmdID.CID_GROUP_CREATE_REQUEST, IM.Group.IMGroupCreateReq, { userId: w.bob.id, groupType: IM.BaseDefine.GroupType.GROUP_TYPE_TMP, groupName: 'not bobs', groupAvatar: '', memberIdList: [w.dave.id] });
      expect(rsp).toMatchObject({ userId: w.mallory.id, resultCode: 0 });
      const info = await ttAsk<IM.Group.IMGroupInfoListRsp>(w.ttMallory, GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: w.mallory.id, groupVersionList: [{ groupId: rsp.groupId, version: 0 }] });
      expect(info.groupInfoList[0]?.groupCreatorId).toBe(w.mallory.id);
    },
    group_change_member: async () => {
      for (const [changeType, who] of [[GroupModifyType.GROUP_MODIFY_TYPE_ADD, w.mallory.id], [GroupModifyType.GROUP_MODIFY_TYPE_DEL, w.carol.id]] as const) {
        const rsp = await ttAsk<IM.Group.IMGroupChangeMemberRsp>(w.ttMallory, GroupCmdID.CID_GROUP_CHANGE_MEMBER_REQUEST, IM.Group.IMGroupChangeMemberReq, { userId: w.bob.id, changeType, groupId: w.groupId, memberIdList: [who] });
        expect(rsp.resultCode).not.toBe(0);
        expect(rsp.curUserIdList).toEqual([]);
      }
      const info = await ttAsk<IM.Group.IMGroupInfoListRsp>(w.ttBob, GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: w.bob.id, groupVersionList: [{ groupId: w.groupId, version: 0 }] });
      expect([...(info.groupInfoList[0]?.groupMemberList ?? [])].sort()).toEqual([w.bob.id, w.carol.id].sort());
    },
    group_shield: async () => {
      const rsp = await ttAsk<IM.Group.IMGroupShieldRsp>(w.ttMallory, GroupCmdID.CID_GROUP_SHIELD_GROUP_REQUEST, IM.Group.IMGroupShieldReq, { userId: w.bob.id, groupId: w.groupId, shieldStatus: 1 });
      expect(rsp.resultCode).not.toBe(0);
      const info = await ttAsk<IM.Group.IMGroupInfoListRsp>(w.ttBob, GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: w.bob.id, groupVersionList: [{ groupId: w.groupId, version: 0 }] });
      expect(info.groupInfoList[0]!.shieldStatus ?? 0).toBe(0);
    },
    file_request: async () => {
      // "From Bob" to Dave: the task is Mallory's.
      const heard = w.ttDave.waitFor<IM.File.IMFileNotify>(FileCmdID.CID_FILE_NOTIFY);
      const rsp = await ttAsk<IM.File.IMFileRsp>(w.ttMallory, FileCmdID.CID_FILE_REQUEST, IM.File.IMFileReq, { fromUserId: w.bob.id, toUserId: w.dave.id, fileName: 'x.txt', fileSize: 10, transMode: TransferFileType.FILE_TYPE_ONLINE });
      expect(rsp).toMatchObject({ resultCode: 0, fromUserId: w.mallory.id });
      expect((await heard).fromUserId).toBe(w.mallory.id);
      // Bob's offline file's task on the file_server: not Mallory's to download.
      const c = await fileConnection();
      expect((await c.login(w.mallory.id, w.offlineTaskId, ClientFileRole.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(IM.BaseDefine.FileServerError.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    },
    file_has_offline: async () => {
      const rsp = await ttAsk<IM.File.IMFileHasOfflineRsp>(w.ttMallory, FileCmdID.CID_FILE_HAS_OFFLINE_REQ, IM.File.IMFileHasOfflineReq, { userId: w.bob.id });
      expect(rsp.userId).toBe(w.mallory.id);
      expect(rsp.offlineFileList).toEqual([]);
    },
    file_add_offline: async () => {
      // Claiming Carol's upload for Mallory: not recorded, nobody told.
      addOfflineFile(w.ttMallory, w.mallory.id, w.offlineTaskId, 'mine.pdf', 1000);
      w.ttMallory.send(FileCmdID.CID_FILE_ADD_OFFLINE_REQ, IM.File.IMFileAddOfflineReq, { fromUserId: w.carol.id, toUserId: w.dave.id, taskId: w.offlineTaskId, fileName: 'mine.pdf', fileSize: 1000 });
      await ttBarrier(w.ttMallory);
      expect((await queryOfflineFiles(w.ttMallory)).offlineFileList).toEqual([]);
      expect(await arrivesWithin(w.ttDave, FileCmdID.CID_FILE_NOTIFY, 200, (n: IM.File.IMFileNotify) => n.taskId === w.offlineTaskId)).toBe(false);
    },
    file_del_offline: async () => {
      deleteOfflineFile(w.ttMallory, w.carol.id, w.bob.id, w.offlineTaskId);
      await ttBarrier(w.ttMallory);
      expect((await queryOfflineFiles(w.ttBob)).offlineFileList.map((r) => r.taskId)).toEqual([w.offlineTaskId]);
    },
  };

  // ------------------------------------------------------------------ WebSocket

  const wsCases: Record<string, Case> = {
    ws_heartbeat: 'names nothing',
    ws_auth: async () => {
      // Mallory's token naming Bob: refused and closed.
      const c = await ws();
      const rsp = await c.auth(w.bob.name, await fetchToken(d.loginUrl, w.mallory.name, PASSWORD));
      expect(rsp.errorCode).toBe(WsError.ERR_AUTH_FAILED);
      expect((await c.waitForClose()).code).toBe(1008);
    },
    ws_send: async () => {
      const c = await ws(w.mallory);
      expect((await c.sendText({ groupId: w.groupId }, 'let me in')).errorCode).toBe(WsError.ERR_PERMISSION_DENIED);
      expect((await c.sendText({ conversationId: bobCarol() }, 'as bob')).errorCode).toBe(WsError.ERR_CONVERSATION_NOT_EXIST);
      expect(await arrivesWithin(w.ttCarol, MessageCmdID.CID_MSG_DATA, 200, (m: IM.Message.IMMsgData) => m.fromUserId === w.mallory.id)).toBe(false);
    },
    ws_msg_ack: 'acknowledges a push to the own connection; nothing is stored',
    ws_sync: 'pulls the own queue only (no id of anyone else in the request)',
    ws_read_receipt: async () => {
      const c = await ws(w.mallory);
      expect((await c.readReceipt(bobCarol(), [`${bobCarol()}:${w.bobCarolMsgId}`])).errorCode).toBe(WsError.ERR_CONVERSATION_NOT_EXIST);
      expect((await c.readReceipt(bobsGroup(), [`${bobsGroup()}:${w.groupMsgId}`])).errorCode).toBe(WsError.ERR_PERMISSION_DENIED);
    },
    ws_typing: async () => {
      const c = await ws(w.mallory);
      expect((await c.typing(bobCarol(), 1)).errorCode).toBe(WsError.ERR_CONVERSATION_NOT_EXIST);
      expect((await c.typing(bobsGroup(), 1)).errorCode).toBe(WsError.ERR_PERMISSION_DENIED);
      expect(await arrivesWithin(w.ttCarol, SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 200)).toBe(false);
    },
    ws_revoke: async () => {
      const c = await ws(w.mallory);
      expect((await c.revoke(`${bobCarol()}:${w.bobCarolMsgId}`, bobCarol())).errorCode).toBe(WsError.ERR_CONVERSATION_NOT_EXIST);
      expect((await c.revoke(`${bobsGroup()}:${w.groupMsgId}`, bobsGroup())).errorCode).toBe(WsError.ERR_PERMISSION_DENIED);
    },
  };

  // ------------------------------------------------------------------ tcp12

  const tcp12Cases: Record<string, Case> = {
    tcp12_ping: 'names nothing',
    tcp12_login: async () => {
      const c = await tcp12();
      expect(await tcp12Status(c.login({ account: w.bob.name, token: await fetchToken(d.loginUrl, w.mallory.name, PASSWORD) }))).toBe(Tcp12Status.AUTH_FAILED);
      await c.waitForClose();
    },
    tcp12_logout: 'ends the own connection only',
    tcp12_send: async () => {
      const c = await tcp12(w.mallory);
      expect(await tcp12Status(c.sendText({ group: w.groupId }, 'let me in'))).toBe(Tcp12Status.PERMISSION_DENIED);
      expect(await tcp12Status(c.sendText({ room: w.roomId }, 'not joined'))).toBe(Tcp12Status.PERMISSION_DENIED);
      // Typing into Bob's group.
      const typing = { contentType: IM.Tcp12.MessageContentType.TYPING, data: Buffer.from([1]) };
      expect(await tcp12Status(c.sendMessage({ messageId: 7, conversation: { type: IM.Tcp12.ConversationType.GROUP, target: String(w.groupId) }, messageContent: typing }))).toBe(Tcp12Status.PERMISSION_DENIED);
    },
    tcp12_pull: 'pulls the own queue only (no id of anyone else in the request)',
    tcp12_recall: async () => {
      const c = await tcp12(w.mallory);
      expect(await tcp12Status(c.recall(`${bobCarol()}:${w.bobCarolMsgId}`))).toBe(Tcp12Status.NOT_FOUND);
      expect(await tcp12Status(c.recall(`${bobsGroup()}:${w.groupMsgId}`))).toBe(Tcp12Status.PERMISSION_DENIED);
      expect(await tcp12Status(c.recall(`sr_${w.roomId}:${w.roomMsgId}`))).toBe(Tcp12Status.PERMISSION_DENIED);
    },
    tcp12_room_join: 'chat rooms are open: joining is how one gets in (a full room is refused)',
    tcp12_room_leave: async () => {
      const c = await tcp12(w.mallory);
      expect(await tcp12Status(c.leaveRoom(w.roomId))).toBe(Tcp12Status.NOT_FOUND);
    },
    tcp12_room_history: async () => {
      const c = await tcp12(w.mallory);
      expect(await tcp12Status(c.roomHistory(w.roomId))).toBe(Tcp12Status.PERMISSION_DENIED);
    },
  };

  // ------------------------------------------------------------------ MSync

  /** A CommSyncUL carrying one meta (namespace, recipient, body), answered by its meta id. */
  let metaIds = 1000;
  const syncMeta = async (c: MsyncClient, ns: number, to: { name: string; group?: boolean }, payload: Uint8Array): Promise<SyncAnswer> => {
    const id = ++metaIds;
    const ul = IM.MSync.CommSyncUL.encode({ meta: { id, ns, to: { appKey: 'ttorg#ttapp', name: to.name, domain: to.group ? 'conference.easemob.com' : 'easemob.com' }, payload } }).finish();
    const answer = c.waitFor(MsyncCommand.SYNC, (m) => decodeSyncAnswer(m.payload).metaId === BigInt(id));
    c.send(MsyncCommand.SYNC, ul);
    return decodeSyncAnswer((await answer).payload);
  };
  const Body = IM.MSync.MessageBody;
  const text = (type: number, to: string) => Body.encode({ type, to: { name: to }, contents: [{ type: Body.Content.Type.TEXT, text: 'let me in' }] }).finish();
  const msyncCode = (a: SyncAnswer) => a.dl.status?.errorCode;

  const msyncCases: Record<string, Case> = {
    msync_provision: async () => {
      const c = await msync();
      const rsp = await c.provision({ name: w.bob.name, token: await fetchToken(d.loginUrl, w.mallory.name, PASSWORD), resource: 'web' });
      expect(rsp.status?.errorCode).toBe(MsyncError.UNAUTHORIZED);
      await c.closed;
    },
    msync_unread: 'counts the own device\'s queue only',
    msync_logout: 'forgets the own device only',
    msync_sync: async () => {
      const c = await msync(w.mallory);
      const NS = IM.MSync.Meta.NameSpace;
      const group = String(w.groupId);
      // Messages into Bob's group and into a room Mallory has not joined.
      expect(msyncCode(await syncMeta(c, NS.CHAT, { name: group, group: true }, text(Body.Type.GROUPCHAT, group)))).toBe(MsyncError.PERMISSION_DENIED);
      expect(msyncCode(await syncMeta(c, NS.CHAT, { name: String(w.roomId), group: true }, text(Body.Type.CHATROOM, String(w.roomId))))).toBe(MsyncError.PERMISSION_DENIED);
      // Recalling Bob's group message.
      const recall = await c.recall(group, serverIdOf(bobsGroup(), w.groupMsgId), { metaId: BigInt(++metaIds), group: true });
      expect(msyncCode(recall)).toBe(MsyncError.PERMISSION_DENIED);
      // A read receipt of Carol's message to Bob, named from Mallory's side: not a message of hers.
      const read = Buffer.concat([Body.encode({ type: Body.Type.READ_ACK, to: { name: w.carol.name } }).finish(), msyncUint64Field(6, serverIdOf(bobCarol(), w.bobCarolMsgId))]);
      expect(msyncCode(await syncMeta(c, NS.CHAT, { name: w.carol.name }, read))).toBe(MsyncError.WRONG_PARAMETER);
      // Group management is not accepted from clients at all.
      const kick = IM.MSync.MUCBody.encode({ mucId: { name: group }, operation: IM.MSync.MUCBody.Operation.KICK, isChatroom: false }).finish();
      expect(msyncCode(await syncMeta(c, NS.MUC, { name: group, group: true }, kick))).toBe(MsyncError.PERMISSION_DENIED);
      expect(msyncCode(await syncMeta(c, NS.ROSTER, { name: w.bob.name }, new Uint8Array()))).toBe(MsyncError.PERMISSION_DENIED);
      expect(await arrivesWithin(w.ttCarol, MessageCmdID.CID_MSG_DATA, 200, (m: IM.Message.IMMsgData) => m.fromUserId === w.mallory.id)).toBe(false);
    },
  };

  // ------------------------------------------------------------------ OMTP

  /** A request's answer code; types without an answer struct of their own are refused with a CommonResp. */
  const ask = async (c: OmtpClient, type: number, struct: omtp.StructSchema<any> | undefined, value?: object): Promise<number> => {
    const answer = await c.request(type, struct, value as never);
    return omtpCode(answer.body ?? omtp.decodeStruct(omtp.CommonResp, answer.payload));
  };
  const FORBIDDEN = 403;
  const NOT_FOUND = 404;

  const omtpCases: Record<string, Case> = {
    omtp_ping: 'names nothing',
    omtp_login: async () => {
      const c = await omtpLogin();
      expect((await c.login(w.bob.name, await fetchToken(d.loginUrl, w.mallory.name, PASSWORD))).code).toBe(401);
      await c.closed;
    },
    omtp_logout: 'ends the own connection only',
    omtp_kickout: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_KICKOUT, undefined)).toBe(FORBIDDEN),
    omtp_single_chat: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_MSG_SINGLE_CHAT, omtp.MsgReq, { from: w.bob.name, to: w.carol.name, contentType: 1, content: 'as bob' })).toBe(FORBIDDEN);
    },
    omtp_group_chat: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_MSG_GROUP_CHAT, omtp.MsgReq, { from: w.mallory.name, to: String(w.groupId), contentType: 1, content: 'let me in' })).toBe(FORBIDDEN);
    },
    omtp_biz_notify: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_MSG_BIZ_NOTIFY, omtp.MsgReq, { from: w.mallory.name, to: w.bob.name, contentType: 1, content: 'x' })).toBe(FORBIDDEN),
    omtp_msg_ctrl: async () => {
      const c = await omtpLogin(w.mallory);
      const control = (command: number, sessionId: string, seqId: number) => ask(c, T.PT_MSG_CTRL, omtp.MsgControl, { command, sessionId, packId: '', seqId });
      expect(await control(1, bobCarol(), w.bobCarolMsgId)).toBe(NOT_FOUND);
      expect(await control(1, bobsGroup(), w.groupMsgId)).toBe(FORBIDDEN);
      expect(await control(2, bobsGroup(), w.groupMsgId)).toBe(FORBIDDEN);
    },
    omtp_msg_read: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_MSG_READ, omtp.MsgReaded, { sessionId: bobCarol(), seqId: w.bobCarolMsgId })).toBe(NOT_FOUND);
      expect(await ask(c, T.PT_MSG_READ, omtp.MsgReaded, { sessionId: bobsGroup(), seqId: w.groupMsgId })).toBe(FORBIDDEN);
    },
    omtp_hotsession_sync: 'lists the own sessions only (no id of anyone else in the request)',
    omtp_high_prior_sync: 'pulls the own high-priority messages only',
    omtp_history_pull: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_HISTORY_MSG_PULL, omtp.HistoryMsgPullReq, { sessionId: bobCarol(), seqId: 0, count: 10 })).toBe(NOT_FOUND);
      expect(await ask(c, T.PT_HISTORY_MSG_PULL, omtp.HistoryMsgPullReq, { sessionId: bobsGroup(), seqId: 0, count: 10 })).toBe(FORBIDDEN);
    },
    omtp_monitor_start: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId: bobCarol() })).toBe(FORBIDDEN),
    omtp_monitor_stop: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_SESSION_MONITOR_STOP, omtp.SessionMonitor, { sessionId: bobCarol() })).toBe(FORBIDDEN),
    omtp_monitor_sync: async () => {
      const rsp = (await (await omtpLogin(w.mallory)).request<omtp.HotSessionResp>(T.PT_SESSION_MONITOR_SYNC)).body;
      expect(rsp).toMatchObject({ code: 0, sessions: [] });
    },
    omtp_sync_data: 'the server\'s own push type; a client\'s copy does nothing',
    omtp_group_sync: async () => {
      const rsp = (await (await omtpLogin(w.mallory)).request<omtp.GroupChatSyncResp>(T.PT_GROUPCHAT_SYNC, omtp.GroupChatSyncReq, { timestamp: 0 })).body;
      expect(rsp.groupchats.map((g) => g.groupId)).not.toContain(String(w.groupId));
    },
    omtp_group_create: 'makes a new group of the creator\'s own',
    omtp_group_join: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_GROUPCHAT_JION, omtp.GroupChatJoinReq, { groupId: String(w.groupId), memberIds: [w.mallory.name] })).toBe(FORBIDDEN),
    omtp_group_quit: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_GROUPCHAT_QUIT, omtp.GroupChatQuitReq, { groupId: String(w.groupId), operatorId: w.mallory.name, memberIds: [w.carol.name] })).toBe(FORBIDDEN);
      expect(await ask(c, T.PT_GROUPCHAT_QUIT, omtp.GroupChatQuitReq, { groupId: String(w.groupId), operatorId: w.bob.name, memberIds: [w.carol.name] })).toBe(FORBIDDEN);
    },
    omtp_group_dismiss: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_GROUPCHAT_DISMISS, omtp.GroupChatDismissReq, { groupId: String(w.groupId), operatorId: w.mallory.name })).toBe(FORBIDDEN),
    omtp_group_transfer: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_GROUPCHAT_UPDATE_CREATOR, omtp.GroupChatCreatorUpdateReq, { groupId: String(w.groupId), operatorId: w.mallory.name, newCreatorId: w.mallory.name })).toBe(FORBIDDEN),
    omtp_group_info_update: async () =>
      expect(await ask(await omtpLogin(w.mallory), T.PT_GROUPCHAT_INFO_UPDATE, omtp.GroupChatInfoUpdateReq, { operatorId: w.mallory.name, groupInfo: { groupId: String(w.groupId), name: 'mallorys now', creatorId: w.mallory.name } })).toBe(FORBIDDEN),
    omtp_group_members: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_GROUPCHAT_MEMBERS_GET, omtp.GroupChatMemberGetReq, { groupId: String(w.groupId) })).toBe(FORBIDDEN),
    omtp_friend_add: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_FRIEND_ADD, omtp.FriendAddReq, { friends: [{ userId: w.bob.name, friendId: w.mallory.name, remark: 'x' }] })).toBe(FORBIDDEN),
    omtp_friend_del: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_FRIEND_DEL, omtp.FriendDelReq, { friends: [{ userId: w.bob.name, friendId: w.carol.name, remark: '' }] })).toBe(FORBIDDEN),
    omtp_friend_sync: 'lists the own friends only',
    omtp_userinfo_get: 'public profiles (name, nick, avatar), as in the seed',
    omtp_userinfo_update: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_USERINFO_UPDATE, omtp.UserInfoUpdateReq, { userInfo: { userId: w.bob.name, name: 'bob by mallory' } })).toBe(FORBIDDEN),
    omtp_userattr_set: async () => expect(await ask(await omtpLogin(w.mallory), T.PT_USERATTRIBUTE_SET, omtp.UserAttrSetReq, { attribute: { userId: w.bob.name, friendId: w.carol.name, attrName: 'x', attrValue: 'y' } })).toBe(FORBIDDEN),
    omtp_userattr_get: 'lists the own attributes only',
    omtp_sessionattr_set: async () => {
      const c = await omtpLogin(w.mallory);
      expect(await ask(c, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: w.bob.name, sessionId: bobCarol(), attrName: 'x', attrValue: 'y' })).toBe(FORBIDDEN);
      expect(await ask(c, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: w.mallory.name, sessionId: bobCarol(), attrName: 'x', attrValue: 'y' })).toBe(NOT_FOUND);
      expect(await ask(c, T.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: w.mallory.name, sessionId: bobsGroup(), attrName: 'x', attrValue: 'y' })).toBe(FORBIDDEN);
    },
  };

  // ------------------------------------------------------------------ before login

  /** Sends a command with an empty body on a connection that has not logged in; resolves once the front's refusal was checked. */
  const beforeLogin: Record<FrontName, (commandId: number) => Promise<void>> = {
    teamtalk: async (commandId) => {
      // TeamTalk answers nothing before login (as the original): dropped, the connection lives on.
      const c = await f.connect();
      c.writeRaw(encodePdu(commandId >> 8, commandId, 9, new Uint8Array()));
      await ttAsk(c, OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
      await new Promise((r) => setTimeout(r, 50));
      expect(c.received.map((p) => p.commandId)).toEqual([OtherCmdID.CID_OTHER_HEARTBEAT]);
      c.close();
    },
    ws: async (commandId) => {
      const c = await ws();
      const frame = await c.requestRaw(commandId, new Uint8Array());
      expect([frame.command, IM.Ws.ErrorNotice.decode(frame.body).errorCode]).toEqual([commandId + 1, WsError.ERR_AUTH_FAILED]);
      expect((await c.waitForClose()).code).toBe(1008);
    },
    tcp12: async (commandId) => {
      const c = await tcp12();
      expect((await c.requestRaw(commandId, new Uint8Array())).status).toBe(Tcp12Status.NOT_LOGGED_IN);
      await c.waitForClose();
    },
    msync: async (commandId) => {
      const c = await msync();
      const answer = c.waitFor(commandId);
      c.send(commandId, new Uint8Array());
      const payload = (await answer).payload;
      const status = commandId === MsyncCommand.UNREAD ? IM.MSync.CommUnreadDL.decode(payload).status : commandId === MsyncCommand.LOGOUT ? IM.MSync.Logout.decode(payload).status : IM.MSync.CommSyncDL.decode(payload).status;
      expect(status?.errorCode).toBe(MsyncError.UNAUTHORIZED);
      expect((await c.closed).code).toBe(1008);
    },
    omtp: async (commandId) => {
      const c = await omtpLogin();
      expect(await ask(c, commandId, undefined)).toBe(401);
    },
  };

  const tables: Record<FrontName, Record<string, Case>> = { teamtalk: teamtalkCases, ws: wsCases, tcp12: tcp12Cases, msync: msyncCases, omtp: omtpCases };

  describe.each(Object.keys(tables) as FrontName[])('%s front', (front) => {
    const commands = registeredCommands(front);

    it('has a case for every command it registers (a new command needs one here)', () => {
      expect(Object.keys(tables[front]).sort()).toEqual(commands.map((c) => c.name).sort());
    });

    it('refuses every command before login, except login and heartbeats', async () => {
      for (const c of commands.filter((x) => !x.beforeLogin)) await beforeLogin[front](c.commandId);
    });

    const runnable = Object.entries(tables[front]).filter((e): e is [string, () => Promise<void>] => typeof e[1] === 'function');
    it.each(runnable)('%s: another user\'s things are refused', async (_name, run) => {
      await run();
    });
  });

  // ------------------------------------------------------------------ operator API (login_server)

  /** Every operation of the operator API's own OpenAPI document, path parameters filled in. */
  const operatorOperations = async (): Promise<Array<{ method: string; url: string; isPublic: boolean }>> => {
    const doc = (await (await fetch(`${d.loginUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    return Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), url: `${d.loginUrl}${path.replace(/\{[^}]+\}/g, '1')}`, isPublic: Array.isArray(op.security) && op.security.length === 0 })),
    );
  };
  const operatorCall = async (op: { method: string; url: string }, token?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(op.url, { method: op.method, headers, body: op.method === 'GET' ? undefined : '{}' });
    return [`${op.method} ${op.url.slice(d.loginUrl.length)}`, res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
  };

  it('operator API: every route refuses no token and a chat user\'s token (401); a viewer\'s writes are 403', async () => {
    // The hand-picked routes are in admin-api.test.ts; here every route of the document, so a new one is covered.
    const ops = (await operatorOperations()).filter((op) => !op.isPublic);
    expect(ops.length).toBeGreaterThan(30);
    const chatToken = await fetchToken(d.loginUrl, w.mallory.name, PASSWORD);
    await d.ttctl('admin', 'add', `viewer_${mode}`, '--password', 'viewer-pw', '--role', 'viewer');
    const viewer = (await (await fetch(`${d.loginUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `viewer_${mode}`, password: 'viewer-pw' }) })).json()) as { token: string };
    for (const op of ops) {
      const name = `${op.method} ${op.url.slice(d.loginUrl.length)}`;
      expect(await operatorCall(op)).toEqual([name, 401, expect.any(String)]);
      expect(await operatorCall(op, chatToken)).toEqual([name, 401, 'invalid_token']);
      if (op.method !== 'GET') expect(await operatorCall(op, viewer.token)).toEqual([name, 403, 'forbidden']);
    }
  });

  it('login_server\'s Easemob contact list: a user reads only their own (403 forbidden_op); no token is 401', async () => {
    const contacts = (name: string) => `${d.loginUrl}/ttorg/ttapp/users/${encodeURIComponent(name)}/contacts/users`;
    const token = await fetchToken(d.loginUrl, w.mallory.name, PASSWORD);
    const asMallory = { headers: { authorization: `Bearer ${token}` } };
    const bobs = await fetch(contacts(w.bob.name), asMallory);
    expect([bobs.status, ((await bobs.json()) as { error: string }).error]).toEqual([403, 'forbidden_op']);
    expect((await fetch(contacts(w.bob.name))).status).toBe(401);
    expect((await fetch(contacts(w.mallory.name), asMallory)).status).toBe(200);
  });

  // ------------------------------------------------------------------ file_server's image store

  it('image store: an image is named by its bytes, so nobody can replace or remove another\'s (PUT/DELETE: 405)', async () => {
    const base = d.fileServers[0].httpUrl;
    const upload = async (bytes: Buffer) => {
      const form = new FormData();
      form.append('file', new Blob([bytes]), 'avatar.png');
      return ((await (await fetch(`${base}/`, { method: 'POST', body: form })).json()) as { error_code: number; url: string });
    };
    const bobs = await upload(PNG);
    expect(bobs.error_code).toBe(0);
    const mallorys = await upload(Buffer.concat([PNG, Buffer.from('mallory')]));
    expect(mallorys.url).not.toBe(bobs.url);
    for (const method of ['PUT', 'DELETE', 'PATCH']) expect([method, (await fetch(bobs.url, { method, body: method === 'DELETE' ? undefined : 'x' })).status]).toEqual([method, 405]);
    expect(Buffer.from(await (await fetch(bobs.url)).arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('after all that, Bob\'s things are as they were', async () => {
    const list = await w.ttBob.messageList(w.carol.id, 0, 20);
    expect(list.msgList.map((m) => m.msgId)).toEqual([w.bobCarolMsgId]);
    const group = await w.ttBob.messageList(w.groupId, 0, 20, SessionType.SESSION_TYPE_GROUP);
    expect(group.msgList.map((m) => [m.msgId, m.fromSessionId])).toEqual([[w.groupMsgId, w.bob.id]]);
    expect((await queryOfflineFiles(w.ttBob)).offlineFileList.map((r) => r.taskId)).toEqual([w.offlineTaskId]);
  });
});
