// Buddy family and push settings: directory sync, sessions, profile changes.
import { IM } from '@tt/proto';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture } from './support/fixtures';

jest.setTimeout(60_000);

const { BuddyListCmdID, LoginCmdID, SessionType, ClientType } = IM.BaseDefine;

describe.each<Mode>(MODES)('directory, sessions and profile (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1 });
    f = new Fixture(d, `bud_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect(f.decodeErrors()).toEqual([]));

  it('all users and departments sync incrementally by latest_update_time', async () => {
    await d.ttctl('depart', 'add', `Sales_${mode}`);
    const u = await f.newUser('--depart', `Sales_${mode}`, '--nick', 'Sally');
    const c = await f.login(u);
    const all = await c.request<IM.Buddy.IMAllUserRsp>(BuddyListCmdID.CID_BUDDY_LIST_ALL_USER_REQUEST, IM.Buddy.IMAllUserReq, { userId: u.id, latestUpdateTime: 0 });
    const me = all.userList.find((x) => x.userId === u.id);
    expect(me).toEqual(expect.objectContaining({ userNickName: 'Sally', userDomain: '' }));
    expect(all.latestUpdateTime).toBeGreaterThan(0);
    const again = await c.request<IM.Buddy.IMAllUserRsp>(BuddyListCmdID.CID_BUDDY_LIST_ALL_USER_REQUEST, IM.Buddy.IMAllUserReq, { userId: u.id, latestUpdateTime: all.latestUpdateTime });
    expect(again.userList).toHaveLength(0);
    expect(again.latestUpdateTime).toBe(all.latestUpdateTime);

    const depts = await c.request<IM.Buddy.IMDepartmentRsp>(BuddyListCmdID.CID_BUDDY_LIST_DEPARTMENT_REQUEST, IM.Buddy.IMDepartmentReq, { userId: u.id, latestUpdateTime: 0 });
    const sales = depts.deptList.find((x) => x.deptName === `Sales_${mode}`);
    expect(sales).toEqual(expect.objectContaining({ deptStatus: 0, parentDeptId: 0 }));
    expect(me!.departmentId).toBe(sales!.deptId);
    const none = await c.request<IM.Buddy.IMDepartmentRsp>(BuddyListCmdID.CID_BUDDY_LIST_DEPARTMENT_REQUEST, IM.Buddy.IMDepartmentReq, { userId: u.id, latestUpdateTime: depts.latestUpdateTime });
    expect(none.deptList).toHaveLength(0);
  });

  it('users info returns known users and skips unknown ids', async () => {
    const [a, b] = await f.newUsers(2);
    const c = await f.login(a);
    const rsp = await c.request<IM.Buddy.IMUsersInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, IM.Buddy.IMUsersInfoReq, { userId: a.id, userIdList: [b.id, 987654] });
    expect(rsp.userInfoList.map((x) => x.userId)).toEqual([b.id]);
  });

  it('removing a session hides it from recent sessions and tells the other devices', async () => {
    const [a, b] = await f.newUsers(2);
    const pc = await f.login(a, 0);
    const phone = await f.login(a, 1, ClientType.CLIENT_TYPE_IOS);
    await pc.sendText(b.id, 'hello');
    const told = phone.waitFor<IM.Buddy.IMRemoveSessionNotify>(BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY);
    const rsp = await pc.request<IM.Buddy.IMRemoveSessionRsp>(BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_REQ, IM.Buddy.IMRemoveSessionReq, { userId: a.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: b.id });
    expect(rsp).toEqual(expect.objectContaining({ userId: a.id, resultCode: 0, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: b.id }));
    expect(await told).toEqual(expect.objectContaining({ userId: a.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: b.id }));
    const recent = await pc.request<IM.Buddy.IMRecentContactSessionRsp>(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, IM.Buddy.IMRecentContactSessionReq, { userId: a.id, latestUpdateTime: 0 });
    expect(recent.contactSessionList.filter((s) => s.sessionId === b.id && s.sessionStatus === 0)).toHaveLength(0);
  });

  it('avatar and signature changes are stored and announced to everyone online', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a, 0);
    const cb = await f.login(b, 1);
    const avatarSeen = cb.waitFor<IM.Buddy.IMAvatarChangedNotify>(BuddyListCmdID.CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY);
    const av = await ca.request<IM.Buddy.IMChangeAvatarRsp>(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, IM.Buddy.IMChangeAvatarReq, { userId: a.id, avatarUrl: 'http://img/a.png' });
    expect(av).toEqual(expect.objectContaining({ userId: a.id, resultCode: 0 }));
    expect(await avatarSeen).toEqual(expect.objectContaining({ changedUserId: a.id, avatarUrl: 'http://img/a.png' }));
    const signSeen = cb.waitFor<IM.Buddy.IMSignInfoChangedNotify>(BuddyListCmdID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY);
    const sg = await ca.request<IM.Buddy.IMChangeSignInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, IM.Buddy.IMChangeSignInfoReq, { userId: a.id, signInfo: 'out for lunch' });
    expect(sg).toEqual(expect.objectContaining({ userId: a.id, resultCode: 0, signInfo: 'out for lunch' }));
    expect(await signSeen).toEqual(expect.objectContaining({ changedUserId: a.id, signInfo: 'out for lunch' }));
    const info = await cb.request<IM.Buddy.IMUsersInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, IM.Buddy.IMUsersInfoReq, { userId: b.id, userIdList: [a.id] });
    expect(info.userInfoList[0]).toEqual(expect.objectContaining({ avatarUrl: 'http://img/a.png', signInfo: 'out for lunch' }));
    const tooLong = await ca.request<IM.Buddy.IMChangeSignInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, IM.Buddy.IMChangeSignInfoReq, { userId: a.id, signInfo: 'x'.repeat(1000) });
    expect(tooLong.resultCode).not.toBe(0);
  });

  it('device token and push shield are stored per user and answered with complete replies', async () => {
    const u = await f.newUser();
    const phone = await f.login(u, 0, ClientType.CLIENT_TYPE_IOS);
    const tok = await phone.request<IM.Login.IMDeviceTokenRsp>(LoginCmdID.CID_LOGIN_REQ_DEVICETOKEN, IM.Login.IMDeviceTokenReq, { userId: u.id, deviceToken: 'a'.repeat(64), clientType: ClientType.CLIENT_TYPE_IOS });
    expect(tok.userId).toBe(u.id);
    const query0 = await phone.request<IM.Login.IMQueryPushShieldRsp>(LoginCmdID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldReq, { userId: u.id });
    expect(query0).toEqual(expect.objectContaining({ userId: u.id, resultCode: 0, shieldStatus: 0 }));
    const set = await phone.request<IM.Login.IMPushShieldRsp>(LoginCmdID.CID_LOGIN_REQ_PUSH_SHIELD, IM.Login.IMPushShieldReq, { userId: u.id, shieldStatus: 1 });
    expect(set).toEqual(expect.objectContaining({ userId: u.id, resultCode: 0, shieldStatus: 1 }));
    const query1 = await phone.request<IM.Login.IMQueryPushShieldRsp>(LoginCmdID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldReq, { userId: u.id });
    expect(query1.shieldStatus).toBe(1);
  });

  it('requests naming another user act for the logged-in user only', async () => {
    const [a, victim, peer] = await f.newUsers(3);
    const cv = await f.login(victim, 0);
    await cv.sendText(peer.id, 'private');
    const ca = await f.login(a, 1);
    // a asks for victim's conversation with peer, and for victim's unread: gets only its own (empty) data.
    const list = await ca.request<IM.Message.IMGetMsgListRsp>(IM.BaseDefine.MessageCmdID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq, { userId: victim.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: peer.id, msgIdBegin: 0, msgCnt: 10 });
    expect(list.userId).toBe(a.id);
    expect(list.msgList).toHaveLength(0);
    const unread = await ca.request<IM.Message.IMUnreadMsgCntRsp>(IM.BaseDefine.MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq, { userId: peer.id });
    expect(unread.userId).toBe(a.id);
    expect(unread.totalCnt).toBe(0);
    const sign = await ca.request<IM.Buddy.IMChangeSignInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, IM.Buddy.IMChangeSignInfoReq, { userId: victim.id, signInfo: 'hacked' });
    expect(sign.userId).toBe(a.id);
    const info = await cv.request<IM.Buddy.IMUsersInfoRsp>(BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, IM.Buddy.IMUsersInfoReq, { userId: victim.id, userIdList: [victim.id] });
    expect(info.userInfoList[0].signInfo).toBe('');
    // An absurd page size is capped, not obeyed.
    const big = await cv.request<IM.Message.IMGetMsgListRsp>(IM.BaseDefine.MessageCmdID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq, { userId: victim.id, sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: peer.id, msgIdBegin: 0, msgCnt: 1_000_000 });
    expect(big.msgList).toHaveLength(1);
  });
});
