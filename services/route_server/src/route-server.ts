import { IM, clusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FailureDetector, RouteTable } from '@tt/presence';

export interface RouteServerDeps {
  bus: MessageBus;
  log: Logger;
  metricsRegistry: Registry;
  subjectPrefix: string;
  routeServerId: string;
  /** MSG_SERVER_SUSPICION_TIMEOUT_MS: a msg_server whose beacons stop this long is declared dead (default 750). */
  suspicionTimeoutMs?: number;
}

export interface RunningRouteServer {
  table: RouteTable;
  detector: FailureDetector;
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  close(): void;
}

/**
 * route_server: keeps the user -> msg_server table from the msg_servers'
 * presence events and snapshots, and forwards each delivery request to the
 * msg_servers that hold one of its users (and only those).
 */
export function startRouteServer(deps: RouteServerDeps): RunningRouteServer {
  const { bus, log } = deps;
  const subjects = clusterSubjects(deps.subjectPrefix);
  const table = new RouteTable();
  const registers = [deps.metricsRegistry];
  const forwarded = new Counter({ name: 'tt_route_deliveries_forwarded_total', help: 'Deliveries forwarded to a msg_server', registers });
  const requests = new Counter({ name: 'tt_route_delivery_requests_total', help: 'Delivery requests handled', registers });
  const presenceQueries = new Counter({ name: 'tt_route_presence_queries_total', help: "Presence questions answered (the operator API's online devices and counts)", registers });
  const resyncs = new Counter({ name: 'tt_route_resyncs_total', help: 'Snapshots requested after a gap or an unknown server', registers });
  new Gauge({ name: 'tt_route_connections', help: 'Client connections known', registers, collect() { this.set(table.connectionCount); } });
  new Gauge({ name: 'tt_route_msg_servers', help: 'Live msg_servers known', registers, collect() { this.set(table.serverCount); } });
  const declaredDead = new Counter({ name: 'tt_route_msg_servers_declared_dead_total', help: 'msg_server incarnations declared dead (silent past MSG_SERVER_SUSPICION_TIMEOUT_MS)', registers });
  const detector = new FailureDetector({ suspicionTimeoutMs: deps.suspicionTimeoutMs ?? 750 });
  const announceDeath = (serverId: string, incarnation: number, silentMs: number) =>
    bus.publish(subjects.msgServerDown, IM.Cluster.MsgServerDown.encode({ serverId, incarnation, silentMs }).finish());
  /** A dead life still speaking is told again at most this often (it fences itself when it hears). */
  const retold = new Map<string, number>();

  const askSnapshot = (serverId?: string) => {
    resyncs.inc();
    bus.publish(subjects.presenceResync, IM.Cluster.PresenceResync.encode({ requesterId: deps.routeServerId, serverId }).finish());
  };

  const subs = [
    bus.subscribe(subjects.msgServerReport, (data) => {
      const report = IM.Cluster.MsgServerReport.decode(data);
      // A server we have never heard of may hold users already: ask it.
      if (table.touchServer(report.serverId, report.ttlMs, report.incarnation ?? 0)) askSnapshot(report.serverId);
    }),
    bus.subscribe(subjects.msgServerBeacon, (data) => {
      const { serverId, incarnation } = IM.Cluster.MsgServerBeacon.decode(data);
      const verdict = detector.heard(serverId, incarnation);
      if (verdict === 'new' && table.incarnationOf(serverId) !== incarnation) askSnapshot(serverId);
      if (verdict === 'dead') {
        // It was hung, not gone, and may have missed the news: tell it again so it fences itself.
        const now = Date.now();
        if ((retold.get(serverId) ?? 0) + detector.suspicionTimeoutMs <= now) {
          retold.set(serverId, now);
          announceDeath(serverId, incarnation, 0);
        }
      }
    }),
    bus.subscribe(subjects.msgServerLeaving, (data) => {
      const { serverId } = IM.Cluster.MsgServerLeaving.decode(data);
      table.removeServer(serverId);
      detector.forget(serverId);
      log.info({ serverId }, 'msg_server left');
    }),
    bus.subscribe(subjects.msgServerDown, (data) => {
      // Another route_server replica's verdict (or our own, echoed): the same table everywhere.
      const { serverId, incarnation } = IM.Cluster.MsgServerDown.decode(data);
      table.markDead(serverId, incarnation);
      detector.learnDead(serverId, incarnation);
    }),
    bus.subscribe(subjects.presence, (data) => {
      const update = IM.Cluster.PresenceUpdate.decode(data);
      const result = table.applyPresence(update.serverId, update.seq, update.conn, update.online, update.incarnation ?? 0);
      if (result === 'gap') askSnapshot(update.serverId);
    }),
    bus.subscribe(subjects.presenceSnapshot, (data) => {
      const snap = IM.Cluster.PresenceSnapshot.decode(data);
      table.applySnapshot(snap.serverId, snap.seq, snap.conns, snap.incarnation ?? 0);
    }),
    bus.subscribe(
      subjects.routeDeliver,
      (data, msg) => {
        const batch = IM.Cluster.DeliverBatch.decode(data);
        requests.inc(batch.requests.length);
        // One message per msg_server for the whole batch, deliveries in request order.
        const perServer = new Map<string, IM.Cluster.IDelivery[]>();
        for (const req of batch.requests) {
          for (const [serverId, userIds] of table.serversFor(req.userIds ?? [], req.originServerId || undefined)) {
            let list = perServer.get(serverId);
            if (!list) perServer.set(serverId, (list = []));
            list.push({ userIds, event: req.event });
          }
        }
        for (const [serverId, deliveries] of perServer) {
          bus.publish(subjects.msgServerDeliver(serverId), IM.Cluster.DeliveryBatch.encode({ deliveries }).finish());
          forwarded.inc(deliveries.length);
        }
        msg.respond(IM.Cluster.DeliverReply.encode({ servers: perServer.size }).finish());
      },
      { queue: 'route_server' },
    ),
    // The operator API's presence questions, answered from this table (login_server keeps none).
    bus.subscribe(
      subjects.routePresence,
      (data, msg) => {
        const query = IM.Cluster.PresenceQuery.decode(data);
        presenceQueries.inc();
        const users = (query.userIds ?? []).map((userId) => ({
          userId,
          conns: table.connectionsOf(userId).map((c) => ({ serverId: c.serverId, clientType: c.clientType, front: c.front ?? '' })),
        }));
        msg.respond(IM.Cluster.PresenceQueryReply.encode({ users, ...(query.countOnline ? { onlineUsers: table.userCount } : {}) }).finish());
      },
      { queue: 'route_server' },
    ),
  ];

  const expiryTimer = setInterval(() => {
    for (const serverId of table.expireServers()) log.warn({ serverId }, 'msg_server stopped reporting; its users are offline');
    for (const [serverId, at] of retold) if (at + 60_000 < Date.now()) retold.delete(serverId);
  }, 1000);
  expiryTimer.unref();

  // The failure detector's sweep. Silence only means death when we could
  // have heard: not while our own bus is down, nor right after this process
  // itself stalled (the beacons are waiting, unread, behind this timer).
  const sweepMs = Math.max(10, Math.min(50, Math.floor(detector.suspicionTimeoutMs / 10)));
  let lastSweep = Date.now();
  let couldHear = bus.isConnected();
  const sweepTimer = setInterval(() => {
    const now = Date.now();
    const late = now - lastSweep - sweepMs;
    lastSweep = now;
    const connected = bus.isConnected();
    if (!connected || !couldHear || late > detector.suspicionTimeoutMs / 3) {
      if (late > detector.suspicionTimeoutMs / 3) log.warn({ lateMs: late }, 'route_server itself was stalled; nobody is declared dead this round');
      detector.pardon();
      couldHear = connected;
      return;
    }
    for (const dead of detector.sweep()) {
      const users = table.markDead(dead.serverId, dead.incarnation);
      announceDeath(dead.serverId, dead.incarnation, dead.silentMs);
      declaredDead.inc();
      log.warn({ serverId: dead.serverId, incarnation: dead.incarnation, silentMs: dead.silentMs, users: users.length }, 'msg_server declared dead: silent past the suspicion timeout');
    }
  }, sweepMs);
  sweepTimer.unref();

  // Rebuild the table from the msg_servers themselves.
  askSnapshot();
  log.info({ routeServerId: deps.routeServerId }, 'route_server started');

  return {
    table,
    detector,
    readiness: async () => ({ ok: bus.isConnected(), details: { bus: bus.isConnected(), msgServers: table.serverCount, connections: table.connectionCount } }),
    close: () => {
      clearInterval(expiryTimer);
      clearInterval(sweepTimer);
      for (const s of subs) s.unsubscribe();
    },
  };
}
