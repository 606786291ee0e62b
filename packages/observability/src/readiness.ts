import type { ReadyResult } from './admin-server';

/**
 * Readiness that means "can serve clients", not "every dependency answered the
 * last ping". Each dependency is checked in the background every `intervalMs`
 * (so GET /readyz answers at once, whatever a dependency does) and counts as
 * down only after it has been failing for `graceMs` without a break: a short
 * MySQL, Redis or db_proxy blip, which every replica sees at the same moment,
 * must not take every replica out of its Service at once (a load balancer with
 * no endpoints refuses clients that could have been served). A dependency that
 * never answered since the process started counts as down at once: a replica
 * that was never ready does not become ready on credit.
 */
export interface DependencyWatchOptions {
  /** name → check; resolves truthy when the dependency is usable, rejects or resolves false otherwise. */
  checks: Record<string, () => Promise<unknown> | unknown>;
  /** How long a dependency may fail before readiness reports it (ms); 0 = at once. */
  graceMs: number;
  /** Interval between checks (ms). Default 1000. */
  intervalMs?: number;
  /** A check slower than this failed (ms). Default 2000. */
  timeoutMs?: number;
  /** Told when a dependency goes down or comes back (for logs). */
  onChange?: (name: string, up: boolean) => void;
  now?: () => number;
}

interface DependencyState {
  /** Answered at least once since start. */
  everUp: boolean;
  up: boolean;
  /** When the current run of failures began (ms), or undefined while up. */
  downSince?: number;
  /** The check under way, if any. */
  inflight?: Promise<void>;
}

export interface DependencyWatch {
  /** Runs every check now (after any under way) and waits for the results. */
  refresh(): Promise<void>;
  /** ok: every dependency up or failing for less than the grace period; details per dependency. */
  state(): ReadyResult & { details: Record<string, unknown> };
  close(): void;
}

export function watchDependencies(options: DependencyWatchOptions): DependencyWatch {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  const states = new Map<string, DependencyState>(Object.keys(options.checks).map((name) => [name, { everUp: false, up: false }]));

  /** One check of a dependency; the interval skips a dependency whose check is still under way, refresh() waits for it and checks again. */
  const runOne = async (name: string, again: boolean): Promise<void> => {
    const s = states.get(name)!;
    if (s.inflight) {
      if (!again) return;
      await s.inflight;
    }
    const done = check(name, s);
    s.inflight = done;
    await done;
    if (s.inflight === done) s.inflight = undefined;
  };

  const check = async (name: string, s: DependencyState): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    let up: boolean;
    try {
      up = Boolean(
        await Promise.race([
          Promise.resolve().then(() => options.checks[name]()),
          new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), timeoutMs);
          }),
        ]),
      );
    } catch {
      up = false;
    } finally {
      clearTimeout(timer);
    }
    const changed = up !== s.up;
    s.up = up;
    if (up) {
      s.everUp = true;
      s.downSince = undefined;
    } else {
      s.downSince ??= now();
    }
    if (changed) options.onChange?.(name, up);
  };

  const runAll = (again: boolean) => Promise.all([...states.keys()].map((name) => runOne(name, again))).then(() => undefined);
  const timer = setInterval(() => void runAll(false), options.intervalMs ?? 1000);
  timer.unref();
  void runAll(false);

  return {
    refresh: () => runAll(true),
    state: () => {
      const details: Record<string, unknown> = {};
      let ok = true;
      const t = now();
      for (const [name, s] of states) {
        const downForMs = s.downSince === undefined ? 0 : t - s.downSince;
        // Down and reported: never answered yet, or failing longer than the grace period.
        const reported = !s.up && (!s.everUp || downForMs >= options.graceMs);
        if (reported) ok = false;
        details[name] = s.up ? true : { up: false, downForMs, withinGrace: !reported };
      }
      return { ok, details };
    },
    close: () => clearInterval(timer),
  };
}
