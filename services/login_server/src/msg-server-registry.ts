/** A front a msg_server listens with, besides TeamTalk's own port (IM.Core.FrontAddress). */
export interface FrontAddress {
  /** "ws", … ("teamtalk" is the entry's own port). */
  protocol: string;
  port: number;
  /** URL path of URL-based fronts ("/ws"); empty when not reported. */
  path: string;
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
 * msg_server that dies without a word drops out by itself.
 */
export class MsgServerRegistry {
  private readonly servers = new Map<string, MsgServerEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  report(entry: Omit<MsgServerEntry, 'expiresAt' | 'fronts'> & { fronts?: FrontAddress[] }, ttlMs: number): void {
    this.servers.set(entry.serverId, { ...entry, fronts: entry.fronts ?? [], expiresAt: this.now() + ttlMs });
  }

  remove(serverId: string): boolean {
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
   */
  pick(protocol: string = TEAMTALK_PROTOCOL): PickResult {
    const frontOf = (s: MsgServerEntry) => (protocol === TEAMTALK_PROTOCOL ? undefined : s.fronts.find((f) => f.protocol === protocol));
    const candidates = this.live().filter((s) => !s.draining && (protocol === TEAMTALK_PROTOCOL || frontOf(s) !== undefined));
    if (candidates.length === 0) return { code: 1, reason: protocol === TEAMTALK_PROTOCOL ? 'no msg_server available' : `no msg_server available for protocol ${protocol}` };
    let best: MsgServerEntry | undefined;
    for (const s of candidates) {
      if (s.connections >= s.maxConnections) continue;
      if (!best || s.connections < best.connections) best = s;
    }
    if (!best) return { code: 2, reason: 'all msg_servers are full' };
    // Count the client we are about to send there, so a burst of requests
    // between two reports spreads over the servers instead of piling on one.
    best.connections += 1;
    const front = frontOf(best);
    return front ? { code: 0, server: best, front } : { code: 0, server: best };
  }
}
