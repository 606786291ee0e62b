import { IM, clusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { ClientConnection } from './connection';
import type { ConnectionRegistry } from './connection-registry';

/**
 * Tells every route_server which users this msg_server holds: one event per
 * login and per logout, numbered so a gap is noticed, and a full snapshot
 * whenever a route_server asks (after it starts, or after a gap).
 *
 * The events of one turn of the event loop are published together at its end
 * (setImmediate): in a login storm hundreds of logins and logouts then leave
 * in one write to NATS instead of one each (the bus client writes once per
 * synchronous run of publishes). Each event keeps its own number and order.
 */
export class PresencePublisher {
  private seq = 0;
  /** Encoded PresenceUpdates waiting for the end of this turn of the event loop. */
  private pending: Uint8Array[] = [];
  private flushScheduled?: NodeJS.Immediate;
  /** Connections of an earlier incarnation, being closed: never online in this one. */
  private retired = new WeakSet<ClientConnection>();

  constructor(
    private readonly bus: MessageBus,
    private readonly registry: ConnectionRegistry,
    private readonly serverId: string,
    private readonly subjects: ReturnType<typeof clusterSubjects>,
    /** Told of every login and logout too (webhooks). */
    private readonly changed?: (conn: ClientConnection, online: boolean) => void,
    /** This server's current incarnation (ClusterView). */
    private readonly incarnation: () => number = () => 0,
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

  /** Publishes the events held for the end of this turn now (before a snapshot, a fencing, a shutdown). */
  flush(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    const updates = this.pending;
    if (updates.length === 0) return;
    this.pending = [];
    for (const update of updates) this.bus.publish(this.subjects.presence, update);
  }

  publishSnapshot(): void {
    // The snapshot's seq covers every event numbered so far: those go out first.
    this.flush();
    const conns = this.registry.loggedIn().filter((c) => !this.retired.has(c)).map(connectionInfo);
    this.bus.publish(this.subjects.presenceSnapshot, IM.Cluster.PresenceSnapshot.encode({ serverId: this.serverId, seq: this.seq, conns, incarnation: this.incarnation() }).finish());
  }

  /**
   * Fencing: a new incarnation starts with no connections. These (about to
   * be closed) belong to the dead one, so their logouts are not announced
   * (the cluster already counts them offline); webhooks still hear them.
   */
  retire(conns: Iterable<ClientConnection>): void {
    // Events of the old incarnation, numbered in its sequence, leave before the sequence restarts.
    this.flush();
    for (const conn of conns) this.retired.add(conn);
    this.seq = 0;
  }

  private publish(conn: ClientConnection, online: boolean): void {
    if (this.retired.has(conn)) {
      this.changed?.(conn, online);
      return;
    }
    this.seq += 1;
    const update = { serverId: this.serverId, seq: this.seq, conn: connectionInfo(conn), online, incarnation: this.incarnation() };
    this.pending.push(IM.Cluster.PresenceUpdate.encode(update).finish());
    this.flushScheduled ??= setImmediate(() => this.flush());
    this.changed?.(conn, online);
  }
}

function connectionInfo(conn: ClientConnection): IM.Cluster.IConnectionInfo {
  return { userId: conn.userId, clientType: conn.identity?.clientType ?? 0, status: conn.identity?.status ?? 0, connId: conn.id, front: conn.front.name };
}
