/** What login_server knows about one msg_server, from its NATS reports. */
export interface MsgServerEntry {
  serverId: string;
  priorIp: string;
  backupIp: string;
  port: number;
  maxConnections: number;
  connections: number;
  draining: boolean;
  expiresAt: number;
}

export type PickResult =
  | { code: 0; server: MsgServerEntry }
  | { code: 1; reason: string }
  | { code: 2; reason: string };

/**
 * The live msg_servers. An entry lives until its report's TTL runs out, so a
 * msg_server that dies without a word drops out by itself.
 */
export class MsgServerRegistry {
  private readonly servers = new Map<string, MsgServerEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  report(entry: Omit<MsgServerEntry, 'expiresAt'>, ttlMs: number): void {
    this.servers.set(entry.serverId, { ...entry, expiresAt: this.now() + ttlMs });
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

  /** The least-loaded msg_server that is neither full nor draining. */
  pick(): PickResult {
    const candidates = this.live().filter((s) => !s.draining);
    if (candidates.length === 0) return { code: 1, reason: 'no msg_server available' };
    let best: MsgServerEntry | undefined;
    for (const s of candidates) {
      if (s.connections >= s.maxConnections) continue;
      if (!best || s.connections < best.connections) best = s;
    }
    if (!best) return { code: 2, reason: 'all msg_servers are full' };
    // Count the client we are about to send there, so a burst of requests
    // between two reports spreads over the servers instead of piling on one.
    best.connections += 1;
    return { code: 0, server: best };
  }
}
