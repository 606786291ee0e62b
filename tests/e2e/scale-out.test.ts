// msg_server scales out: three msg_server processes behind one login_server,
// users spread over them, chatting as if on one server; and what an operator
// does to a cluster (a crash, a rolling update, restarting route_server or a
// db_proxy replica) loses nothing a sender was told is stored.
import { IM } from '@tt/proto';
import { encryptContent, fetchMsgServer } from '@tt/client';
import { describeLocal, restartRole, stopRole, waitUntil, type Deployment } from './support/deployment';
import { Fixture, type TestUser } from './support/fixtures';
import { lostMessages, startFlow, type Pair } from './support/roaming-client';
import { usersStat, useRoamingCluster } from './support/roaming-cluster';

jest.setTimeout(120_000);

const { GroupCmdID, LoginCmdID, MessageCmdID, ClientType, GroupType, KickReasonType, MsgType, UserStatType } = IM.BaseDefine;

/** msg_servers report every 500 ms in these tests; one is dead after 3 missed reports. */
const REPORT_INTERVAL_MS = 500;
/** The bound we promise for presence after a crash (3 reports + a sweep, with margin for a loaded CI machine). */
const PRESENCE_BOUND_MS = 6_000;

async function portsHandedOut(d: Deployment, asks: number): Promise<Set<number>> {
  const ports = new Set<number>();
  for (let i = 0; i < asks; i++) {
    const answer = await fetchMsgServer(d.loginUrl);
    if (answer.code === 0) ports.add(Number(answer.port));
  }
  return ports;
}

describeLocal('three msg_servers (and two route_servers, two db_proxies) chat as one (cluster mode)', () => {
  const cluster = useRoamingCluster('scale_', { msgServers: 3, routeServers: 2, dbProxies: 2, env: { MSG_SERVER_REPORT_INTERVAL_MS: String(REPORT_INTERVAL_MS) } }, { startTimeoutMs: 90_000 });
  let d: Deployment;
  let f: Fixture;
  beforeAll(() => {
    ({ d, f } = cluster);
  });

  const roam = (user: TestUser, clientType: number = ClientType.CLIENT_TYPE_WINDOWS) => cluster.roam(user, { clientType });

  it('login_server spreads users over every msg_server, and they chat across servers', async () => {
    const users = await f.newUsers(6);
    const clients = await Promise.all(users.map((u) => roam(u)));
    expect(new Set(clients.map((c) => c.port)).size).toBe(3);

    // Everyone sends to the next user, wherever each of them is.
    for (let i = 0; i < clients.length; i++) {
      const to = clients[(i + 1) % clients.length];
      const arrived = to.client.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === users[i].id);
      const ack = await clients[i].client.sendText(to.user.id, `hello from ${users[i].name}`);
      expect((await arrived).msgId).toBe(ack.msgId);
    }
  });

  it('a group with members on all three servers: every member and the sender’s other device get each message', async () => {
    const [owner, a, b] = await f.newUsers(3);
    const ownerPc = await f.login(owner, 0, ClientType.CLIENT_TYPE_WINDOWS);
    const ownerPhone = await f.login(owner, 1, ClientType.CLIENT_TYPE_ANDROID);
    const aPc = await f.login(a, 1);
    const bPc = await f.login(b, 2);
    const created = await ownerPc.request<IM.Group.IMGroupCreateRsp>(GroupCmdID.CID_GROUP_CREATE_REQUEST, IM.Group.IMGroupCreateReq, {
      userId: owner.id,
      groupType: GroupType.GROUP_TYPE_TMP,
      groupName: 'three servers',
      groupAvatar: '',
      memberIdList: [a.id, b.id],
    });
    expect(created.resultCode).toBe(0);
    const groupId = created.groupId!;
    const isOurs = (m: IM.Message.IMMsgData) => m.toSessionId === groupId;
    const arrivals = [ownerPhone, aPc, bPc].map((c) => c.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, isOurs));
    const ack = await ownerPc.sendMessage(groupId, MsgType.MSG_TYPE_GROUP_TEXT, encryptContent('to all servers'));
    for (const m of await Promise.all(arrivals)) expect(m).toEqual(expect.objectContaining({ msgId: ack.msgId, fromUserId: owner.id }));
  });

  it('a duplicate login on another msg_server kicks the first; status reflects every server', async () => {
    const [u, watcher, far] = await f.newUsers(3);
    const first = await f.login(u, 0);
    const w = await f.login(watcher, 1);
    await f.login(far, 2);
    // Presence travels between servers as events: it converges within moments.
    const bothOnline = async () => [...(await usersStat(w, [u.id, far.id])).values()].every((s) => s === UserStatType.USER_STATUS_ONLINE);
    await waitUntil(bothOnline, 2000, 'both users to be online as seen from the third server');
    const kicked = first.waitFor<IM.Login.IMKickUser>(LoginCmdID.CID_LOGIN_KICK_USER);
    await f.login(u, 2);
    expect((await kicked).kickReason).toBe(KickReasonType.KICK_REASON_DUPLICATE_USER);
    await first.waitForClose(5000);
    await waitUntil(bothOnline, 2000, 'the user to stay online (now on another server)');
  });
});

