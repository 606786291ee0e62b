import type { ClientConnection } from './connection';

/** The connections of this msg_server, by id and by logged-in user. */
export class ConnectionRegistry {
  private readonly all = new Map<number, ClientConnection>();
  private readonly byUser = new Map<number, Set<ClientConnection>>();
  /** Kept as a count: it is read on every login and close. */
  private loggedInConnections = 0;

  add(conn: ClientConnection): void {
    this.all.set(conn.id, conn);
  }

  /** Indexes a connection under its user once login succeeded. */
  bindUser(conn: ClientConnection): void {
    let set = this.byUser.get(conn.userId);
    if (!set) this.byUser.set(conn.userId, (set = new Set()));
    if (!set.has(conn)) this.loggedInConnections += 1;
    set.add(conn);
  }

  remove(conn: ClientConnection): void {
    this.all.delete(conn.id);
    const set = this.byUser.get(conn.userId);
    if (set) {
      if (set.delete(conn)) this.loggedInConnections -= 1;
      if (set.size === 0) this.byUser.delete(conn.userId);
    }
  }

  get(connId: number): ClientConnection | undefined {
    return this.all.get(connId);
  }

  ofUser(userId: number): Iterable<ClientConnection> {
    return this.byUser.get(userId) ?? [];
  }

  get size(): number {
    return this.all.size;
  }

  get loggedInCount(): number {
    return this.loggedInConnections;
  }

  values(): IterableIterator<ClientConnection> {
    return this.all.values();
  }

  loggedIn(): ClientConnection[] {
    const out: ClientConnection[] = [];
    for (const set of this.byUser.values()) for (const c of set) out.push(c);
    return out;
  }
}
