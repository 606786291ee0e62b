// Login family and presence across msg_servers: kicks, status, notifies, P2P.
import { IM } from '@tt/proto';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, arrivesWithin } from './support/fixtures';

jest.setTimeout(60_000);

const { LoginCmdID, BuddyListCmdID, SwitchServiceCmdID, ClientType, KickReasonType, UserStatType } = IM.BaseDefine;

describe.each<Mode>(MODES)('presence and the login family (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1 });
    f = new Fixture(d, `pres_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect(f.decodeErrors()).toEqual([]));

  it('a second PC login kicks the first (on another msg_server too); PC and mobile live side by side', async () => {
    const u = await f.newUser();
    const pc1 = await f.login(u, 0, ClientType.CLIENT_TYPE_WINDOWS);
    const phone = await f.login(u, 1, ClientType.CLIENT_TYPE_IOS);
    const kicked = pc1.waitFor<IM.Login.IMKickUser>(LoginCmdID.CID_LOGIN_KICK_USER);
    const pc2 = await f.login(u, 1, ClientType.CLIENT_TYPE_MAC);
    expect(await kicked).toEqual(expect.objectContaining({ userId: u.id, kickReason: KickReasonType.KICK_REASON_DUPLICATE_USER }));
    await pc1.waitForClose(5000);
    expect(phone.closed).toBe(false);
    expect(pc2.closed).toBe(false);
    const phoneKicked = phone.waitFor<IM.Login.IMKickUser>(LoginCmdID.CID_LOGIN_KICK_USER);
    await f.login(u, 0, ClientType.CLIENT_TYPE_ANDROID);
    expect((await phoneKicked).kickReason).toBe(KickReasonType.KICK_REASON_DUPLICATE_USER);
  });

  it('a mobile client kicks the PC client (reason MOBILE_KICK); a PC may not', async () => {
    const u = await f.newUser();
    const pc = await f.login(u, 0, ClientType.CLIENT_TYPE_WINDOWS);
    const phone = await f.login(u, 1, ClientType.CLIENT_TYPE_ANDROID);
    const refused = await pc.request<IM.Login.IMKickPCClientRsp>(LoginCmdID.CID_LOGIN_REQ_KICKPCCLIENT, IM.Login.IMKickPCClientReq, { userId: u.id });
    expect(refused.resultCode).not.toBe(0);
    const kicked = pc.waitFor<IM.Login.IMKickUser>(LoginCmdID.CID_LOGIN_KICK_USER);
    const rsp = await phone.request<IM.Login.IMKickPCClientRsp>(LoginCmdID.CID_LOGIN_REQ_KICKPCCLIENT, IM.Login.IMKickPCClientReq, { userId: u.id });
    expect(rsp).toEqual(expect.objectContaining({ userId: u.id, resultCode: 0 }));
    expect((await kicked).kickReason).toBe(KickReasonType.KICK_REASON_MOBILE_KICK);
    await pc.waitForClose(5000);
  });

  it('the mobile client hears when the PC logs in and out', async () => {
    const u = await f.newUser();
    const phone = await f.login(u, 0, ClientType.CLIENT_TYPE_IOS);
    const online = phone.waitFor<IM.Buddy.IMPCLoginStatusNotify>(BuddyListCmdID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY);
    const pc = await f.login(u, 1, ClientType.CLIENT_TYPE_WINDOWS);
    expect(await online).toEqual(expect.objectContaining({ userId: u.id, loginStat: UserStatType.USER_STATUS_ONLINE }));
    const offline = phone.waitFor<IM.Buddy.IMPCLoginStatusNotify>(BuddyListCmdID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, (m) => m.loginStat === UserStatType.USER_STATUS_OFFLINE);
    await pc.logout();
    expect((await offline).userId).toBe(u.id);
  });

  it('users status reflects every msg_server; PC clients get status notifies, mobile clients do not', async () => {
    const [watcher, phoneUser, other, away] = await f.newUsers(4);
    const pcWatcher = await f.login(watcher, 0, ClientType.CLIENT_TYPE_WINDOWS);
    const mobileWatcher = await f.login(watcher, 1, ClientType.CLIENT_TYPE_ANDROID);
    const cameOnline = pcWatcher.waitFor<IM.Buddy.IMUserStatNotify>(BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY, (m) => m.userStat.userId === other.id);
    const otherConn = await f.login(other, 1, ClientType.CLIENT_TYPE_MAC);
    expect((await cameOnline).userStat.status).toBe(UserStatType.USER_STATUS_ONLINE);
    const awayConn = await f.connect(1);
    await awayConn.login({ userName: away.name, password: 'secret', onlineStatus: UserStatType.USER_STATUS_LEAVE });

    const ask = async () =>
      (await pcWatcher.request<IM.Buddy.IMUsersStatRsp>(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, IM.Buddy.IMUsersStatReq, { userId: watcher.id, userIdList: [other.id, phoneUser.id, away.id, 999999] })).userStatList;
    await waitFor(async () => (await ask()).find((s) => s.userId === away.id)?.status === UserStatType.USER_STATUS_LEAVE);
    expect(await ask()).toEqual([
      expect.objectContaining({ userId: other.id, status: UserStatType.USER_STATUS_ONLINE }),
      expect.objectContaining({ userId: phoneUser.id, status: UserStatType.USER_STATUS_OFFLINE }),
      expect.objectContaining({ userId: away.id, status: UserStatType.USER_STATUS_LEAVE }),
      expect.objectContaining({ userId: 999999, status: UserStatType.USER_STATUS_OFFLINE }),
    ]);

    const wentOffline = pcWatcher.waitFor<IM.Buddy.IMUserStatNotify>(BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY, (m) => m.userStat.userId === other.id && m.userStat.status === UserStatType.USER_STATUS_OFFLINE);
    otherConn.close();
    await wentOffline;
    expect(await arrivesWithin(mobileWatcher, BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY, 300)).toBe(false);
  });

  it('a P2P command reaches the peer on any msg_server with the real sender, and is not stored', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a, 0);
    const cb = await f.login(b, 1);
    // A P2P command is never stored: it reaches those the sender's msg_server knows to be online, so
    // wait until that server has heard of b's login (presence travels between servers).
    await waitFor(async () => {
      const rsp = await ca.request<IM.Buddy.IMUsersStatRsp>(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, IM.Buddy.IMUsersStatReq, { userId: a.id, userIdList: [b.id] });
      return rsp.userStatList[0]?.status === UserStatType.USER_STATUS_ONLINE;
    });
    const got = cb.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD);
    ca.send(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg, { fromUserId: 424242, toUserId: b.id, cmdMsgData: '{"type":"typing"}' });
    expect(await got).toEqual(expect.objectContaining({ fromUserId: a.id, toUserId: b.id, cmdMsgData: '{"type":"typing"}' }));
    expect((await cb.unreadCounts()).totalCnt).toBe(0);
  });

  it('IMMsgServReq is still answered with an address', async () => {
    const c = await f.connect(0);
    const rsp = await c.request<IM.Login.IMMsgServRsp>(LoginCmdID.CID_LOGIN_REQ_MSGSERVER, IM.Login.IMMsgServReq, {});
    expect(rsp.resultCode).toBe(0);
    expect(rsp.priorIp).toBe('127.0.0.1');
    expect(rsp.port).toBe(d.msgServers[0].port);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