describeLocal('operating a cluster under traffic: nothing acknowledged is lost (cluster mode)', () => {
  const cluster = useRoamingCluster(
    'ops_',
    {
      msgServers: 3,
      dbProxies: 2,
      env: {
        MSG_SERVER_REPORT_INTERVAL_MS: String(REPORT_INTERVAL_MS),
        MSG_SERVER_DRAIN_TIMEOUT_MS: '8000',
        MSG_SERVER_DRAIN_RATE: '20',
        MSG_SERVER_MSG_RATE_LIMIT: '100',
      },
    },
    { startTimeoutMs: 90_000 },
  );
  let d: Deployment;
  let f: Fixture;
  const roaming = cluster.roaming;
  beforeAll(() => {
    ({ d, f } = cluster);
  });

  /** Pairs of roaming users, logged in through login_server (so spread over the servers). */
  async function pairs(n: number): Promise<Pair[]> {
    const out: Pair[] = [];
    for (let i = 0; i < n; i++) {
      const [s, r] = await f.newUsers(2);
      const sender = await cluster.roam(s);
      const receiver = await cluster.roam(r);
      out.push({ sender, receiver, acked: [], unacked: 0 });
    }
    return out;
  }

  async function expectNothingLost(ps: Pair[]): Promise<void> {
    for (const p of ps) {
      const { lost, gaps, history } = await lostMessages(p);
      expect({ pair: p.sender.user.name, lost, gaps }).toEqual({ pair: p.sender.user.name, lost: [], gaps: [] });
      expect(history.length).toBeGreaterThanOrEqual(p.acked.length);
    }
  }

  const msgServerOn = (port: number) => d.msgServers.find((m) => m.port === port)!;

  it('kill -9 of a msg_server: its clients move to the others, every acknowledged message arrives, presence converges', async () => {
    const ps = await pairs(6);
    const victimPort = ps[0].receiver.port;
    const victim = msgServerOn(victimPort);
    // Someone on the victim who does not come back: presence must show them offline.
    const [gone, watcher] = await f.newUsers(2);
    const goneClient = await cluster.roamOnto(gone, victimPort, { reconnect: false });
    const w = await f.login(watcher, d.msgServers.findIndex((m) => m.port !== victimPort));
    expect((await usersStat(w, [gone.id])).get(gone.id)).toBe(UserStatType.USER_STATUS_ONLINE);

    const flow = startFlow(ps, 100);
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    await stopRole(victim.process!, 'SIGKILL');

    await waitUntil(async () => (await usersStat(w, [gone.id])).get(gone.id) === UserStatType.USER_STATUS_OFFLINE, PRESENCE_BOUND_MS, 'the crashed server’s user to be shown offline');
    const presenceConvergedMs = Date.now() - killedAt;
    expect((await portsHandedOut(d, 12)).has(victimPort)).toBe(false);
    await waitUntil(() => ps.every((p) => p.sender.online && p.receiver.online), 15_000, 'every client to be back');
    const ackedBefore = ps.map((p) => p.acked.length);
    await new Promise((r) => setTimeout(r, 1500));
    await flow.stop();

    for (const p of ps) expect(p.receiver.port).not.toBe(victimPort);
    expect(ps[0].receiver.reconnects).toBeGreaterThanOrEqual(1);
    // Chat goes on after the crash, live.
    ps.forEach((p, i) => expect(p.acked.length).toBeGreaterThan(ackedBefore[i]));
    await expectNothingLost(ps);
    // Pairs that never touched the victim got everything live.
    for (const p of ps.filter((x) => !x.sender.ports.includes(victimPort) && !x.receiver.ports.includes(victimPort))) {
      await waitUntil(() => p.acked.every((id) => p.receiver.delivered.get(p.sender.user.id)?.includes(id)), 5000, 'live deliveries between surviving servers');
    }
    console.log(`kill -9: presence converged in ${presenceConvergedMs} ms; ${ps.reduce((n, p) => n + p.acked.length, 0)} messages acknowledged, ${ps.reduce((n, p) => n + p.unacked, 0)} unacknowledged sends`);

    await restartRole(victim.process!);
    await waitUntil(async () => (await portsHandedOut(d, 12)).has(victimPort), 10_000, 'login_server to hand out the restarted server');
  });

  it('SIGTERM drains a msg_server within its time limit: login_server stops sending clients there, clients move, nothing acknowledged is lost', async () => {
    const ps = await pairs(6);
    const port = ps[0].sender.port;
    const draining = msgServerOn(port);
    const onIt = roaming.filter((r) => r.port === port && r.online);
    expect(onIt.length).toBeGreaterThan(0);

    const flow = startFlow(ps, 100);
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => draining.process!.child.once('exit', (code) => resolve(code)));
    draining.process!.child.kill('SIGTERM');
    // At once it is no longer handed out.
    await waitUntil(async () => !(await portsHandedOut(d, 12)).has(port), 2000, 'login_server to stop handing out the draining server');
    expect(await exited).toBe(0);
    const drainMs = Date.now() - started;
    expect(drainMs).toBeLessThan(8000 + 3000);

    await waitUntil(() => ps.every((p) => p.sender.online && p.receiver.online), 15_000, 'every client to be back');
    for (const r of onIt) expect(r.port).not.toBe(port);
    const ackedBefore = ps.map((p) => p.acked.length);
    await new Promise((r) => setTimeout(r, 1000));
    await flow.stop();
    ps.forEach((p, i) => expect(p.acked.length).toBeGreaterThan(ackedBefore[i]));
    await expectNothingLost(ps);
    console.log(`drain: ${onIt.length} clients moved, exit after ${drainMs} ms`);

    await restartRole(draining.process!);
  });

  it('restarting route_server during traffic: chat pauses briefly, then goes on; nothing acknowledged is lost', async () => {
    const ps = await pairs(4);
    const flow = startFlow(ps, 100);
    await new Promise((r) => setTimeout(r, 1000));
    const route = d.role('route_server');
    await stopRole(route, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await restartRole(route);
    const ackedAtRestart = ps.map((p) => p.acked.length);
    // Live delivery works again through the new route_server.
    await waitUntil(() => ps.every((p, i) => p.acked.length > ackedAtRestart[i] + 3), 15_000, 'messages to flow after the restart');
    await flow.stop();
    await expectNothingLost(ps);
    for (const p of ps) {
      const last = p.acked[p.acked.length - 1];
      await waitUntil(() => p.receiver.delivered.get(p.sender.user.id)?.includes(last) ?? false, 10_000, 'the latest message to arrive live');
    }
  });

  it('losing one db_proxy replica during traffic: calls move to the other; nothing acknowledged is lost', async () => {
    const ps = await pairs(4);
    const replica = d.processes.filter((p) => p.role === 'db_proxy')[1];
    const flow = startFlow(ps, 100);
    await new Promise((r) => setTimeout(r, 1000));
    await stopRole(replica, 'SIGKILL');
    const ackedAfterKill = ps.map((p) => p.acked.length);
    await waitUntil(() => ps.every((p, i) => p.acked.length > ackedAfterKill[i] + 5), 15_000, 'messages to be stored by the remaining replica');
    await restartRole(replica);
    const ackedAtRestart = ps.map((p) => p.acked.length);
    await waitUntil(() => ps.every((p, i) => p.acked.length > ackedAtRestart[i] + 5), 15_000, 'messages to flow with both replicas');
    await flow.stop();
    await expectNothingLost(ps);
  });
});
