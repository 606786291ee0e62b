import type { IM } from '@tt/proto';

/** The IP of a connection's "ip:port" remote address (IPv6 too): what db_proxy's per-address log-in throttle counts. */
export function clientIpOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(':');
  const ip = colon > 0 ? remoteAddress.slice(0, colon) : remoteAddress;
  return ip === 'undefined' ? '' : ip;
}

/**
 * Whole seconds to wait when db_proxy refused the log-in without checking the
 * password (the back-off after failed attempts); 0 when it did check.
 */
export function throttledSeconds(validation: IM.DbProxy.IValidateRsp): number {
  const ms = validation.retryAfterMs ?? 0;
  return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0;
}

/** The text every front puts in its "too many attempts" answer. */
export function throttledText(seconds: number): string {
  return `too many failed log-ins, retry in ${seconds} s`;
}
