// Mobile push for offline users, end to end: real TeamTalk clients register
// device tokens and send messages; push_server (its own process in cluster
// mode, in-process in standalone mode) notifies fake APNs and FCM servers on
// 127.0.0.1 that check JWTs, paths, headers and bodies as Apple and Google do.
import { IM, DbProxyService, type DbProxyClient } from '@tt/proto';
import { OmtpClient, encryptContent, type TeamTalkClient } from '@tt/client';
import * as omtp from '@tt/omtp';
import { createRpcClient } from '@tt/rpc';
import { FakeApnsServer, FakeFcmServer, makeTestCredentials, testDeviceToken, type TestCredentials } from '@tt/push';
import { MODES, describeLocal, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { LoginCmdID, BuddyListCmdID, GroupCmdID, ClientType, MsgType, UserStatType } = IM.BaseDefine;
const CONTENT_KEY = '12345678901234567890123456789012'; // what stock clients use (and encryptContent's default)
const TOPIC = 'com.example.teamtalk';
const PROJECT = 'tt-push-e2e';

describeLocal.each<Mode>(MODES)('push notifications (%s mode)', (mode) => {
  let creds: TestCredentials;
  let apns: FakeApnsServer;
  let fcm: FakeFcmServer;
  let d: Deployment;
  let f: Fixture;
  let db: DbProxyClient & { close(): void };
  let alice: TestUser;
  let sender: TeamTalkClient;
  let sentinel: { user: TestUser; token: string };
  let n = 0;
  const phoneServer = mode === 'cluster' ? 1 : 0;

  beforeAll(async () => {
    creds = makeTestCredentials({ projectId: PROJECT });
    apns = await new FakeApnsServer({ publicKey: creds.apns.publicKey, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC }).start();
    fcm = await new FakeFcmServer({ publicKey: creds.fcm.publicKey, clientEmail: creds.fcm.serviceAccount.client_email, projectId: PROJECT }).start();
    d = await startDeployment(mode, {
      msgServers: mode === 'cluster' ? 2 : 1,
      env: {
        PUSH_APNS_URL: apns.url,
        PUSH_APNS_KEY_FILE: creds.apns.keyFile,
        PUSH_APNS_KEY_ID: creds.apns.keyId,
        PUSH_APNS_TEAM_ID: creds.apns.teamId,
        PUSH_APNS_TOPIC: TOPIC,
        PUSH_FCM_CREDENTIALS_FILE: creds.fcm.credentialsFile,
        PUSH_FCM_URL: fcm.url,
        PUSH_FCM_TOKEN_URL: fcm.tokenUrl,
        PUSH_CONTENT_KEY: CONTENT_KEY,
        // One job at a time: a later job's notification proves an earlier one produced none.
        PUSH_CONCURRENCY: '1',
        PUSH_MAX_ATTEMPTS: '3',
        PUSH_RETRY_INITIAL_MS: '100',
        PUSH_RETRY_MAX_MS: '400',
      },
    });
    f = new Fixture(d, `push_${mode}_`);
    const dbPort = (mode === 'cluster' ? d.role('db_proxy') : d.role('standalone')).env.DB_PROXY_PORT;
    db = createRpcClient<DbProxyClient>(DbProxyService, `127.0.0.1:${dbPort}`, { timeoutMs: 5000 });
    alice = await f.newUser('--nick', 'Alice');
    sender = await f.login(alice, 0);
    sentinel = { user: await f.newUser(), token: `sentinel-${mode}` };
    await registerPhone(sentinel.user, ClientType.CLIENT_TYPE_ANDROID, sentinel.token);
  }, 120_000);

  afterAll(async () => {
    f?.closeAll();
    db?.close();
    await d?.stop();
    await apns?.close();
    await fcm?.close();
    creds?.cleanup();
  });

  afterEach(() => expect(f.decodeErrors()).toEqual([]));

  const apnsTo = (token: string) => apns.delivered.filter((x) => x.deviceToken === token);
  const apnsRequestsTo = (token: string) => apns.requests.filter((r) => r.path === `/3/device/${token}`);
  const fcmTo = (token: string) => fcm.delivered.filter((x) => x.message.token === token);
  const fcmRequestsTo = (token: string) => fcm.requests.filter((r) => r.body.includes(JSON.stringify(token)));

  async function statusSeenBySender(userId: number): Promise<number> {
    const rsp = await sender.request<IM.Buddy.IMUsersStatRsp>(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, IM.Buddy.IMUsersStatReq, { userId: alice.id, userIdList: [userId] });
    return rsp.userStatList[0].status;
  }

  /** Logs the user in on a phone, registers its token (and runs `also`), logs out, and waits until the sender's msg_server knows the phone is gone. */
  async function registerPhone(user: TestUser, clientType: number, token: string, also?: (phone: TeamTalkClient) => Promise<void>): Promise<void> {
    const phone = await f.login(user, phoneServer, clientType);
    await phone.request<IM.Login.IMDeviceTokenRsp>(LoginCmdID.CID_LOGIN_REQ_DEVICETOKEN, IM.Login.IMDeviceTokenReq, { userId: user.id, deviceToken: token, clientType });
    await also?.(phone);
    await phone.logout().catch(() => undefined);
    phone.close();
    await waitUntil(async () => (await statusSeenBySender(user.id)) === UserStatType.USER_STATUS_OFFLINE, 10_000, 'the phone to be offline for the sender');
  }

  async function phoneUser(clientType: number, token: string, nick?: string, also?: (phone: TeamTalkClient) => Promise<void>): Promise<TestUser> {
    const user = nick ? await f.newUser('--nick', nick) : await f.newUser();
    await registerPhone(user, clientType, token, also);
    return user;
  }

  /** Everything queued before now has been handled: a notification sent after it has arrived. */
  async function drained(): Promise<void> {
    const text = `sentinel ${++n}`;
    await sender.sendText(sentinel.user.id, text);
    await waitUntil(() => fcmTo(sentinel.token).some((x) => (x.message.notification as { body: string }).body === `Alice: ${text}`), 15_000, 'the sentinel notification');
  }

  async function tokensOf(userId: number): Promise<string[]> {
    const rsp = await db.getDeviceTokens({ userId: [userId] });
    return rsp.userTokenInfo.map((t) => t.token);
  }

  async function metric(name: string, labels: string): Promise<number> {
    const port = (mode === 'cluster' ? d.role('push_server') : d.role('standalone')).adminPort;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('an offline iPhone gets "<sender>: <text>" through APNs with the unread count as badge', async () => {
    const token = testDeviceToken();
    const bob = await phoneUser(ClientType.CLIENT_TYPE_IOS, token);
    await sender.sendText(bob.id, 'first');
    // The badge is the unread count when the notification is made: wait, so that it is 1 here.
    await waitUntil(() => apnsTo(token).length === 1, 15_000, 'the first APNs notification');
    await sender.sendText(bob.id, 'are you there?');
    await waitUntil(() => apnsTo(token).length === 2, 15_000, 'two APNs notifications');
    const [first, second] = apnsTo(token);
    expect(first.payload.aps).toEqual({ alert: { body: 'Alice: first' }, badge: 1, sound: 'default' });
    expect(second.payload.aps).toEqual({ alert: { body: 'Alice: are you there?' }, badge: 2, sound: 'default' });
    expect(second.payload).toMatchObject({ session_type: '1', session_id: String(alice.id) });
    expect(second.headers).toMatchObject({ 'apns-topic': TOPIC, 'apns-push-type': 'alert', 'apns-priority': '10' });
    // Expires a day after the message was stored.
    expect(Number(second.headers['apns-expiration'])).toBeGreaterThan(Date.now() / 1000 + 86_000);
    expect(second.jwt.header).toMatchObject({ alg: 'ES256', kid: creds.apns.keyId });
    expect(second.jwt.claims).toMatchObject({ iss: creds.apns.teamId });
  });

  it('an offline Android phone gets it through FCM (OAuth2 token, v1 message with badge)', async () => {
    const token = `fcm-carol-${mode}`;
    const carol = await phoneUser(ClientType.CLIENT_TYPE_ANDROID, token);
    await sender.sendText(carol.id, 'hi carol');
    await waitUntil(() => fcmTo(token).length === 1, 15_000, 'the FCM notification');
    const [m] = fcmTo(token);
    expect(m.projectId).toBe(PROJECT);
    expect(fcm.issuedTokens).toContain(m.accessToken);
    expect(m.message).toMatchObject({
      token,
      notification: { body: 'Alice: hi carol' },
      android: { priority: 'HIGH', notification: { notification_count: 1 } },
      apns: { payload: { aps: { badge: 1 } } },
      data: { session_type: '1', session_id: String(alice.id) },
    });
  });

  it('no push while the recipient has a phone online; a PC alone does not count', async () => {
    const token = testDeviceToken();
    const dan = await phoneUser(ClientType.CLIENT_TYPE_IOS, token);
    const phone = await f.login(dan, phoneServer, ClientType.CLIENT_TYPE_IOS);
    await waitUntil(async () => (await statusSeenBySender(dan.id)) === UserStatType.USER_STATUS_ONLINE, 10_000, 'the phone to be online for the sender');
    const got = phone.waitFor<IM.Message.IMMsgData>(IM.BaseDefine.MessageCmdID.CID_MSG_DATA);
    await sender.sendText(dan.id, 'you are online');
    await got;
    await drained();
    expect(apnsRequestsTo(token)).toHaveLength(0);

    phone.close();
    await waitUntil(async () => (await statusSeenBySender(dan.id)) === UserStatType.USER_STATUS_OFFLINE, 10_000, 'the phone to be gone');
    const pc = await f.login(dan, phoneServer, ClientType.CLIENT_TYPE_WINDOWS);
    await waitUntil(async () => (await statusSeenBySender(dan.id)) === UserStatType.USER_STATUS_ONLINE, 10_000, 'the PC to be online for the sender');
    await sender.sendText(dan.id, 'only your PC is on');
    await waitUntil(() => apnsTo(token).length === 1, 15_000, 'the notification');
    expect(apnsTo(token)[0].payload.aps.alert).toEqual({ body: 'Alice: only your PC is on' });
    pc.close();
  });

  it('a user who shielded push gets none', async () => {
    const token = testDeviceToken();
    const quiet = await phoneUser(ClientType.CLIENT_TYPE_IOS, token, undefined, async (phone) => {
      const rsp = await phone.request<IM.Login.IMPushShieldRsp>(LoginCmdID.CID_LOGIN_REQ_PUSH_SHIELD, IM.Login.IMPushShieldReq, { userId: phone.userId, shieldStatus: 1 });
      expect(rsp.resultCode).toBe(0);
    });
    await sender.sendText(quiet.id, 'shh');
    await drained();
    expect(apnsRequestsTo(token)).toHaveLength(0);
  });

  it('a session muted over OMTP (session attribute mute) gets no push; the user\'s other sessions still do', async () => {
    const token = `fcm-muter-${mode}`;
    const muter = await phoneUser(ClientType.CLIENT_TYPE_ANDROID, token);
    const other = await f.newUser('--nick', 'Olga');
    const otherClient = await f.login(other, 0);
    // The muter's desktop (OMTP) mutes the conversation with Alice; it then logs out, leaving no one online.
    const ms = d.msgServers[phoneServer];
    const desk = await OmtpClient.connect(ms.host, ms.omtpPort!);
    expect((await desk.login(muter.name, PASSWORD, omtp.DeviceType.DEVICE_WINDOWS)).code).toBe(0);
    const session = [alice.name, muter.name].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).join('_');
    const set = await desk.request<omtp.CommonErrorCode, omtp.SessionAttrSetReq>(omtp.PackType.PT_SESSIONATTRIBUTE_SET, omtp.SessionAttrSetReq, { userId: muter.name, sessionId: `si_${session}`, attrName: 'mute', attrValue: '1' });
    expect(set.body.code).toBe(0);
    desk.close();
    await waitUntil(async () => (await statusSeenBySender(muter.id)) === UserStatType.USER_STATUS_OFFLINE, 10_000, 'the desktop to be offline');

    await sender.sendText(muter.id, 'muted chat');
    await otherClient.sendText(muter.id, 'not muted');
    const bodies = () => fcmTo(token).map((x) => (x.message.notification as { body: string }).body);
    await waitUntil(() => bodies().includes('Olga: not muted'), 15_000, 'the unmuted session\'s notification');
    await drained();
    expect(bodies()).toEqual(['Olga: not muted']);
    otherClient.close();
  });

  it('group message: "<group> <sender>: <text>" to members, except one who shielded the group', async () => {
    const iosToken = testDeviceToken();
    const andToken = `fcm-erin-${mode}`;
    const dave = await phoneUser(ClientType.CLIENT_TYPE_IOS, iosToken);
    const erin = await phoneUser(ClientType.CLIENT_TYPE_ANDROID, andToken);
    const out = await d.ttctl('group', 'create', `Ops_${mode}`, '--owner', alice.name, '--members', `${dave.name},${erin.name}`);
    const groupId = Number(/id (\d+)/.exec(out)![1]);
    const erinPhone = await f.login(erin, phoneServer, ClientType.CLIENT_TYPE_ANDROID);
    const shield = await erinPhone.request<IM.Group.IMGroupShieldRsp>(GroupCmdID.CID_GROUP_SHIELD_GROUP_REQUEST, IM.Group.IMGroupShieldReq, { userId: erin.id, groupId, shieldStatus: 1 });
    expect(shield.resultCode).toBe(0);
    erinPhone.close();
    await waitUntil(async () => (await statusSeenBySender(erin.id)) === UserStatType.USER_STATUS_OFFLINE, 10_000, "erin's phone to be offline");

    await sender.sendMessage(groupId, MsgType.MSG_TYPE_GROUP_TEXT, encryptContent('standup in 5'));
    await waitUntil(() => apnsTo(iosToken).length === 1, 15_000, "dave's notification");
    expect(apnsTo(iosToken)[0].payload.aps).toMatchObject({ alert: { body: `Ops_${mode} Alice: standup in 5` }, badge: 1 });
    expect(apnsTo(iosToken)[0].payload).toMatchObject({ session_type: '2', session_id: String(groupId) });
    await drained();
    expect(fcmRequestsTo(andToken)).toHaveLength(0);
  });

  it('a 5xx from APNs is retried with back-off until the notification goes through', async () => {
    const token = testDeviceToken();
    const frank = await phoneUser(ClientType.CLIENT_TYPE_IOS, token);
    apns.failNext(2, 503, { reason: 'ServiceUnavailable' });
    await sender.sendText(frank.id, 'eventually');
    await waitUntil(() => apnsTo(token).length === 1, 15_000, 'the notification after retries');
    expect(apnsRequestsTo(token).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(apnsTo(token)[0].payload.aps.alert).toEqual({ body: 'Alice: eventually' });
  });

  it('a dead token (APNs 410, FCM UNREGISTERED) is deleted: GetDeviceTokens shows none and later messages send nothing', async () => {
    const iosToken = testDeviceToken();
    const andToken = `fcm-gone-${mode}`;
    const gus = await phoneUser(ClientType.CLIENT_TYPE_IOS, iosToken);
    const hal = await phoneUser(ClientType.CLIENT_TYPE_ANDROID, andToken);
    expect(await tokensOf(gus.id)).toEqual([iosToken]);
    apns.markDead(iosToken);
    fcm.markDead(andToken);
    await sender.sendText(gus.id, 'hello?');
    await sender.sendText(hal.id, 'hello?');
    await waitUntil(async () => (await tokensOf(gus.id)).length === 0 && (await tokensOf(hal.id)).length === 0, 15_000, 'the tokens to be removed');
    expect(apnsRequestsTo(iosToken).map((r) => r.status)).toEqual([410]);
    expect(fcmRequestsTo(andToken).map((r) => r.status)).toEqual([404]);
    expect(await metric('tt_push_tokens_removed_total', 'provider="apns"')).toBeGreaterThanOrEqual(1);

    await sender.sendText(gus.id, 'anyone?');
    await sender.sendText(hal.id, 'anyone?');
    await drained();
    expect(apnsRequestsTo(iosToken)).toHaveLength(1);
    expect(fcmRequestsTo(andToken)).toHaveLength(1);
  });

  it('a notification that keeps failing is dead-lettered after PUSH_MAX_ATTEMPTS and counted', async () => {
    const token = testDeviceToken();
    const ida = await phoneUser(ClientType.CLIENT_TYPE_IOS, token);
    const before = await metric('tt_push_dead_letters_total', 'queue="send"');
    apns.failNext(3, 500, { reason: 'InternalServerError' });
    await sender.sendText(ida.id, 'doomed');
    await waitUntil(async () => (await metric('tt_push_dead_letters_total', 'queue="send"')) === before + 1, 15_000, 'the dead-letter count');
    expect(apnsRequestsTo(token).map((r) => r.status)).toEqual([500, 500, 500]);
    await drained();
    expect(apnsRequestsTo(token)).toHaveLength(3);
    expect(await tokensOf(ida.id)).toEqual([token]);
  });
});
