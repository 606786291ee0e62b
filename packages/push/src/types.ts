/** One notification for one device, provider-neutral. */
export interface PushMessage {
  /** APNs: the hex device token; FCM: the registration token. */
  deviceToken: string;
  alert: { title?: string; body: string };
  /** The recipient's total unread count (icon badge). */
  badge?: number;
  /** Notifications with the same id replace each other on the device (APNs apns-collapse-id, FCM collapse_key/tag). */
  collapseId?: string;
  /** How long the service keeps trying to deliver; default 24 h. 0 = deliver now or never. */
  expirationSeconds?: number;
  /** Custom key/value pairs for the app (APNs: top-level payload keys beside aps; FCM: message.data). */
  data?: Record<string, string>;
}

/**
 * What the caller should do with a send:
 * - ok: delivered to the service.
 * - dead-token: the service says the token will never work again; delete it.
 * - retry: transient (429, 5xx, network); try again later, not before retryAfterMs when given.
 * - failed: the request or our configuration is wrong; retrying the same request will not help.
 */
export type PushResult =
  | { kind: 'ok'; id?: string }
  | { kind: 'dead-token'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string };

export interface PushProvider {
  readonly name: 'apns' | 'fcm';
  send(message: PushMessage): Promise<PushResult>;
  /** Closes the connection(s); a later send opens new ones. */
  close(): Promise<void>;
}

export const DEFAULT_EXPIRATION_SECONDS = 24 * 3600;

/** Retry-After: delta-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
