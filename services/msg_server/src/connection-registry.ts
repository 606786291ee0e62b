import type { ClientConnection } from './connection';

/**
 * The connections of this msg_server, by id and by logged-in user. Most users
 * have one connection: it is kept as is, and a Set made only for a second one
 * (a Set per user cost ~150 bytes per idle connection).
 */
export class ConnectionRegistry {
  private readonly all = new Map<number, ClientConnection>();
  private readonly byUser = new Map<number, ClientConnection | Set<ClientConnection>>();
  /** Kept as a count: it is read on every login and close. */
  private loggedInConnections = 0;

  add(conn: ClientConnection): void {
    this.all.set(conn.id, conn);
  }

  /** Indexes a connection under its user once login succeeded. */
  bindUser(conn: ClientConnection): void {
    const userId = conn.userId;
    const held = this.byUser.get(userId);
    if (held === conn || (held instanceof Set && held.has(conn))) return;
    this.loggedInConnections += 1;
    if (held === undefined) this.byUser.set(userId, conn);
    else if (held instanceof Set) held.add(conn);
    else this.byUser.set(userId, new Set([held, conn]));
  }

  remove(conn: ClientConnection): void {
    this.all.delete(conn.id);
    const userId = conn.userId;
    const held = this.byUser.get(userId);
    if (held === conn) {
      this.byUser.delete(userId);
      this.loggedInConnections -= 1;
    } else if (held instanceof Set && held.delete(conn)) {
      this.loggedInConnections -= 1;
      if (held.size === 1) this.byUser.set(userId, held.values().next().value!);
    }
  }

  get(connId: number): ClientConnection | undefined {
    return this.all.get(connId);
  }

  ofUser(userId: number): Iterable<ClientConnection> {
    const held = this.byUser.get(userId);
    if (held === undefined) return [];
    return held instanceof Set ? held : [held];
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
    for (const held of this.byUser.values()) {
      if (held instanceof Set) for (const c of held) out.push(c);
      else out.push(held);
    }
    return out;
  }
}
