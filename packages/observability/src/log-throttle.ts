import type { Logger } from './logger';

export type ThrottledLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogThrottleOptions {
  /** Length of one window: a source logs a reason once per window; summaries are written at its end. Default: env LOG_REPEAT_INTERVAL_MS, else 10 s. */
  intervalMs?: number;
  /** Lines one reason may write per window over all sources (many connections each failing once). Default 10. */
  burst?: number;
  /** Sources remembered at once; the oldest is forgotten first. Default 10,000. */
  maxSources?: number;
  /** The clock (tests). */
  now?: () => number;
}

export const DEFAULT_REPEAT_INTERVAL_MS = 10_000;
/** Reasons are a program's fixed strings; this bounds the map should one ever carry client data. */
const MAX_REASONS = 256;

interface ReasonState {
  level: ThrottledLevel;
  msg: string;
  /** Lines written in this window. */
  written: number;
  /** Occurrences not written in this window. */
  suppressed: number;
}

/** LOG_REPEAT_INTERVAL_MS, checked (the config specs validate it at start too). */
export function repeatIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LOG_REPEAT_INTERVAL_MS;
  if (raw === undefined || raw === '') return DEFAULT_REPEAT_INTERVAL_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 10) throw new TypeError(`LOG_REPEAT_INTERVAL_MS: ${JSON.stringify(raw)} is not a whole number of milliseconds >= 10`);
  return ms;
}

/**
 * Keeps repeated warnings from becoming the attack: per (source, reason) — a source is a connection, an
 * address, a user — the first occurrence in a window is logged, later ones are only counted, and at the end
 * of the window one summary line per reason says how many were not logged. A reason also has a budget of
 * lines per window over all sources, so a thousand connections failing once each still write a few lines.
 * Metrics are not this class's business: callers count every event themselves.
 */
export class LogThrottle {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  /** source → reason → when that reason was last written for it. Insertion order = age, for eviction. */
  private readonly sources = new Map<string, Map<string, number>>();
  private readonly reasons = new Map<string, ReasonState>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    opts: LogThrottleOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? repeatIntervalFromEnv();
    this.burst = opts.burst ?? 10;
    this.maxSources = opts.maxSources ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  warn(source: string | number, reason: string, fields: Record<string, unknown>, msg: string): boolean {
    return this.write('warn', source, reason, fields, msg);
  }

  info(source: string | number, reason: string, fields: Record<string, unknown>, msg: string): boolean {
    return this.write('info', source, reason, fields, msg);
  }

  /** Logs the line unless this source already logged this reason in the window (or the reason's budget is spent); true if written. */
  write(level: ThrottledLevel, source: string | number, reason: string, fields: Record<string, unknown>, msg: string): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
    const state = this.reasonState(reason, level, msg);
    const key = String(source);
    const now = this.now();
    let seen = this.sources.get(key);
    const last = seen?.get(reason);
    if ((last !== undefined && now - last < this.intervalMs) || state.written >= this.burst) {
      state.suppressed++;
      return false;
    }
    if (!seen) {
      if (this.sources.size >= this.maxSources) this.sources.delete(this.sources.keys().next().value!);
      this.sources.set(key, (seen = new Map()));
    }
    seen.set(reason, now);
    state.written++;
    this.log[level]({ ...fields, reason }, msg);
    return true;
  }

  /** A source that is gone (a closed connection): its entries are dropped. */
  forget(source: string | number): void {
    this.sources.delete(String(source));
  }

  /** Sources remembered now (tests, and a bound worth checking). */
  get sourceCount(): number {
    return this.sources.size;
  }

  /** Ends the window: one summary line per reason that had lines held back, then every reason's budget is new. */
  flush(): void {
    const seconds = this.intervalMs / 1000;
    for (const [reason, state] of this.reasons) {
      if (state.suppressed > 0) {
        this.log[state.level]({ reason, suppressed: state.suppressed, windowMs: this.intervalMs }, `${state.msg} (${state.suppressed} more in the last ${seconds} s, not logged)`);
      }
      state.written = 0;
      state.suppressed = 0;
    }
  }

  /** Stops the window timer, writing what is still held back. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private reasonState(reason: string, level: ThrottledLevel, msg: string): ReasonState {
    let state = this.reasons.get(reason);
    if (!state) {
      if (this.reasons.size >= MAX_REASONS) {
        this.flush();
        this.reasons.clear();
      }
      this.reasons.set(reason, (state = { level, msg, written: 0, suppressed: 0 }));
    }
    state.level = level;
    state.msg = msg;
    return state;
  }
}
