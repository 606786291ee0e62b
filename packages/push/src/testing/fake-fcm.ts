import { randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http2';
import { FCM_ERROR_TYPE, FCM_SCOPE, JWT_BEARER_GRANT } from '../fcm';
import { toPublicKey, verifyJwt } from '../jwt';
import { FakeH2Server, type Answer } from './h2-server';

export interface FakeFcmOptions {
  /** Public key (or the private key) of the service account. */
  publicKey: KeyObject | string;
  clientEmail: string;
  projectId: string;
  /** Path of the OAuth2 token endpoint on this server. Default '/token'. */
  tokenPath?: string;
  /** expires_in of issued access tokens. Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Clock in ms (tests share it with the provider). */
  now?: () => number;
}

export interface FcmDelivery {
  projectId: string;
  accessToken: string;
  message: Record<string, unknown> & { token: string };
  name: string;
}

const MESSAGE_FIELDS = new Set(['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options', 'fcmOptions', 'token', 'topic', 'condition']);
const CLOCK_SKEW_S = 300;

/**
 * Google's OAuth2 token endpoint (jwt-bearer grant) and FCM HTTP v1
 * messages:send, over h2c. The token endpoint checks the form, the RS256
 * assertion's signature and its iss/scope/aud/iat/exp the way Google does and
 * answers {access_token, expires_in, token_type} or {error,
 * error_description}; messages:send checks the bearer token, project and
 * message and answers {name} or a google.rpc error body.
 */
export class FakeFcmServer extends FakeH2Server {
  /** Messages accepted (200), in order. */
  readonly delivered: FcmDelivery[] = [];
  /** Access tokens issued, in order. */
  readonly issuedTokens: string[] = [];
  private readonly publicKey: KeyObject;
  private readonly tokens = new Map<string, number>(); // access token -> expiry ms
  private readonly dead = new Set<string>();
  private readonly tokenScript: Answer[] = [];
  private readonly now: () => number;
  private sent = 0;

  constructor(private readonly options: FakeFcmOptions) {
    super();
    this.publicKey = toPublicKey(options.publicKey);
    this.now = options.now ?? Date.now;
  }

  get tokenPath(): string {
    return this.options.tokenPath ?? '/token';
  }

  /** The token endpoint's URL: what the provider must use as PUSH_FCM_TOKEN_URL and the assertion's aud. */
  get tokenUrl(): string {
    return this.url + this.tokenPath;
  }

  /** Every access token issued so far stops working (401 UNAUTHENTICATED), as after a revocation. */
  revokeAccessTokens(): void {
    this.tokens.clear();
  }

  /** Later sends to this registration token answer 404 NOT_FOUND / UNREGISTERED. */
  markDead(token: string): void {
    this.dead.add(token);
  }

  /** The next n token requests that pass verification get this answer. */
  failNextToken(n: number, status: number, body?: unknown, headers?: Record<string, string>): void {
    for (let i = 0; i < n; i++) this.tokenScript.push({ status, body, headers });
  }

  /** Token-endpoint requests received. */
  get tokenRequests() {
    return this.requests.filter((r) => r.path.split('?')[0] === this.tokenPath);
  }

  /** messages:send requests received. */
  get sendRequests() {
    return this.requests.filter((r) => r.path.split('?')[0] !== this.tokenPath);
  }

  protected handle(method: string, path: string, headers: IncomingHttpHeaders, body: string): Answer {
    if (path.split('?')[0] === this.tokenPath) return this.token(method, headers, body);
    const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
    // Google answers an unknown URL with an HTML 404 page, not a JSON error.
    if (!match) return { status: 404, body: `<html><title>Error 404 (Not Found)</title>${path} was not found on this server.</html>`, headers: { 'content-type': 'text/html; charset=UTF-8' } };
    if (method !== 'POST') return { status: 405, body: '<html><title>Error 405 (Method Not Allowed)</title></html>', headers: { 'content-type': 'text/html; charset=UTF-8' } };
    return this.send(decodeURIComponent(match[1]), headers, body);
  }

  private token(method: string, headers: IncomingHttpHeaders, body: string): Answer {
    const oauthError = (error: string, description: string, status = 400): Answer => ({ status, body: { error, error_description: description } });
    if (method !== 'POST') return { status: 405, body: '<html><title>Error 405 (Method Not Allowed)</title></html>', headers: { 'content-type': 'text/html; charset=UTF-8' } };
    const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return oauthError('invalid_request', 'Required parameter is missing: grant_type');
    const form = new URLSearchParams(body);
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError('invalid_request', 'Required parameter is missing: grant_type');
    if (grantType !== JWT_BEARER_GRANT) return oauthError('unsupported_grant_type', `Invalid grant_type: ${grantType}`);
    const assertion = form.get('assertion');
    if (!assertion) return oauthError('invalid_request', 'Missing required parameter: assertion');
    const jwt = verifyJwt(assertion, this.publicKey, 'RS256');
    if (!jwt) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const { iss, scope, aud, iat, exp } = jwt.claims;
    if (iss !== this.options.clientEmail) return oauthError('invalid_grant', 'Invalid grant: account not found');
    if (aud !== this.tokenUrl) return oauthError('invalid_grant', 'Invalid JWT: Failed audience check.');
    const nowS = this.now() / 1000;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || exp <= iat || iat > nowS + CLOCK_SKEW_S || exp < nowS - CLOCK_SKEW_S) {
      return oauthError('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    if (typeof scope !== 'string' || !scope.split(' ').includes(FCM_SCOPE)) return oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');

    const scripted = this.tokenScript.shift();
    if (scripted) return scripted;
    const ttl = this.options.accessTokenTtlSeconds ?? 3600;
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, this.now() + ttl * 1000);
    this.issuedTokens.push(accessToken);
    return { status: 200, body: { access_token: accessToken, expires_in: ttl, token_type: 'Bearer' } };
  }

  private send(projectId: string, headers: IncomingHttpHeaders, body: string): Answer {
    const auth = /^Bearer (.+)$/i.exec(String(headers.authorization ?? ''));
    const expiry = auth ? this.tokens.get(auth[1]) : undefined;
    if (!auth || expiry === undefined || this.now() >= expiry) {
      return googleError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        undefined,
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
    }
    if (projectId !== this.options.projectId) {
      return googleError(403, 'PERMISSION_DENIED', `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`);
    }
    const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected content type.');
    let parsed: { message?: Record<string, unknown> } & Record<string, unknown>;
    try {
      parsed = JSON.parse(body);
    } catch {
      return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.');
    }
    const problem = checkMessage(parsed);
    if (problem) return googleError(400, 'INVALID_ARGUMENT', problem.description, [badRequest(problem.field, problem.description)]);
    const message = parsed.message as FcmDelivery['message'];

    const scripted = this.scripted();
    if (scripted) return scripted;
    if (this.dead.has(message.token)) return googleError(404, 'NOT_FOUND', 'Requested entity was not found.', [{ '@type': FCM_ERROR_TYPE, errorCode: 'UNREGISTERED' }]);
    const name = `projects/${projectId}/messages/${++this.sent}`;
    this.delivered.push({ projectId, accessToken: auth[1], message, name });
    return { status: 200, body: { name } };
  }
}

