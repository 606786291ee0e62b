import { IM, type ClusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import { PresenceView, type RoutedConnection, type StatusChange } from '@tt/presence';
import { isMobileClient } from './domain/client-type';
import { startBeacon, type Beacon, type BeaconOptions } from './liveness/beacon';

export interface ClusterViewEvents {
  /** A user's overall status changed (for IMUserStatNotify). */
  statusChanged(change: StatusChange): void;
  /** A PC connection of a user came or went (for IMPCLoginStatusNotify). */
  pcLoginChanged(userId: number, online: boolean): void;
  /**
   * route_server declared this very incarnation dead (it was hung or cut off
   * longer than the suspicion timeout): the cluster has shown its users
   * offline and stored what was sent to them meanwhile without delivering
   * it. The server must fence itself: close every client, so they reconnect
   * and sync, and go on as a new incarnation (`reincarnate`).
   */
  declaredDead?(silentMs: number): void;
}

/** The beacon thread's settings (liveness/beacon.ts); the server id and subject are the view's own. */
export type ClusterBeaconOptions = Omit<BeaconOptions, 'serverId' | 'subject'>;

const isMobileConnection = (conn: RoutedConnection) => isMobileClient(conn.clientType);

/**
 * This msg_server's view of every connection in the cluster, kept from the
 * same presence events and snapshots route_server uses. It answers status
 * queries and finds a user's other connections (for kicks) without a round
 * trip; deliveries still go through route_server.
 */
export class ClusterView {
  private readonly view: PresenceView;
  private readonly timer: NodeJS.Timeout;
  private beacon?: Beacon;
  /** Which life of this server it is: 1 at start, +1 each time it fences itself. */
  private currentIncarnation = 1;
  /** Until then the view may still be filling from the snapshots asked for at start. */
  private warmAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly bus: MessageBus,
    private readonly subjects: ClusterSubjects,
    private readonly selfId: string,
    private readonly events: ClusterViewEvents,
    /** How long after start the view is not trusted to be complete (a few report intervals). */
    private readonly warmUpMs = 6000,
    /** Absent: no beacons (standalone: nobody to tell). */
    private readonly beaconOptions?: ClusterBeaconOptions,
  ) {
    this.view = new PresenceView((c) => events.statusChanged(c));
    this.timer = setInterval(() => this.view.expireServers(), 1000);
    this.timer.unref();
  }

  listen(): void {
    this.bus.subscribe(this.subjects.msgServerReport, (data) => {
      const r = IM.Cluster.MsgServerReport.decode(data);
      this.view.touchServer(r.serverId, r.ttlMs, r.incarnation ?? 0);
    });
    this.bus.subscribe(this.subjects.msgServerDown, (data) => {
      const down = IM.Cluster.MsgServerDown.decode(data);
      if (down.serverId === this.selfId) {
        if (down.incarnation === this.currentIncarnation) this.events.declaredDead?.(down.silentMs ?? 0);
        return;
      }
      this.view.markDead(down.serverId, down.incarnation);
    });
    this.bus.subscribe(this.subjects.msgServerLeaving, (data) => this.view.removeServer(IM.Cluster.MsgServerLeaving.decode(data).serverId));
    this.bus.subscribe(this.subjects.presence, (data) => {
      const u = IM.Cluster.PresenceUpdate.decode(data);
      const result = this.view.applyPresence(u.serverId, u.seq, u.conn, u.online, u.incarnation ?? 0);
      if (result === 'gap') this.requestSnapshots(u.serverId);
      if (result !== 'stale' && !isMobileClient(u.conn.clientType)) this.events.pcLoginChanged(u.conn.userId, u.online);
    });
    this.bus.subscribe(this.subjects.presenceSnapshot, (data) => {
      const s = IM.Cluster.PresenceSnapshot.decode(data);
      this.view.applySnapshot(s.serverId, s.seq, s.conns, s.incarnation ?? 0);
    });
    this.requestSnapshots();
    this.warmAt = Date.now() + this.warmUpMs;
    if (this.beaconOptions) this.beacon = startBeacon({ ...this.beaconOptions, serverId: this.selfId, subject: this.subjects.msgServerBeacon }, this.currentIncarnation);
  }

  get incarnation(): number {
    return this.currentIncarnation;
  }

  /** A new life after fencing: beacons, reports and presence now carry the next incarnation. */
  reincarnate(): number {
    this.currentIncarnation += 1;
    this.beacon?.setIncarnation(this.currentIncarnation);
    return this.currentIncarnation;
  }

  /**
   * Whether any of the users may have a connection on another msg_server:
   * false only when this view (warm: past its start-up snapshots) knows
   * every one of them to be here or offline. Deliveries then skip
   * route_server; it would find nobody else either, from the same presence
   * events.
   */
  mayBeElsewhere(userIds: readonly number[]): boolean {
    if (Date.now() < this.warmAt) return true;
    for (const id of userIds) if (this.view.table.hasConnectionOutside(id, this.selfId)) return true;
    return false;
  }

  statusOf(userId: number): number {
    return this.view.table.userStatus(userId);
  }

  /** Whether the user has a mobile client connected to any msg_server (no push needed then). */
  hasMobileOnline(userId: number): boolean {
    return this.view.table.hasConnection(userId, isMobileConnection);
  }

  connectionsOf(userId: number): Array<RoutedConnection & { serverId: string }> {
    return this.view.table.connectionsOf(userId);
  }

  /** Stops the beacons at once (before the server says it is leaving); resolves when the thread has ended. */
  close(): Promise<void> {
    clearInterval(this.timer);
    return this.beacon?.close() ?? Promise.resolve();
  }

  private requestSnapshots(serverId?: string): void {
    this.bus.publish(this.subjects.presenceResync, IM.Cluster.PresenceResync.encode({ requesterId: this.selfId, serverId }).finish());
  }
}
