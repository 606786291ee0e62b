import { IM, clusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { ClientConnection } from './connection';
import type { ConnectionRegistry } from './connection-registry';

/**
 * Tells every route_server which users this msg_server holds: one event per
 * login and per logout, numbered so a gap is noticed, and a full snapshot
 * whenever a route_server asks (after it starts, or after a gap).
 */
export class PresencePublisher {
  private seq = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly registry: ConnectionRegistry,
    private readonly serverId: string,
    private readonly subjects: ReturnType<typeof clusterSubjects>,
    /** Told of every login and logout too (webhooks). */
    private readonly changed?: (conn: ClientConnection, online: boolean) => void,
  ) {}

  listen(): void {
    this.bus.subscribe(this.subjects.presenceResync, (data) => {
      const req = IM.Cluster.PresenceResync.decode(data);
      if (!req.serverId || req.serverId === this.serverId) this.publishSnapshot();
    });
  }

  online(conn: ClientConnection): void {
    this.publish(conn, true);
  }

  offline(conn: ClientConnection): void {
    this.publish(conn, false);
  }

  publishSnapshot(): void {
    const conns = this.registry.loggedIn().map(connectionInfo);
    this.bus.publish(this.subjects.presenceSnapshot, IM.Cluster.PresenceSnapshot.encode({ serverId: this.serverId, seq: this.seq, conns }).finish());
  }

  private publish(conn: ClientConnection, online: boolean): void {
    this.seq += 1;
    const update = { serverId: this.serverId, seq: this.seq, conn: connectionInfo(conn), online };
    this.bus.publish(this.subjects.presence, IM.Cluster.PresenceUpdate.encode(update).finish());
    this.changed?.(conn, online);
  }
}

function connectionInfo(conn: ClientConnection): IM.Cluster.IConnectionInfo {
  return { userId: conn.userId, clientType: conn.identity?.clientType ?? 0, status: conn.identity?.status ?? 0, connId: conn.id, front: conn.front.name };
}