/** A google.rpc.Status error body as Google APIs send it. */
export function googleError(code: number, status: string, message: string, details?: unknown[], headers?: Record<string, string>): Answer {
  const error: Record<string, unknown> = { code, message, status };
  if (details) error.details = details;
  return { status: code, body: { error }, headers };
}

function badRequest(field: string, description: string) {
  return { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] };
}

function checkMessage(body: Record<string, unknown>): { field: string; description: string } | undefined {
  for (const key of Object.keys(body)) {
    if (key !== 'message' && key !== 'validate_only' && key !== 'validateOnly') return { field: key, description: `Invalid JSON payload received. Unknown name "${key}": Cannot find field.` };
  }
  const m = body.message;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { field: 'message', description: 'Request contains an invalid argument.' };
  const msg = m as Record<string, unknown>;
  for (const key of Object.keys(msg)) {
    if (!MESSAGE_FIELDS.has(key)) return { field: `message.${key}`, description: `Invalid JSON payload received. Unknown name "${key}" at 'message': Cannot find field.` };
  }
  const targets = ['token', 'topic', 'condition'].filter((k) => msg[k] !== undefined);
  if (targets.length !== 1) return { field: 'message', description: 'Exactly one of token, topic or condition must be set.' };
  if (typeof msg.token !== 'string' || msg.token === '') return { field: 'message.token', description: 'The registration token is not a valid FCM registration token' };
  if (msg.notification !== undefined) {
    const n = msg.notification as Record<string, unknown>;
    if (typeof n !== 'object' || n === null) return { field: 'message.notification', description: 'Invalid value at \'message.notification\'' };
    for (const [k, v] of Object.entries(n)) {
      if (!['title', 'body', 'image'].includes(k)) return { field: `message.notification.${k}`, description: `Invalid JSON payload received. Unknown name "${k}" at 'message.notification': Cannot find field.` };
      if (typeof v !== 'string') return { field: `message.notification.${k}`, description: `Invalid value at 'message.notification.${k}' (TYPE_STRING)` };
    }
  }
  if (msg.data !== undefined) {
    if (typeof msg.data !== 'object' || msg.data === null) return { field: 'message.data', description: "Invalid value at 'message.data'" };
    for (const [k, v] of Object.entries(msg.data as Record<string, unknown>)) {
      if (typeof v !== 'string') return { field: `message.data[${k}].value`, description: `Invalid value at 'message.data[${k}].value' (TYPE_STRING), ${JSON.stringify(v)}` };
    }
  }
  if (msg.android !== undefined) {
    const a = msg.android as Record<string, unknown>;
    if (a.priority !== undefined && a.priority !== 'NORMAL' && a.priority !== 'HIGH') return { field: 'message.android.priority', description: `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "${String(a.priority)}"` };
    if (a.ttl !== undefined && (typeof a.ttl !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(a.ttl))) return { field: 'message.android.ttl', description: `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(a.ttl)}` };
    const count = (a.notification as Record<string, unknown> | undefined)?.notification_count;
    if (count !== undefined && !Number.isInteger(count)) return { field: 'message.android.notification.notification_count', description: "Invalid value at 'message.android.notification.notification_count' (TYPE_INT32)" };
  }
  if (msg.apns !== undefined) {
    const badge = ((msg.apns as { payload?: { aps?: { badge?: unknown } } }).payload?.aps ?? {}).badge;
    if (badge !== undefined && !(Number.isInteger(badge) && (badge as number) >= 0)) return { field: 'message.apns.payload.aps.badge', description: 'Invalid APNs payload: badge must be a non-negative integer' };
  }
  return undefined;
}
