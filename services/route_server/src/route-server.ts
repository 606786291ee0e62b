import { IM, clusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RouteTable } from '@tt/presence';

export interface RouteServerDeps {
  bus: MessageBus;
  log: Logger;
  metricsRegistry: Registry;
  subjectPrefix: string;
  routeServerId: string;
}

export interface RunningRouteServer {
  table: RouteTable;
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
  const resyncs = new Counter({ name: 'tt_route_resyncs_total', help: 'Snapshots requested after a gap or an unknown server', registers });
  new Gauge({ name: 'tt_route_connections', help: 'Client connections known', registers, collect() { this.set(table.connectionCount); } });
  new Gauge({ name: 'tt_route_msg_servers', help: 'Live msg_servers known', registers, collect() { this.set(table.serverCount); } });

  const askSnapshot = (serverId?: string) => {
    resyncs.inc();
    bus.publish(subjects.presenceResync, IM.Cluster.PresenceResync.encode({ requesterId: deps.routeServerId, serverId }).finish());
  };

  const subs = [
    bus.subscribe(subjects.msgServerReport, (data) => {
      const report = IM.Cluster.MsgServerReport.decode(data);
      // A server we have never heard of may hold users already: ask it.
      if (table.touchServer(report.serverId, report.ttlMs)) askSnapshot(report.serverId);
    }),
    bus.subscribe(subjects.msgServerLeaving, (data) => {
      const { serverId } = IM.Cluster.MsgServerLeaving.decode(data);
      table.removeServer(serverId);
      log.info({ serverId }, 'msg_server left');
    }),
    bus.subscribe(subjects.presence, (data) => {
      const update = IM.Cluster.PresenceUpdate.decode(data);
      const result = table.applyPresence(update.serverId, update.seq, update.conn, update.online);
      if (result === 'gap') askSnapshot(update.serverId);
    }),
    bus.subscribe(subjects.presenceSnapshot, (data) => {
      const snap = IM.Cluster.PresenceSnapshot.decode(data);
      table.applySnapshot(snap.serverId, snap.seq, snap.conns);
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
  ];

  const expiryTimer = setInterval(() => {
    for (const serverId of table.expireServers()) log.warn({ serverId }, 'msg_server stopped reporting; its users are offline');
  }, 1000);
  expiryTimer.unref();

  // Rebuild the table from the msg_servers themselves.
  askSnapshot();
  log.info({ routeServerId: deps.routeServerId }, 'route_server started');

  return {
    table,
    readiness: async () => ({ ok: bus.isConnected(), details: { bus: bus.isConnected(), msgServers: table.serverCount, connections: table.connectionCount } }),
    close: () => {
      clearInterval(expiryTimer);
      for (const s of subs) s.unsubscribe();
    },
  };
}
