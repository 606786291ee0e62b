import { Counter, type Registry } from 'prom-client';
import { LoginThrottle, type LoginThrottleSettings, type ThrottleCache } from './login-throttle';

/** What the throttle logs with (a pino logger fits). */
export interface ThrottleLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * The log-in throttle with its metrics and log line: tt_login_throttled_total{reason},
 * tt_login_failures_total, and a warning when a key starts being throttled (once per key
 * per window). db_proxy (users) and login_server (operators) both build theirs with it.
 */
export function instrumentedLoginThrottle(cache: ThrottleCache, settings: LoginThrottleSettings, opts: { log?: ThrottleLog; registry?: Registry; prefix?: string; now?: () => number } = {}): LoginThrottle {
  const registers = opts.registry ? [opts.registry] : [];
  const throttled = existing<Counter<'reason'>>(opts.registry, 'tt_login_throttled_total') ?? new Counter({ name: 'tt_login_throttled_total', help: 'Log-in attempts refused by the back-off without a password check, by the key that was throttled', labelNames: ['reason'] as const, registers });
  const failures = existing<Counter>(opts.registry, 'tt_login_failures_total') ?? new Counter({ name: 'tt_login_failures_total', help: 'Log-in attempts with a wrong password, an unknown or a disabled account', registers });
  const log = opts.log;
  return new LoginThrottle(
    cache,
    settings,
    {
      now: opts.now,
      onRefused: (reason) => throttled.inc({ reason }),
      onFailure: () => failures.inc(),
      onThrottleStart: (e) => log?.warn({ reason: e.reason, account: e.account, address: e.address, failures: e.failures, waitMs: e.waitMs }, 'log-in throttled: too many failed attempts'),
      onError: (err) => log?.warn({ err }, 'log-in throttle: cache unavailable, attempt let through'),
    },
    opts.prefix,
  );
}

/** Standalone runs db_proxy and login_server on one registry: the second one reuses the first one's counters. */
function existing<T>(registry: Registry | undefined, name: string): T | undefined {
  return registry?.getSingleMetric(name) as T | undefined;
}
