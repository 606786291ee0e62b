import type { ClientConnection, Framer } from './connection';

export interface IdleSweepOptions<C extends ClientConnection<Framer>> {
  /** The connections to look at, read at every sweep. */
  connections(): Iterable<C>;
  /** How long this connection may stay silent (nothing received) before it is destroyed. */
  idleLimitMs(conn: C): number;
  /** Other limits the sweep must honour in time (it runs at a quarter of the shortest, between 100 ms and 5 s). */
  limitsMs?: number[];
  /**
   * When set, a connection without an identity is destroyed once this long
   * after connecting and is not looked at otherwise (no idle check, no
   * heartbeat). Without it every connection is treated alike.
   */
  loginTimeoutMs?: number;
  /** Told before a silent connection is destroyed (logging). */
  onIdle?(conn: C): void;
  /** A connection that has sent nothing for intervalMs gets send(conn) (server-side heartbeat). */
  heartbeat?: { intervalMs: number; send(conn: C): void };
  /** Runs after each sweep (other periodic housekeeping). */
  afterSweep?(): void;
}

export interface IdleSweeper {
  /** Sweeps now (tests); the timer sweeps on its own. */
  sweep(): void;
  stop(): void;
}

/** A quarter of the shortest limit, between 100 ms and 5 s. */
export function sweepIntervalMs(limitsMs: number[]): number {
  return Math.max(100, Math.min(5000, Math.min(...limitsMs) / 4));
}

/**
 * Closes connections whose client went silent and keeps quiet ones alive:
 * the periodic sweep every listener of client connections runs. The timer
 * does not keep the process alive.
 */
export function startIdleSweeper<C extends ClientConnection<Framer>>(opts: IdleSweepOptions<C>): IdleSweeper {
  const limits = [...(opts.limitsMs ?? [])];
  if (opts.loginTimeoutMs !== undefined) limits.push(opts.loginTimeoutMs);
  if (opts.heartbeat) limits.push(opts.heartbeat.intervalMs);
  const sweep = () => {
    const now = Date.now();
    for (const conn of opts.connections()) {
      if (opts.loginTimeoutMs !== undefined && !conn.identity) {
        if (now - conn.connectedAt > opts.loginTimeoutMs) conn.destroy();
        continue;
      }
      if (now - conn.lastReceivedAt > opts.idleLimitMs(conn)) {
        opts.onIdle?.(conn);
        conn.destroy();
      } else if (opts.heartbeat && now - conn.lastSentAt > opts.heartbeat.intervalMs) {
        opts.heartbeat.send(conn);
      }
    }
    opts.afterSweep?.();
  };
  // With no limit at all, Math.min() is Infinity: the sweep then runs every 5 s.
  const timer = setInterval(sweep, sweepIntervalMs(limits));
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
