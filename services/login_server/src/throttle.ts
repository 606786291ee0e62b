import { DEFAULT_LOGIN_THROTTLE, instrumentedLoginThrottle, type LoginThrottle, type LoginThrottleSettings, type ThrottleLog } from '@tt/auth';
import { MemoryCache } from '@tt/cache';
import type { Registry } from 'prom-client';

/**
 * The back-off for operator log-ins (POST /api/v1/auth/login): the policy and
 * LOGIN_THROTTLE_* settings db_proxy applies to chat log-ins (which also covers
 * this server's token endpoints), with its state in this process's memory:
 * operators are few, and each login_server replica holds its own counts.
 */
export function operatorLoginThrottle(settings: LoginThrottleSettings = DEFAULT_LOGIN_THROTTLE, opts: { log?: ThrottleLog; registry?: Registry; now?: () => number } = {}): LoginThrottle {
  const cache = new MemoryCache({ maxEntries: 100_000, now: opts.now });
  return instrumentedLoginThrottle(cache, settings, { ...opts, prefix: 'lt:op' });
}
