/** A msg_server life the detector gave up on. */
export interface DeadIncarnation {
  serverId: string;
  incarnation: number;
  /** How long it had been silent when declared dead. */
  silentMs: number;
}

/** What a beacon means to the detector. */
export type BeaconVerdict =
  /** A life already watched. */
  | 'alive'
  /** A server or incarnation not watched before (ask it for its presence). */
  | 'new'
  /** An incarnation declared dead: it must be told again (it may have missed the news). */
  | 'dead'
  /** An incarnation older than the one watched: a late packet, ignore it. */
  | 'stale';

export interface FailureDetectorOptions {
  /** Silence after which an incarnation is declared dead. */
  suspicionTimeoutMs: number;
  /** How long a dead incarnation is remembered, so its late messages are recognised (default 10 min). */
  tombstoneMs?: number;
  now?: () => number;
}

interface Watched {
  incarnation: number;
  lastHeardAt: number;
}

/**
 * Heartbeat failure detector for msg_servers: each sends a beacon (server
 * id, incarnation) every few hundred ms; one silent for longer than the
 * suspicion timeout is declared dead, once. Deaths are remembered by
 * incarnation, so a server that was only hung (SIGSTOP, a long pause) and
 * speaks again is recognised as a dead life and told so; it comes back as a
 * new incarnation.
 *
 * The detector's own pauses must not kill anybody: `pardon()` gives every
 * watched server a fresh start (after this process was late itself, or its
 * bus was disconnected and nothing could be heard).
 */
export class FailureDetector {
  private readonly watched = new Map<string, Watched>();
  /** serverId -> highest incarnation declared dead, and until when that is remembered. */
  private readonly dead = new Map<string, { incarnation: number; until: number }>();
  private readonly now: () => number;
  private readonly tombstoneMs: number;

  constructor(private readonly options: FailureDetectorOptions) {
    assertDetectorTimes(options.suspicionTimeoutMs);
    this.now = options.now ?? Date.now;
    this.tombstoneMs = options.tombstoneMs ?? 600_000;
  }

  get suspicionTimeoutMs(): number {
    return this.options.suspicionTimeoutMs;
  }

  heard(serverId: string, incarnation: number): BeaconVerdict {
    if (this.isDead(serverId, incarnation)) return 'dead';
    const w = this.watched.get(serverId);
    if (w && incarnation < w.incarnation) return 'stale';
    const fresh = !w || incarnation > w.incarnation;
    this.watched.set(serverId, { incarnation, lastHeardAt: this.now() });
    return fresh ? 'new' : 'alive';
  }

  /** Whether this incarnation (or a later one) of the server was declared dead. */
  isDead(serverId: string, incarnation: number): boolean {
    const d = this.dead.get(serverId);
    return d !== undefined && incarnation <= d.incarnation;
  }

  /** Another replica declared that incarnation dead: the same verdict here. */
  learnDead(serverId: string, incarnation: number): void {
    const w = this.watched.get(serverId);
    if (w && w.incarnation <= incarnation) this.watched.delete(serverId);
    const d = this.dead.get(serverId);
    if (!d || d.incarnation < incarnation) this.dead.set(serverId, { incarnation, until: this.now() + this.tombstoneMs });
  }

  /** A server that left in good order (drained) is no longer watched, and not dead. */
  forget(serverId: string): void {
    this.watched.delete(serverId);
  }

  /** Declares the servers silent past the timeout dead (each once) and returns them. */
  sweep(): DeadIncarnation[] {
    const now = this.now();
    const out: DeadIncarnation[] = [];
    for (const [serverId, w] of this.watched) {
      const silentMs = now - w.lastHeardAt;
      if (silentMs <= this.options.suspicionTimeoutMs) continue;
      this.watched.delete(serverId);
      this.dead.set(serverId, { incarnation: w.incarnation, until: now + this.tombstoneMs });
      out.push({ serverId, incarnation: w.incarnation, silentMs });
    }
    for (const [serverId, d] of this.dead) if (d.until <= now) this.dead.delete(serverId);
    return out;
  }

  /** Every watched server counts as heard now (the detector could not listen for a while). */
  pardon(): void {
    const now = this.now();
    for (const w of this.watched.values()) w.lastHeardAt = now;
  }

  get watchedCount(): number {
    return this.watched.size;
  }
}

/**
 * The two settings of the detector, checked together: a suspicion timeout of
 * fewer than 3 beacon intervals would declare a server dead after one or two
 * late beacons.
 */
export function assertDetectorTimes(suspicionTimeoutMs: number, beaconIntervalMs?: number): void {
  if (!Number.isFinite(suspicionTimeoutMs) || suspicionTimeoutMs <= 0) throw new RangeError(`suspicion timeout must be a positive number of ms, got ${suspicionTimeoutMs}`);
  if (beaconIntervalMs !== undefined && suspicionTimeoutMs < 3 * beaconIntervalMs) {
    throw new RangeError(`MSG_SERVER_SUSPICION_TIMEOUT_MS (${suspicionTimeoutMs}) must be at least 3 x MSG_SERVER_BEACON_INTERVAL_MS (${beaconIntervalMs})`);
  }
}
