/** A front a msg_server listens with, besides TeamTalk's own port (IM.Core.FrontAddress). */
export interface FrontAddress {
  /** "ws", … ("teamtalk" is the entry's own port). */
  protocol: string;
  port: number;
  /** URL path of URL-based fronts ("/ws"); empty when not reported. */
  path: string;
  /** This address speaks TLS (wss:// for URL-based fronts); a protocol's plain address comes first. */
  tls?: boolean;
}

/** What login_server knows about one msg_server, from its NATS reports. */
export interface MsgServerEntry {
  serverId: string;
  priorIp: string;
  backupIp: string;
  /** TeamTalk's port. */
  port: number;
  maxConnections: number;
  connections: number;
  draining: boolean;
  /** Every front it reported (MsgServerReport.fronts); older msg_servers report none. */
  fronts: FrontAddress[];
  /** Which life of the server reported (0: a server that does not say). */
  incarnation: number;
  /** Clients sent there since its last report: not in `connections` yet. */
  assignedSinceReport: number;
  expiresAt: number;
}

export type PickResult =
  | { code: 0; server: MsgServerEntry; front?: FrontAddress }
  | { code: 1; reason: string }
  | { code: 2; reason: string };

/** TeamTalk's binary protocol: every msg_server speaks it on its main port. */
export const TEAMTALK_PROTOCOL = 'teamtalk';

/**
 * The live msg_servers. An entry lives until its report's TTL runs out, so a
 * msg_server that dies without a word drops out by itself; sooner when
 * route_server declares it dead (`down`), within its suspicion timeout.
 */
export class MsgServerRegistry {
  private readonly servers = new Map<string, MsgServerEntry>();
  /** serverId -> highest incarnation declared dead: its late reports are ignored. */
  private readonly dead = new Map<string, { incarnation: number; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A report replaces what was known, and with it the count of clients sent there before it. */
  report(entry: Omit<MsgServerEntry, 'expiresAt' | 'fronts' | 'incarnation' | 'assignedSinceReport'> & { fronts?: FrontAddress[]; incarnation?: number }, ttlMs: number): void {
    const incarnation = entry.incarnation ?? 0;
    const dead = this.dead.get(entry.serverId);
    if (dead && incarnation > 0 && incarnation <= dead.incarnation) return;
    const known = this.servers.get(entry.serverId);
    if (known && incarnation < known.incarnation) return;
    this.servers.set(entry.serverId, { ...entry, fronts: entry.fronts ?? [], incarnation, assignedSinceReport: 0, expiresAt: this.now() + ttlMs });
  }

  remove(serverId: string): boolean {
    return this.servers.delete(serverId);
  }

  /** route_server declared that incarnation dead: stop handing it out now, and ignore its late reports. */
  down(serverId: string, incarnation: number, rememberMs = 600_000): boolean {
    const now = this.now();
    for (const [id, d] of this.dead) if (d.until <= now) this.dead.delete(id);
    const known = this.dead.get(serverId);
    if (!known || known.incarnation < incarnation) this.dead.set(serverId, { incarnation, until: now + rememberMs });
    const entry = this.servers.get(serverId);
    if (!entry || entry.incarnation > incarnation) return false;
    return this.servers.delete(serverId);
  }

  /** Live entries, pruning the expired ones. */
  live(): MsgServerEntry[] {
    const now = this.now();
    for (const [id, entry] of this.servers) if (entry.expiresAt <= now) this.servers.delete(id);
    return [...this.servers.values()];
  }

  /**
   * The least-loaded msg_server that is neither full nor draining, among those
   * with a front for `protocol` (default TeamTalk's, which every one has).
   * Load is the reported connections plus the clients sent there since that
   * report, so a reconnect storm (a msg_server died) spreads over the live
   * servers instead of piling onto the one that looked emptiest.
   */
  pick(protocol: string = TEAMTALK_PROTOCOL): PickResult {
    const frontOf = (s: MsgServerEntry) => (protocol === TEAMTALK_PROTOCOL ? undefined : s.fronts.find((f) => f.protocol === protocol));
    const candidates = this.live().filter((s) => !s.draining && (protocol === TEAMTALK_PROTOCOL || frontOf(s) !== undefined));
    if (candidates.length === 0) return { code: 1, reason: protocol === TEAMTALK_PROTOCOL ? 'no msg_server available' : `no msg_server available for protocol ${protocol}` };
    let best: MsgServerEntry | undefined;
    const load = (s: MsgServerEntry) => s.connections + s.assignedSinceReport;
    for (const s of candidates) {
      if (load(s) >= s.maxConnections) continue;
      if (!best || load(s) < load(best)) best = s;
    }
    if (!best) return { code: 2, reason: 'all msg_servers are full' };
    best.assignedSinceReport += 1;
    const front = frontOf(best);
    return front ? { code: 0, server: best, front } : { code: 0, server: best };
  }
}
