import { createPrivateKey, type KeyObject } from 'node:crypto';
import { H2Connection, H2TransportError, type H2Response } from './h2';
import { signJwt } from './jwt';
import { DEFAULT_EXPIRATION_SECONDS, parseRetryAfter, type PushMessage, type PushProvider, type PushResult } from './types';

export const APNS_PRODUCTION_URL = 'https://api.push.apple.com';
export const APNS_DEVELOPMENT_URL = 'https://api.sandbox.push.apple.com';

export interface ApnsOptions {
  /** Default APNS_PRODUCTION_URL; `http://host:port` = cleartext HTTP/2 (prior knowledge), for tests. */
  url?: string;
  /** The .p8 signing key (PKCS#8 PEM, P-256) as text or a KeyObject. */
  key: string | Buffer | KeyObject;
  /** The key's 10-character Key ID (JWT header kid). */
  keyId: string;
  /** The 10-character Team ID (JWT claim iss). */
  teamId: string;
  /** apns-topic: the app's bundle id. */
  topic: string;
  /**
   * Age at which the provider token is replaced. Apple refuses tokens older
   * than 1 h (ExpiredProviderToken) and refreshes more often than every
   * 20 min (TooManyProviderTokenUpdates); default 50 min.
   */
  tokenRefreshMs?: number;
  /** apns-priority: 10 = now, 5 = power-considerate. Default 10. */
  priority?: 10 | 5;
  requestTimeoutMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Reasons under which the token itself, not the request, is at fault (Apple's list). */
const DEAD_TOKEN_400 = new Set(['BadDeviceToken']);
const PROVIDER_TOKEN_403 = new Set(['ExpiredProviderToken', 'InvalidProviderToken', 'MissingProviderToken']);

/**
 * APNs provider API client with token-based (JWT) authentication. One HTTP/2
 * session for every send; the provider token is signed once and reused until
 * tokenRefreshMs, or renewed at once when APNs says it is expired or invalid.
 */
export class ApnsProvider implements PushProvider {
  readonly name = 'apns' as const;
  private readonly conn: H2Connection;
  private readonly key: KeyObject;
  private readonly now: () => number;
  private readonly tokenRefreshMs: number;
  private token?: { jwt: string; issuedAt: number };

  constructor(private readonly options: ApnsOptions) {
    this.key = toPrivateKey(options.key);
    if (this.key.asymmetricKeyType !== 'ec' || this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new TypeError('the APNs key must be a P-256 (prime256v1) EC private key');
    }
    this.now = options.now ?? Date.now;
    this.tokenRefreshMs = options.tokenRefreshMs ?? 50 * 60_000;
    this.conn = new H2Connection(options.url ?? APNS_PRODUCTION_URL, { requestTimeoutMs: options.requestTimeoutMs });
  }

  get url(): string {
    return this.conn.origin;
  }

  /** HTTP/2 sessions opened so far. */
  get connects(): number {
    return this.conn.connects;
  }

  /** The current provider token (JWT), signed anew when missing, too old, or forced. */
  providerToken(force = false): string {
    const now = this.now();
    if (!force && this.token && now - this.token.issuedAt < this.tokenRefreshMs) return this.token.jwt;
    const jwt = signJwt(
      { alg: 'ES256', kid: this.options.keyId },
      { iss: this.options.teamId, iat: Math.floor(now / 1000) },
      this.key,
    );
    this.token = { jwt, issuedAt: now };
    return jwt;
  }

  async send(message: PushMessage): Promise<PushResult> {
    const first = await this.post(message, false);
    if (first.kind !== 'auth') return first;
    // Expired/invalid provider token: sign a new one and try once more.
    const second = await this.post(message, true);
    if (second.kind !== 'auth') return second;
    return { kind: 'failed', reason: `APNs refused a fresh provider token: ${second.reason} (check key id, team id and key)` };
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private async post(message: PushMessage, forceToken: boolean): Promise<PushResult | { kind: 'auth'; reason: string }> {
    const now = this.now();
    const expiration = message.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const headers: Record<string, string> = {
      authorization: `bearer ${this.providerToken(forceToken)}`,
      'apns-topic': this.options.topic,
      'apns-push-type': 'alert',
      'apns-priority': String(this.options.priority ?? 10),
      'apns-expiration': String(expiration === 0 ? 0 : Math.floor(now / 1000) + expiration),
      'content-type': 'application/json',
    };
    if (message.collapseId !== undefined) headers['apns-collapse-id'] = message.collapseId;
    const aps: Record<string, unknown> = { alert: message.alert, sound: 'default' };
    if (message.badge !== undefined) aps.badge = message.badge;
    const payload = { ...message.data, aps };

    let res: H2Response;
    try {
      res = await this.conn.request({
        method: 'POST',
        path: `/3/device/${encodeURIComponent(message.deviceToken)}`,
        headers,
        body: JSON.stringify(payload),
      });
    } catch (err) {
      if (err instanceof H2TransportError) return { kind: 'retry', reason: `APNs unreachable: ${err.message}` };
      throw err;
    }
    return classifyApnsResponse(res, now);
  }
}

function classifyApnsResponse(res: H2Response, now: number): PushResult | { kind: 'auth'; reason: string } {
  if (res.status === 200) {
    const id = res.headers['apns-id'];
    return { kind: 'ok', id: typeof id === 'string' ? id : undefined };
  }
  let reason = `HTTP ${res.status}`;
  try {
    const body = JSON.parse(res.body.toString('utf8'));
    if (body && typeof body.reason === 'string') reason = body.reason;
  } catch {
    // no JSON body: keep the status
  }
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
  switch (true) {
    case res.status === 410:
      return { kind: 'dead-token', reason };
    case res.status === 400 && DEAD_TOKEN_400.has(reason):
      return { kind: 'dead-token', reason };
    case res.status === 403 && PROVIDER_TOKEN_403.has(reason):
      return { kind: 'auth', reason };
    case res.status === 429 || res.status >= 500:
      return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
    default:
      return { kind: 'failed', reason: reason.startsWith('HTTP ') ? reason : `${reason} (HTTP ${res.status})` };
  }
}

function toPrivateKey(key: string | Buffer | KeyObject): KeyObject {
  if (typeof key === 'string' || Buffer.isBuffer(key)) return createPrivateKey(key);
  if (key.type !== 'private') throw new TypeError('the APNs key must be a private key');
  return key;
}
