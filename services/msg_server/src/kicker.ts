import { IM, type ClusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { ClientConnection } from './connection';
import type { ConnectionRegistry } from './connection-registry';
import type { ClusterView } from './cluster-view';


/**
 * Kicks connections wherever they are: this server's directly, other
 * servers' by a message to the server holding them, naming the exact
 * connection so a newer one is never hit by mistake.
 */
export class Kicker {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly bus: MessageBus,
    private readonly subjects: ClusterSubjects,
    private readonly selfId: string,
    private readonly cluster: ClusterView,
  ) {}

  listen(): void {
    this.bus.subscribe(this.subjects.msgServerKick(this.selfId), (data) => {
      const kick = IM.Cluster.KickConnection.decode(data);
      const conn = this.registry.get(kick.connId);
      if (conn && conn.userId === kick.userId) this.kickLocal(conn, kick.reason);
    });
  }

  /** Kicks every connection of the user whose client type matches, except `keep`; returns how many. */
  kickUser(userId: number, matches: (clientType: number) => boolean, reason: number, keep?: ClientConnection): number {
    let kicked = 0;
    for (const conn of [...this.registry.ofUser(userId)]) {
      if (conn === keep || !matches(conn.identity!.clientType)) continue;
      this.kickLocal(conn, reason);
      kicked += 1;
    }
    for (const remote of this.cluster.connectionsOf(userId)) {
      if (remote.serverId === this.selfId || !matches(remote.clientType)) continue;
      this.bus.publish(this.subjects.msgServerKick(remote.serverId), IM.Cluster.KickConnection.encode({ userId, connId: remote.connId, reason }).finish());
      kicked += 1;
    }
    return kicked;
  }

  /** The connection's front tells it why (TeamTalk: IMKickUser), then closes it. */
  private kickLocal(conn: ClientConnection, reason: number): void {
    conn.front.kick(conn, reason);
  }
}
