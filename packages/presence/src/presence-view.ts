import { RouteTable, type RoutedConnection } from './route-table';

export interface StatusChange {
  userId: number;
  status: number;
}

/**
 * A RouteTable that also reports when a user's overall status changes
 * (online / leave / offline across all their connections), which is what
 * IMUserStatNotify tells PC clients.
 */
export class PresenceView {
  readonly table: RouteTable;

  constructor(
    private readonly onChange: (change: StatusChange) => void,
    now: () => number = Date.now,
  ) {
    this.table = new RouteTable(now);
  }

  applyPresence(serverId: string, seq: number, conn: RoutedConnection, online: boolean, incarnation = 0) {
    // A new incarnation replaces the old one's connections: watch those users too.
    const replaced = this.replaces(serverId, incarnation) ? this.table.usersOn(serverId) : [];
    return this.watch([conn.userId, ...replaced], () => this.table.applyPresence(serverId, seq, conn, online, incarnation));
  }

  applySnapshot(serverId: string, seq: number, conns: RoutedConnection[], incarnation = 0): void {
    const users = new Set([...this.table.usersOn(serverId), ...conns.map((c) => c.userId)]);
    this.watch(users, () => this.table.applySnapshot(serverId, seq, conns, incarnation));
  }

  /** A report or beacon: a new incarnation drops the old one's connections. */
  touchServer(serverId: string, ttlMs: number, incarnation = 0): boolean {
    if (!this.replaces(serverId, incarnation)) return this.table.touchServer(serverId, ttlMs, incarnation);
    return this.watch(this.table.usersOn(serverId), () => this.table.touchServer(serverId, ttlMs, incarnation));
  }

  /** route_server declared that incarnation dead: its users go offline here. */
  markDead(serverId: string, incarnation: number): void {
    this.watch(this.table.usersOn(serverId), () => this.table.markDead(serverId, incarnation));
  }

  removeServer(serverId: string): void {
    this.watch(this.table.usersOn(serverId), () => this.table.removeServer(serverId));
  }

  expireServers(): string[] {
    const expiring = this.table.expiredServerIds();
    for (const id of expiring) this.removeServer(id);
    return expiring;
  }

  private replaces(serverId: string, incarnation: number): boolean {
    const current = this.table.incarnationOf(serverId);
    return current !== undefined && incarnation > current;
  }

  private watch<T>(userIds: Iterable<number>, apply: () => T): T {
    const users = [...new Set(userIds)];
    const before = users.map((u) => this.table.userStatus(u));
    const result = apply();
    users.forEach((userId, i) => {
      const status = this.table.userStatus(userId);
      if (status !== before[i]) this.onChange({ userId, status });
    });
    return result;
  }
}
