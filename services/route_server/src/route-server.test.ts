// route_server's failure detector over a real (in-process) bus: a msg_server
// whose beacons stop is declared dead once, its users go, and a dead life
// that speaks again is told so.
import { MemoryBus } from '@tt/bus';
import { createLogger } from '@tt/observability';
import { IM, clusterSubjects } from '@tt/proto';
import { Registry } from 'prom-client';
import { startRouteServer, type RunningRouteServer } from './route-server';

const PREFIX = 'rstest';
const subjects = clusterSubjects(PREFIX);
const SUSPICION_MS = 200;
const BEACON_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('route_server failure detection', () => {
  let bus: MemoryBus;
  let route: RunningRouteServer;
  let downs: IM.Cluster.MsgServerDown[];
  const timers: NodeJS.Timeout[] = [];

  beforeEach(() => {
    bus = new MemoryBus();
    route = startRouteServer({ bus, log: createLogger('route_server', { level: 'silent' }), metricsRegistry: new Registry(), subjectPrefix: PREFIX, routeServerId: 'r1', suspicionTimeoutMs: SUSPICION_MS });
    downs = [];
    bus.subscribe(subjects.msgServerDown, (data) => {
      downs.push(IM.Cluster.MsgServerDown.decode(data));
    });
  });

  afterEach(async () => {
    for (const t of timers) clearInterval(t);
    route.close();
    await bus.close();
  });

  /** A msg_server holding one user, beaconing until stopped. */
  function msgServer(serverId: string, userId: number, incarnation = 1): { stop(): void } {
    const beacon = () => bus.publish(subjects.msgServerBeacon, IM.Cluster.MsgServerBeacon.encode({ serverId, incarnation, seq: 0 }).finish());
    beacon();
    const conn = { userId, clientType: 1, status: 1, connId: userId };
    bus.publish(subjects.presenceSnapshot, IM.Cluster.PresenceSnapshot.encode({ serverId, seq: 1, conns: [conn], incarnation }).finish());
    const timer = setInterval(beacon, BEACON_MS);
    timers.push(timer);
    return { stop: () => clearInterval(timer) };
  }

  it('declares a silent msg_server dead once, within the timeout and a sweep, and drops its users', async () => {
    const ms1 = msgServer('ms1', 7);
    msgServer('ms2', 8);
    await sleep(100);
    expect(route.table.serversFor([7, 8]).size).toBe(2);

    const stoppedAt = Date.now();
    ms1.stop();
    while (downs.length === 0 && Date.now() - stoppedAt < 2000) await sleep(10);
    const noticedAfter = Date.now() - stoppedAt;

    expect(downs.map((d) => [d.serverId, d.incarnation])).toEqual([['ms1', 1]]);
    expect(noticedAfter).toBeGreaterThanOrEqual(SUSPICION_MS - BEACON_MS);
    // The exact bound (timeout + one sweep) is checked on a fake clock in
    // packages/presence's failure-detector tests; here real timers on a
    // loaded machine may run late, and a late sweep pardons (by design).
    expect(noticedAfter).toBeLessThan(SUSPICION_MS + 1500);
    expect(Object.fromEntries(route.table.serversFor([7, 8]))).toEqual({ ms2: [8] });
    await sleep(300);
    expect(downs).toHaveLength(1);
  });

  it('tells a dead incarnation that speaks again, and takes its next life as new', async () => {
    const ms1 = msgServer('ms1', 7);
    await sleep(100);
    ms1.stop();
    await sleep(SUSPICION_MS + 150);
    expect(downs).toHaveLength(1);

    // It was only hung: it wakes and beacons as the life that was declared dead.
    const resync: string[] = [];
    bus.subscribe(subjects.presenceResync, (data) => {
      resync.push(IM.Cluster.PresenceResync.decode(data).serverId ?? '');
    });
    bus.publish(subjects.msgServerBeacon, IM.Cluster.MsgServerBeacon.encode({ serverId: 'ms1', incarnation: 1, seq: 9 }).finish());
    bus.publish(subjects.presence, IM.Cluster.PresenceUpdate.encode({ serverId: 'ms1', seq: 2, conn: { userId: 9, clientType: 1, status: 1, connId: 9 }, online: true, incarnation: 1 }).finish());
    await sleep(20);
    expect(downs.map((d) => d.incarnation)).toEqual([1, 1]);
    expect(route.table.serversFor([7, 9]).size).toBe(0);

    // Fenced, it comes back as incarnation 2: asked for its presence, and watched again.
    msgServer('ms1', 10, 2);
    await sleep(20);
    expect(resync).toContain('ms1');
    expect(Object.fromEntries(route.table.serversFor([7, 9, 10]))).toEqual({ ms1: [10] });
  });

  it('a server that left in good order is not declared dead', async () => {
    const ms1 = msgServer('ms1', 7);
    await sleep(100);
    ms1.stop();
    bus.publish(subjects.msgServerLeaving, IM.Cluster.MsgServerLeaving.encode({ serverId: 'ms1' }).finish());
    await sleep(SUSPICION_MS + 150);
    expect(downs).toEqual([]);
  });

  it('declares nobody dead for silence caused by its own stall (a blocked event loop)', async () => {
    msgServer('ms1', 7);
    await sleep(100);
    const until = Date.now() + SUSPICION_MS * 2;
    while (Date.now() < until) {
      /* route_server's own loop is blocked; the beacons wait, unread */
    }
    await sleep(150);
    expect(downs).toEqual([]);
    expect(route.table.serversFor([7]).size).toBe(1);
  });
});

describe('route_server presence questions (the operator API asks them)', () => {
  it('answers the connections of the users asked, in order, and how many users are online', async () => {
    const bus = new MemoryBus();
    const route = startRouteServer({ bus, log: createLogger('route_server', { level: 'silent' }), metricsRegistry: new Registry(), subjectPrefix: PREFIX, routeServerId: 'r1' });
    try {
      const conns = (userId: number, clientType: number, front: string) => ({ userId, clientType, status: 1, connId: userId * 10 + clientType, front });
      bus.publish(subjects.presenceSnapshot, IM.Cluster.PresenceSnapshot.encode({ serverId: 'ms1', seq: 1, conns: [conns(7, 1, 'teamtalk'), conns(9, 17, 'ws')] }).finish());
      bus.publish(subjects.presenceSnapshot, IM.Cluster.PresenceSnapshot.encode({ serverId: 'ms2', seq: 1, conns: [conns(7, 17, 'tcp12')] }).finish());
      await sleep(20);
      const ask = async (query: IM.Cluster.IPresenceQuery) => IM.Cluster.PresenceQueryReply.decode(await bus.request(subjects.routePresence, IM.Cluster.PresenceQuery.encode(query).finish(), { timeoutMs: 1000 }));

      const reply = await ask({ userIds: [8, 7], countOnline: true });
      expect(reply.onlineUsers).toBe(2);
      expect(reply.users.map((u) => u.userId)).toEqual([8, 7]);
      expect(reply.users[0].conns).toEqual([]);
      expect((reply.users[1].conns ?? []).map((c) => [c.serverId, c.clientType, c.front]).sort()).toEqual([
        ['ms1', 1, 'teamtalk'],
        ['ms2', 17, 'tcp12'],
      ]);
      // Without count_online the count is not worked out.
      expect((await ask({ userIds: [9] })).onlineUsers).toBeFalsy();
    } finally {
      route.close();
      await bus.close();
    }
  });
});
