// The operator API's cluster side (BusAdminCluster) against a real cluster:
// presence asked of route_server, msg_servers and rates from the bus, and kicks, system messages,
// moderation recalls and group changes served by the msg_servers.
// Cluster mode only for now: standalone's bus is in-process, so it is tested
// through the running login_server once the HTTP routes exist.
import { IM } from '@tt/proto';
import { NatsBus } from '@tt/bus';
import { DEFAULT_CONTENT_KEY, decryptContent, type TeamTalkClient } from '@tt/client';
import { BusAdminCluster } from '../../services/login_server/src/api/cluster';
import { AdminError } from '../../services/login_server/src/api/backend';
import { restartRole, startDeployment, stopRole, waitUntil, type Deployment } from './support/deployment';
import { Fixture } from './support/fixtures';

jest.setTimeout(90_000);

const { MessageCmdID } = IM.BaseDefine;

describe('BusAdminCluster (cluster mode)', () => {
  let d: Deployment;
  let f: Fixture;
  let bus: NatsBus;
  let cluster: BusAdminCluster;

  beforeAll(async () => {
    // TeamTalk clients decrypt text with the content key: the system's messages are stored encrypted with it.
    d = await startDeployment('cluster', { msgServers: 2, env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, 'adm_');
    bus = await NatsBus.connect({ servers: ['nats://127.0.0.1:4222'], name: 'admin-cluster-test' });
    cluster = new BusAdminCluster({ bus, subjectPrefix: d.role('msg_server').env.TT_SUBJECT_PREFIX! }).start();
    await waitUntil(async () => (await cluster.msgServers()).length === 2, 15_000, 'both msg_servers reported');
  }, 120_000);

  afterAll(async () => {
    f?.closeAll();
    cluster?.close();
    await bus?.close();
    await d?.stop();
  });

  it('sees msg_servers, presence across them, and kicks a user everywhere', async () => {
    const [alice] = await f.newUsers(1);
    const c1 = await f.login(alice, 0);
    const c2 = await f.login(alice, 1, IM.BaseDefine.ClientType.CLIENT_TYPE_ANDROID);
    await waitUntil(async () => ((await cluster.devicesOf([alice.id])).get(alice.id) ?? []).length === 2, 10_000, 'both devices seen');
    const devices = (await cluster.devicesOf([alice.id])).get(alice.id)!;
    expect(new Set(devices.map((x) => x.msgServerId)).size).toBe(2);
    expect(await cluster.onlineCount()).toBeGreaterThanOrEqual(1);
    const servers = await cluster.msgServers();
    expect(servers.every((s) => s.fronts.some((fr) => fr.protocol === 'teamtalk'))).toBe(true);
    const stats = await cluster.stats();
    expect(stats.msgServers).toHaveLength(2);

    expect(await cluster.kickUser(alice.id)).toBe(2);
    await Promise.all([c1.waitForClose(10_000), c2.waitForClose(10_000)]);
    await waitUntil(async () => ((await cluster.devicesOf([alice.id])).get(alice.id) ?? []).length === 0, 10_000, 'devices gone');
  });

  it('sends as the system and as a user, to users and groups, and recalls as a moderator', async () => {
    const [bob, carol] = await f.newUsers(2);
    const cb = await f.login(bob, 0);
    const cc = await f.login(carol, 1);
    const arrived = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData).includes('maintenance'), 10_000);
    const sent = await cluster.sendMessage({ fromId: 0, to: { userId: bob.id }, text: 'maintenance at 22:00' });
    expect(sent.msgId).toBeGreaterThan(0);
    expect(sent.messageId).toMatch(/^si_.+:\d+$/);
    await arrived;

    const fromBob = await cluster.sendMessage({ fromId: bob.id, to: { userId: carol.id }, text: 'hello carol' });
    const recalled = cc.waitFor(MessageCmdID.CID_MSG_DATA, () => true, 10_000).catch(() => undefined);
    void recalled;
    await cluster.recallMessage(fromBob.messageId, 'operator:root');
    await expect(cluster.recallMessage('si_nobody_x:1', 'operator:root')).rejects.toMatchObject({ status: 404 });
    await expect(cluster.recallMessage('garbage', 'operator:root')).rejects.toBeInstanceOf(AdminError);

    const group = await cluster.groupAction({ action: 'create', ownerId: bob.id, memberIds: [carol.id], name: 'Ops' });
    expect(group).toMatchObject({ name: 'Ops', ownerId: bob.id, memberCount: 2 });
    const inGroup = cc.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'to the group', 10_000);
    const g = await cluster.sendMessage({ fromId: 0, to: { groupId: group.id }, text: 'to the group' });
    expect(g.messageId).toBe(`sg_${group.id}:${g.msgId}`);
    await inGroup;
    await cluster.recallMessage(g.messageId, 'operator:root');
    const moved = await cluster.groupAction({ action: 'transfer', groupId: group.id, ownerId: carol.id });
    expect(moved.ownerId).toBe(carol.id);
    await expect(cluster.groupAction({ action: 'remove', groupId: group.id, memberIds: [carol.id] })).rejects.toMatchObject({ status: 409 });
    await cluster.groupAction({ action: 'dismiss', groupId: group.id });
    expect((await cluster.notify({ userIds: [bob.id, carol.id], content: 'canteen closes' })).addressed).toBe(2);
    await expect(cluster.sendMessage({ fromId: 0, to: { userId: 999_999 }, text: 'x' })).rejects.toMatchObject({ status: 404 });
  });

  it('drains one msg_server', async () => {
    const [target] = await cluster.msgServers();
    await cluster.drain(target.id);
    await waitUntil(async () => !(await cluster.msgServers()).some((s) => s.id === target.id), 20_000, 'drained server gone');
    await expect(cluster.drain('nope')).rejects.toMatchObject({ status: 404 });
  });

  it('asks route_server who is online: without one running, the question is a clear 503 (and answered again once it is back)', async () => {
    const routeServer = d.role('route_server');
    await stopRole(routeServer);
    try {
      await expect(cluster.devicesOf([1])).rejects.toMatchObject({ status: 503, message: 'no route_server is running' });
      await expect(cluster.onlineCount()).rejects.toMatchObject({ status: 503 });
    } finally {
      await restartRole(routeServer);
    }
    expect(await cluster.onlineCount()).toBeGreaterThanOrEqual(0);
  });
});
