// Groups: create, list, details by version, members, shield, and group chat
// across msg_servers with per-member unread and join-limited history.
import { IM } from '@tt/proto';
import { encryptContent, decryptContent, type TeamTalkClient } from '@tt/client';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, arrivesWithin, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { GroupCmdID, MessageCmdID, GroupType, GroupModifyType, MsgType, SessionType, ClientType } = IM.BaseDefine;

describe.each<Mode>(MODES)('groups (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1 });
    f = new Fixture(d, `grp_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect(f.decodeErrors()).toEqual([]));

  const create = (c: TeamTalkClient, type: number, name: string, members: number[]) =>
    c.request<IM.Group.IMGroupCreateRsp>(GroupCmdID.CID_GROUP_CREATE_REQUEST, IM.Group.IMGroupCreateReq, { userId: c.userId, groupType: type, groupName: name, groupAvatar: '', memberIdList: members });

  const change = (c: TeamTalkClient, groupId: number, type: number, members: number[]) =>
    c.request<IM.Group.IMGroupChangeMemberRsp>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_REQUEST, IM.Group.IMGroupChangeMemberReq, { userId: c.userId, changeType: type, groupId, memberIdList: members });

  const info = (c: TeamTalkClient, versions: Array<{ groupId: number; version: number }>) =>
    c.request<IM.Group.IMGroupInfoListRsp>(GroupCmdID.CID_GROUP_INFO_REQUEST, IM.Group.IMGroupInfoListReq, { userId: c.userId, groupVersionList: versions });

  const sendGroup = (c: TeamTalkClient, groupId: number, text: string) => c.sendMessage(groupId, MsgType.MSG_TYPE_GROUP_TEXT, encryptContent(text));

  async function team(n: number): Promise<{ users: TestUser[]; clients: TeamTalkClient[] }> {
    const users = await f.newUsers(n);
    const clients: TeamTalkClient[] = [];
    for (let i = 0; i < n; i++) clients.push(await f.login(users[i], i));
    return { users, clients };
  }

  it('creates a normal group: the creator is a member, everyone sees it in the list and gets details only when their version is old', async () => {
    const { users, clients } = await team(3);
    const rsp = await create(clients[0], GroupType.GROUP_TYPE_NORMAL, 'Engineering', [users[1].id, users[2].id, users[1].id]);
    expect(rsp).toEqual(expect.objectContaining({ userId: users[0].id, resultCode: 0, groupName: 'Engineering' }));
    expect([...rsp.userIdList].sort((a, b) => a - b)).toEqual(users.map((u) => u.id));
    const groupId = rsp.groupId;

    const list = await clients[2].request<IM.Group.IMNormalGroupListRsp>(GroupCmdID.CID_GROUP_NORMAL_LIST_REQUEST, IM.Group.IMNormalGroupListReq, { userId: users[2].id });
    const entry = list.groupVersionList.find((g) => g.groupId === groupId);
    expect(entry?.version).toBeGreaterThanOrEqual(1);

    const full = await info(clients[2], [{ groupId: groupId!, version: 0 }]);
    expect(full.groupInfoList).toHaveLength(1);
    expect(full.groupInfoList[0]).toEqual(expect.objectContaining({ groupId, groupName: 'Engineering', groupCreatorId: users[0].id, groupType: GroupType.GROUP_TYPE_NORMAL, shieldStatus: 0 }));
    expect([...(full.groupInfoList[0].groupMemberList ?? [])].sort((a, b) => a - b)).toEqual(users.map((u) => u.id));
    expect((await info(clients[2], [{ groupId, version: entry!.version }])).groupInfoList).toHaveLength(0);

    const outsider = await f.login(await f.newUser(), 0);
    expect((await info(outsider, [{ groupId, version: 0 }])).groupInfoList).toHaveLength(0);
  });

  it('a group an operator creates with ttctl reaches its members at once, and so do members the operator adds', async () => {
    const { users, clients } = await team(3);
    const out = await d.ttctl('group', 'create', 'Company news', '--owner', users[0].name, '--members', users[1].name);
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const list = await clients[1].request<IM.Group.IMNormalGroupListRsp>(GroupCmdID.CID_GROUP_NORMAL_LIST_REQUEST, IM.Group.IMNormalGroupListReq, { userId: users[1].id });
    expect(list.groupVersionList.map((g) => g.groupId)).toContain(groupId);
    const arrived = clients[1].waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    await sendGroup(clients[0], groupId, 'welcome');
    expect((await arrived).fromUserId).toBe(users[0].id);

    await d.ttctl('group', 'add', String(groupId), '--members', users[2].name);
    const toNewcomer = clients[2].waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    await sendGroup(clients[0], groupId, 'meet our new colleague');
    expect((await toNewcomer).fromUserId).toBe(users[0].id);
    const toOwner = clients[0].waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    const ack = await sendGroup(clients[2], groupId, 'hi all');
    expect((await toOwner).msgId).toBe(ack.msgId);

    await d.ttctl('group', 'remove', String(groupId), '--members', users[2].name);
    const afterRemoval = arrivesWithin(clients[2], MessageCmdID.CID_MSG_DATA, 1000, (m) => m.toSessionId === groupId && m.msgId > ack.msgId);
    const toMember = clients[1].waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId && m.msgId > ack.msgId);
    await sendGroup(clients[0], groupId, 'after removal');
    await toMember;
    expect(await afterRemoval).toBe(false);
  });

  it('refuses a group without a name or members', async () => {
    const { clients } = await team(1);
    expect((await create(clients[0], GroupType.GROUP_TYPE_TMP, '', [1])).resultCode).not.toBe(0);
    expect((await create(clients[0], GroupType.GROUP_TYPE_TMP, 'empty', [])).resultCode).not.toBe(0);
  });

  it('group chat: members on every msg_server get it (the sender only on other devices), unread per member, non-members cannot post', async () => {
    const { users, clients } = await team(3);
    const senderPhone = await f.login(users[0], 1, ClientType.CLIENT_TYPE_ANDROID);
    const { groupId } = await create(clients[0], GroupType.GROUP_TYPE_TMP, 'lunch', [users[1].id, users[2].id]);
    const arrivals = [clients[1], clients[2], senderPhone].map((c) => c.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId));
    const ack = await sendGroup(clients[0], groupId, 'noodles?');
    expect(ack).toEqual(expect.objectContaining({ userId: users[0].id, sessionId: groupId, msgId: 1, sessionType: SessionType.SESSION_TYPE_GROUP }));
    for (const m of await Promise.all(arrivals)) {
      expect(m).toEqual(expect.objectContaining({ fromUserId: users[0].id, toSessionId: groupId, msgId: 1, msgType: MsgType.MSG_TYPE_GROUP_TEXT }));
      expect(decryptContent(m.msgData)).toBe('noodles?');
    }
    expect(await arrivesWithin(clients[0], MessageCmdID.CID_MSG_DATA, 300)).toBe(false);
    expect((await sendGroup(clients[1], groupId, 'yes')).msgId).toBe(2);

    const unread = await clients[2].unreadCounts();
    expect(unread.unreadinfoList.find((u) => u.sessionId === groupId)).toEqual(expect.objectContaining({ sessionType: SessionType.SESSION_TYPE_GROUP, unreadCnt: 2, latestMsgId: 2, latestMsgFromUserId: users[1].id }));
    const own = await clients[0].unreadCounts();
    expect(own.unreadinfoList.find((u) => u.sessionId === groupId)?.unreadCnt).toBe(1);

    const outsider = await f.login(await f.newUser(), 0);
    await expect(outsider.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: 0, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('let me in') }, 800)).rejects.toThrow(/no response/);
    expect((await outsider.messageList(groupId, 0, 10, SessionType.SESSION_TYPE_GROUP)).msgList).toHaveLength(0);
  });

  it('members join and leave with notifies to everyone involved; a newcomer sees only messages after joining; read ack and latest id work for groups', async () => {
    const { users, clients } = await team(4);
    const [owner, member, newcomer, stranger] = clients;
    const { groupId } = await create(owner, GroupType.GROUP_TYPE_TMP, 'project', [users[1].id]);
    await sendGroup(owner, groupId, 'before you came');

    const newcomerHears = newcomer.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY);
    const added = await change(member, groupId, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [users[2].id]);
    expect(added).toEqual(expect.objectContaining({ resultCode: 0, groupId, changeType: GroupModifyType.GROUP_MODIFY_TYPE_ADD, chgUserIdList: [users[2].id] }));
    expect([...added.curUserIdList].sort((a, b) => a - b)).toEqual([users[0].id, users[1].id, users[2].id]);
    expect(await newcomerHears).toEqual(expect.objectContaining({ userId: users[1].id, groupId, chgUserIdList: [users[2].id] }));
    expect(await arrivesWithin(member, GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, 300)).toBe(false);

    await sendGroup(owner, groupId, 'welcome');
    const history = await newcomer.messageList(groupId, 0, 10, SessionType.SESSION_TYPE_GROUP);
    expect(history.msgList.map((m) => decryptContent(m.msgData))).toEqual(['welcome']);
    const latest = await newcomer.request<IM.Message.IMGetLatestMsgIdRsp>(MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_REQ, IM.Message.IMGetLatestMsgIdReq, { userId: 0, sessionType: SessionType.SESSION_TYPE_GROUP, sessionId: groupId });
    expect(latest.latestMsgId).toBe(2);
    newcomer.readAck(groupId, 2, SessionType.SESSION_TYPE_GROUP);
    await waitUntilZero(newcomer, groupId);

    // A member other than the creator may not remove others; the creator may; a stranger may do nothing.
    expect((await change(member, groupId, GroupModifyType.GROUP_MODIFY_TYPE_DEL, [users[2].id])).resultCode).not.toBe(0);
    expect((await change(stranger, groupId, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [users[3].id])).resultCode).not.toBe(0);
    const removedHears = newcomer.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (n) => n.changeType === GroupModifyType.GROUP_MODIFY_TYPE_DEL);
    const removed = await change(owner, groupId, GroupModifyType.GROUP_MODIFY_TYPE_DEL, [users[2].id]);
    expect(removed).toEqual(expect.objectContaining({ resultCode: 0, chgUserIdList: [users[2].id] }));
    expect((await removedHears).chgUserIdList).toEqual([users[2].id]);
    await expect(newcomer.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: 0, toSessionId: groupId, msgId: 0, createTime: 0, msgType: MsgType.MSG_TYPE_GROUP_TEXT, msgData: encryptContent('still here?') }, 800)).rejects.toThrow(/no response/);
  });

  it('a normal group only changes by its creator; shield is per member and bumps the version', async () => {
    const { users, clients } = await team(3);
    const { groupId } = await create(clients[0], GroupType.GROUP_TYPE_NORMAL, 'all hands', [users[1].id]);
    expect((await change(clients[1], groupId, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [users[2].id])).resultCode).not.toBe(0);
    expect((await change(clients[0], groupId, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [users[2].id])).resultCode).toBe(0);
    const before = (await info(clients[1], [{ groupId, version: 0 }])).groupInfoList[0];
    const shield = await clients[1].request<IM.Group.IMGroupShieldRsp>(GroupCmdID.CID_GROUP_SHIELD_GROUP_REQUEST, IM.Group.IMGroupShieldReq, { userId: 0, groupId, shieldStatus: 1 });
    expect(shield).toEqual(expect.objectContaining({ userId: users[1].id, groupId, resultCode: 0 }));
    const after = (await info(clients[1], [{ groupId, version: before.version }])).groupInfoList[0];
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.shieldStatus).toBe(1);
    expect((await info(clients[0], [{ groupId, version: 0 }])).groupInfoList[0].shieldStatus).toBe(0);
    // Shield silences push only: delivery goes on.
    const arrival = clients[1].waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === groupId);
    await sendGroup(clients[0], groupId, 'still delivered');
    expect(decryptContent((await arrival).msgData)).toBe('still delivered');
  });
});

async function waitUntilZero(c: TeamTalkClient, sessionId: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const unread = await c.unreadCounts();
    if (!unread.unreadinfoList.some((u) => u.sessionId === sessionId)) return;
    if (Date.now() > deadline) throw new Error('unread not cleared');
    await new Promise((r) => setTimeout(r, 100));
  }
}
