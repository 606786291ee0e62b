// IM.BaseDefine.UserStatType values.
export const USER_STATUS_ONLINE = 1;
export const USER_STATUS_OFFLINE = 2;
export const USER_STATUS_LEAVE = 3;

/** One client connection, as a msg_server reported it. */
export interface RoutedConnection {
  userId: number;
  clientType: number;
  status: number;
  connId: number;
  /** The client protocol (msg_server front name), when the msg_server said. */
  front?: string | null;
}

interface ServerState {
  /** Which life of the server this state describes (0: a server that does not say). */
  incarnation: number;
  /** Highest presence seq applied; a gap means events were missed. */
  seq: number;
  expiresAt: number;
  conns: Map<number, RoutedConnection>;
}

export type PresenceApplyResult = 'applied' | 'stale' | 'gap';

/**
 * Which msg_servers hold which users. Every route_server replica keeps its own
 * copy, rebuilt from the msg_servers (snapshots and presence events), so no
 * replica is an authority whose loss matters.
 */
export class RouteTable {
  private readonly servers = new Map<string, ServerState>();
  /** userId -> serverId -> that user's connections there (so a user's look-ups never scan a server). */
  private readonly byUser = new Map<number, Map<string, RoutedConnection[]>>();
  /** serverId -> highest incarnation declared dead (MsgServerDown), and until when that is remembered. */
  private readonly dead = new Map<string, { incarnation: number; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * A msg_server (that incarnation of it) is alive until expiresAt; returns
   * true if it was unknown (its presence should be asked for). Reports of a
   * dead or older incarnation change nothing.
   */
  touchServer(serverId: string, ttlMs: number, incarnation = 0): boolean {
    const before = this.servers.get(serverId);
    const state = this.serverState(serverId, incarnation);
    if (!state) return false;
    state.expiresAt = this.now() + ttlMs;
    return state !== before;
  }

  /**
   * The server's incarnation was declared dead: drops it with its
   * connections (if that is the life known) and ignores whatever that life
   * still says. Returns the users that lost a connection.
   */
  markDead(serverId: string, incarnation: number, rememberMs = 600_000): number[] {
    const known = this.dead.get(serverId);
    if (!known || known.incarnation < incarnation) this.dead.set(serverId, { incarnation, until: this.now() + rememberMs });
    const state = this.servers.get(serverId);
    if (!state || state.incarnation > incarnation) return [];
    return this.removeServer(serverId);
  }

  /** Whether that incarnation of the server was declared dead. */
  isDead(serverId: string, incarnation = 0): boolean {
    const d = this.dead.get(serverId);
    return d !== undefined && incarnation <= d.incarnation;
  }

  /** The incarnation the table holds for a server (undefined: none). */
  incarnationOf(serverId: string): number | undefined {
    return this.servers.get(serverId)?.incarnation;
  }

  applyPresence(serverId: string, seq: number, conn: RoutedConnection, online: boolean, incarnation = 0): PresenceApplyResult {
    const state = this.serverState(serverId, incarnation);
    if (!state || seq <= state.seq) return 'stale';
    const gap = state.seq !== 0 && seq !== state.seq + 1;
    state.seq = seq;
    if (online) this.addConn(serverId, state, conn);
    else this.removeConn(serverId, state, conn.connId);
    return gap ? 'gap' : 'applied';
  }

  /** Replaces everything known about a server with its own full account. */
  applySnapshot(serverId: string, seq: number, conns: RoutedConnection[], incarnation = 0): void {
    const state = this.serverState(serverId, incarnation);
    if (!state) return;
    for (const connId of [...state.conns.keys()]) this.removeConn(serverId, state, connId);
    state.seq = seq;
    for (const conn of conns) this.addConn(serverId, state, conn);
  }

  /** Drops a server and all its connections; returns the users that lost a connection. */
  removeServer(serverId: string): number[] {
    const state = this.servers.get(serverId);
    if (!state) return [];
    const users = new Set<number>();
    for (const [connId, conn] of state.conns) {
      users.add(conn.userId);
      this.removeConn(serverId, state, connId);
    }
    this.servers.delete(serverId);
    return [...users];
  }

  /** Servers whose reports stopped: removes them and returns their ids. */
  expireServers(): string[] {
    const expired = this.expiredServerIds();
    for (const id of expired) this.removeServer(id);
    return expired;
  }

  expiredServerIds(): string[] {
    const now = this.now();
    for (const [id, d] of this.dead) if (d.until <= now) this.dead.delete(id);
    return [...this.servers].filter(([, s]) => s.expiresAt <= now).map(([id]) => id);
  }

  /** Groups the users by the msg_servers holding their connections. */
  serversFor(userIds: Iterable<number>, skipServerId?: string): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const userId of userIds) {
      const servers = this.byUser.get(userId);
      if (!servers) continue;
      for (const serverId of servers.keys()) {
        if (serverId === skipServerId) continue;
        const list = out.get(serverId);
        if (list) list.push(userId);
        else out.set(serverId, [userId]);
      }
    }
    return out;
  }

  /** Whether the user has a connection that matches (anywhere), without building a list. */
  /** Whether the user has a connection on any msg_server but `serverId`. */
  hasConnectionOutside(userId: number, serverId: string): boolean {
    const servers = this.byUser.get(userId);
    if (!servers) return false;
    for (const [id, conns] of servers) if (id !== serverId && conns.length > 0) return true;
    return false;
  }

  hasConnection(userId: number, matches: (conn: RoutedConnection) => boolean): boolean {
    const servers = this.byUser.get(userId);
    if (!servers) return false;
    for (const conns of servers.values()) for (const conn of conns) if (matches(conn)) return true;
    return false;
  }

  connectionsOf(userId: number): Array<RoutedConnection & { serverId: string }> {
    const servers = this.byUser.get(userId);
    if (!servers) return [];
    const out: Array<RoutedConnection & { serverId: string }> = [];
    for (const [serverId, conns] of servers) for (const conn of conns) out.push({ ...conn, serverId });
    return out;
  }

  /**
   * A user's status across all their connections: online if any connection
   * is online, leave if all are away, offline without connections.
   */
  userStatus(userId: number): number {
    const servers = this.byUser.get(userId);
    if (!servers) return USER_STATUS_OFFLINE;
    let leave = false;
    for (const conns of servers.values()) {
      for (const conn of conns) {
        if (conn.status !== USER_STATUS_LEAVE) return USER_STATUS_ONLINE;
        leave = true;
      }
    }
    return leave ? USER_STATUS_LEAVE : USER_STATUS_OFFLINE;
  }

  /** Users with a connection on a server (for change detection around a snapshot or removal). */
  usersOn(serverId: string): number[] {
    const state = this.servers.get(serverId);
    if (!state) return [];
    return [...new Set([...state.conns.values()].map((c) => c.userId))];
  }

  /** Users with at least one connection. */
  get userCount(): number {
    return this.byUser.size;
  }

  get serverCount(): number {
    return this.servers.size;
  }

  get connectionCount(): number {
    let n = 0;
    for (const s of this.servers.values()) n += s.conns.size;
    return n;
  }

  /**
   * The state of that incarnation of the server, created if new; a later
   * incarnation replaces an earlier one (whose connections are gone with
   * it); undefined for a dead or older incarnation, whose word no longer counts.
   */
  private serverState(serverId: string, incarnation: number): ServerState | undefined {
    if (this.isDead(serverId, incarnation) && incarnation > 0) return undefined;
    let state = this.servers.get(serverId);
    if (state && incarnation < state.incarnation) return undefined;
    if (state && incarnation > state.incarnation) {
      this.removeServer(serverId);
      state = undefined;
    }
    if (!state) {
      // Presence from a server we have no report from yet: keep it for a
      // while; its first report sets the real TTL.
      state = { incarnation, seq: 0, expiresAt: this.now() + 30_000, conns: new Map() };
      this.servers.set(serverId, state);
    }
    return state;
  }

  private addConn(serverId: string, state: ServerState, conn: RoutedConnection): void {
    if (state.conns.has(conn.connId)) this.removeConn(serverId, state, conn.connId);
    const stored = { ...conn };
    state.conns.set(conn.connId, stored);
    let servers = this.byUser.get(conn.userId);
    if (!servers) this.byUser.set(conn.userId, (servers = new Map()));
    const list = servers.get(serverId);
    if (list) list.push(stored);
    else servers.set(serverId, [stored]);
  }

  private removeConn(serverId: string, state: ServerState, connId: number): void {
    const conn = state.conns.get(connId);
    if (!conn) return;
    state.conns.delete(connId);
    const servers = this.byUser.get(conn.userId);
    const list = servers?.get(serverId);
    if (!servers || !list) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) servers.delete(serverId);
    if (servers.size === 0) this.byUser.delete(conn.userId);
  }
}
