import { createPrivateKey, type KeyObject } from 'node:crypto';
import { H2Connection, H2TransportError, type H2Response } from './h2';
import { signJwt } from './jwt';
import { DEFAULT_EXPIRATION_SECONDS, parseRetryAfter, type PushMessage, type PushProvider, type PushResult } from './types';

export const FCM_DEFAULT_URL = 'https://fcm.googleapis.com';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

/** The fields of a Google service-account JSON key file that FCM needs. */
export interface ServiceAccount {
  client_email: string;
  private_key: string;
  project_id: string;
  token_uri?: string;
  private_key_id?: string;
}

export interface FcmOptions {
  serviceAccount: ServiceAccount;
  /** Default FCM_DEFAULT_URL; `http://` = cleartext HTTP/2 (prior knowledge), for tests. */
  url?: string;
  /** OAuth2 token endpoint; default the service account's token_uri, else GOOGLE_TOKEN_URL. */
  tokenUrl?: string;
  requestTimeoutMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

type SendOutcome = PushResult | { kind: 'unauthenticated'; reason: string };

/**
 * FCM HTTP v1 client: a service-account JWT (RS256) is exchanged for an
 * OAuth2 access token (jwt-bearer grant), cached until shortly before it
 * expires and renewed once when FCM answers 401; messages go to
 * POST /v1/projects/<project>/messages:send over one reused HTTP/2 session.
 */
export class FcmProvider implements PushProvider {
  readonly name = 'fcm' as const;
  readonly tokenUrl: string;
  private readonly key: KeyObject;
  private readonly conn: H2Connection;
  private readonly tokenConn: H2Connection;
  private readonly now: () => number;
  private accessToken?: { token: string; refreshAt: number };
  private pendingToken?: Promise<{ token: string } | { error: PushResult }>;
  /** Access tokens obtained so far (tests check caching with it). */
  tokenFetches = 0;

  constructor(private readonly options: FcmOptions) {
    const sa = options.serviceAccount;
    this.key = createPrivateKey(sa.private_key);
    if (this.key.asymmetricKeyType !== 'rsa') throw new TypeError('the service account private_key must be an RSA key');
    this.now = options.now ?? Date.now;
    this.tokenUrl = options.tokenUrl ?? sa.token_uri ?? GOOGLE_TOKEN_URL;
    this.conn = new H2Connection(options.url ?? FCM_DEFAULT_URL, { requestTimeoutMs: options.requestTimeoutMs });
    this.tokenConn = new H2Connection(this.tokenUrl, { requestTimeoutMs: options.requestTimeoutMs });
  }

  get url(): string {
    return this.conn.origin;
  }

  get projectId(): string {
    return this.options.serviceAccount.project_id;
  }

  /** HTTP/2 sessions opened to the FCM endpoint so far. */
  get connects(): number {
    return this.conn.connects;
  }

  async send(message: PushMessage): Promise<PushResult> {
    const first = await this.post(message);
    if (first.kind !== 'unauthenticated') return first;
    this.accessToken = undefined; // revoked or expired early: get a new one, once
    const second = await this.post(message);
    if (second.kind !== 'unauthenticated') return second;
    return { kind: 'failed', reason: `FCM refused a fresh access token: ${second.reason}` };
  }

  async close(): Promise<void> {
    await Promise.all([this.conn.close(), this.tokenConn.close()]);
  }

  /** A valid access token, from the cache or the token endpoint (one fetch at a time). */
  async getAccessToken(): Promise<{ token: string } | { error: PushResult }> {
    if (this.accessToken && this.now() < this.accessToken.refreshAt) return { token: this.accessToken.token };
    if (!this.pendingToken) {
      this.pendingToken = this.fetchAccessToken().finally(() => {
        this.pendingToken = undefined;
      });
    }
    return this.pendingToken;
  }

