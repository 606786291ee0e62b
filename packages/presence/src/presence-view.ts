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

  applyPresence(serverId: string, seq: number, conn: RoutedConnection, online: boolean) {
    return this.watch([conn.userId], () => this.table.applyPresence(serverId, seq, conn, online));
  }

  applySnapshot(serverId: string, seq: number, conns: RoutedConnection[]): void {
    const users = new Set([...this.table.usersOn(serverId), ...conns.map((c) => c.userId)]);
    this.watch(users, () => this.table.applySnapshot(serverId, seq, conns));
  }

  removeServer(serverId: string): void {
    this.watch(this.table.usersOn(serverId), () => this.table.removeServer(serverId));
  }

  expireServers(): string[] {
    const expiring = this.table.expiredServerIds();
    for (const id of expiring) this.removeServer(id);
    return expiring;
  }

  private watch<T>(userIds: Iterable<number>, apply: () => T): T {
    const users = [...userIds];
    const before = users.map((u) => this.table.userStatus(u));
    const result = apply();
    users.forEach((userId, i) => {
      const status = this.table.userStatus(userId);
      if (status !== before[i]) this.onChange({ userId, status });
    });
    return result;
  }
}