  private async fetchAccessToken(): Promise<{ token: string } | { error: PushResult }> {
    const sa = this.options.serviceAccount;
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const header: { alg: 'RS256'; typ: string; kid?: string } = { alg: 'RS256', typ: 'JWT' };
    if (sa.private_key_id) header.kid = sa.private_key_id;
    const assertion = signJwt(header, { iss: sa.client_email, scope: FCM_SCOPE, aud: this.tokenUrl, iat, exp: iat + 3600 }, this.key);
    const url = new URL(this.tokenUrl);
    let res: H2Response;
    try {
      res = await this.tokenConn.request({
        method: 'POST',
        path: url.pathname + url.search,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
      });
    } catch (err) {
      if (err instanceof H2TransportError) return { error: { kind: 'retry', reason: `OAuth2 token endpoint unreachable: ${err.message}` } };
      throw err;
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      // not JSON
    }
    if (res.status !== 200) {
      const what = [body.error, body.error_description].filter((x) => typeof x === 'string').join(': ') || `HTTP ${res.status}`;
      const reason = `OAuth2 token request failed: ${what}`;
      if (res.status === 429 || res.status >= 500) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
        return { error: retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs } };
      }
      return { error: { kind: 'failed', reason } };
    }
    const token = body.access_token;
    const expiresIn = Number(body.expires_in ?? 3600);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      return { error: { kind: 'failed', reason: 'OAuth2 token response without access_token/expires_in' } };
    }
    this.tokenFetches++;
    // Renew a little before the end: 5 min early, or 10% early for short-lived tokens.
    const marginS = Math.min(300, expiresIn / 10);
    this.accessToken = { token, refreshAt: now + (expiresIn - marginS) * 1000 };
    return { token };
  }

  private async post(message: PushMessage): Promise<SendOutcome> {
    const auth = await this.getAccessToken();
    if ('error' in auth) return auth.error;
    const now = this.now();
    let res: H2Response;
    try {
      res = await this.conn.request({
        method: 'POST',
        path: `/v1/projects/${encodeURIComponent(this.projectId)}/messages:send`,
        headers: { authorization: `Bearer ${auth.token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ message: fcmMessage(message) }),
      });
    } catch (err) {
      if (err instanceof H2TransportError) return { kind: 'retry', reason: `FCM unreachable: ${err.message}` };
      throw err;
    }
    return classifyFcmResponse(res, now);
  }
}

/** The v1 `message` object for one notification. */
export function fcmMessage(message: PushMessage): Record<string, unknown> {
  const notification: Record<string, string> = { body: message.alert.body };
  if (message.alert.title !== undefined) notification.title = message.alert.title;
  const expiration = message.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const androidNotification: Record<string, unknown> = {};
  if (message.badge !== undefined) androidNotification.notification_count = message.badge;
  if (message.collapseId !== undefined) androidNotification.tag = message.collapseId;
  const android: Record<string, unknown> = { priority: 'HIGH', ttl: `${expiration}s` };
  if (message.collapseId !== undefined) android.collapse_key = message.collapseId;
  if (Object.keys(androidNotification).length > 0) android.notification = androidNotification;
  const out: Record<string, unknown> = { token: message.deviceToken, notification, android };
  if (message.badge !== undefined) out.apns = { payload: { aps: { badge: message.badge } } };
  if (message.data && Object.keys(message.data).length > 0) out.data = message.data;
  return out;
}

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<Record<string, unknown>>;
}

function classifyFcmResponse(res: H2Response, now: number): SendOutcome {
  let body: { name?: unknown; error?: GoogleError } | undefined;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (res.status === 200) return { kind: 'ok', id: typeof body?.name === 'string' ? body.name : undefined };

  const error = body && typeof body.error === 'object' && body.error !== null ? body.error : undefined;
  const details = Array.isArray(error?.details) ? error!.details : [];
  const fcmCode = details.find((d) => d['@type'] === FCM_ERROR_TYPE)?.errorCode;
  const status = typeof error?.status === 'string' ? error.status : undefined;
  const reason = [fcmCode ?? status ?? `HTTP ${res.status}`, error?.message].filter(Boolean).join(': ');
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
  const retry = (): PushResult => (retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs });

  // A dead token is only believed from a Google-shaped JSON error: a bare 404
  // (wrong URL, a proxy) must not wipe device tokens.
  if (fcmCode === 'UNREGISTERED') return { kind: 'dead-token', reason };
  if (res.status === 404 && status === 'NOT_FOUND') return { kind: 'dead-token', reason };
  if (res.status === 400 && isAboutTheToken(error, details)) return { kind: 'dead-token', reason };
  if (res.status === 401) {
    // THIRD_PARTY_AUTH_ERROR is about the APNs/web-push credentials in the Firebase project, not our token.
    return fcmCode === 'THIRD_PARTY_AUTH_ERROR' ? { kind: 'failed', reason } : { kind: 'unauthenticated', reason };
  }
  if (res.status === 429 || res.status >= 500 || fcmCode === 'UNAVAILABLE' || fcmCode === 'INTERNAL' || fcmCode === 'QUOTA_EXCEEDED') return retry();
  return { kind: 'failed', reason };
}

/** INVALID_ARGUMENT that names the registration token (and nothing else) as the bad field. */
function isAboutTheToken(error: GoogleError | undefined, details: Array<Record<string, unknown>>): boolean {
  if (!error) return false;
  const violations = details
    .filter((d) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest' && Array.isArray(d.fieldViolations))
    .flatMap((d) => d.fieldViolations as Array<{ field?: string }>);
  if (violations.length > 0) return violations.every((v) => v.field === 'message.token');
  return /registration token/i.test(error.message ?? '');
}
