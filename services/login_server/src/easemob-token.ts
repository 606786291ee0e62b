import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import type { IM } from '@tt/proto';
import { issueToken, retryAfterSeconds } from '@tt/auth';
import type { TokenEndpointOptions } from './http-api';
import { BodyError, MAX_TOKEN_BODY_BYTES } from './token-request';

/** `/{org}/{app}/token`: Easemob's REST token path (org and app are not checked: this server hosts one app). */
export const EASEMOB_TOKEN_PATH = /^\/[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9_.-]{1,64}\/token$/;

/** CORS headers of the Easemob REST surface: the Web SDK calls it from any page. */
export const EASEMOB_CORS: http.OutgoingHttpHeaders = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, accept',
  'access-control-max-age': '600',
};

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...EASEMOB_CORS });
  res.end(text);
}

/** Errors as Easemob's REST API writes them: the SDK reads error_description. */
function sendError(res: http.ServerResponse, status: number, error: string, description: string, headers: http.OutgoingHttpHeaders = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v as string);
  send(res, status, { error, error_description: description, timestamp: Date.now(), duration: 0 });
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_TOKEN_BODY_BYTES) throw new BodyError(413, `body larger than ${MAX_TOKEN_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * `POST /{org}/{app}/token` with `{"grant_type":"password","username","password"}`
 * (what the Easemob Web SDK sends for a password login): the same JWT as
 * `POST /auth/token`, as `{access_token, expires_in (seconds), user}`.
 */
export async function handleEasemobToken(req: http.IncomingMessage, res: http.ServerResponse, auth: TokenEndpointOptions): Promise<void> {
  if (!auth.secret) {
    req.resume();
    auth.onResult?.('not_configured');
    return sendError(res, 503, 'service_unavailable', 'token issuing is not configured (AUTH_JWT_SECRET)');
  }
  let fields: Record<string, unknown>;
  try {
    fields = await readJson(req);
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    auth.onResult?.('bad_request');
    return sendError(res, err.status, 'invalid_request', err.message);
  }
  if (fields.grant_type !== 'password') {
    auth.onResult?.('bad_request');
    return sendError(res, 400, 'unsupported_grant_type', 'grant_type must be "password"');
  }
  const username = fields.username;
  const password = fields.password;
  if (typeof username !== 'string' || !username || username.length > 255 || typeof password !== 'string' || !password || password.length > 1024) {
    auth.onResult?.('bad_request');
    return sendError(res, 400, 'invalid_grant', 'username and password are required');
  }
  let rsp: IM.DbProxy.IValidateRsp;
  try {
    // db_proxy applies the log-in back-off (per account and per address) as for every chat front.
    rsp = await auth.validateUser({ userName: username, password: createHash('md5').update(password, 'utf8').digest('hex'), clientIp: req.socket.remoteAddress ?? '' });
  } catch (err) {
    auth.onError?.(err);
    auth.onResult?.('unavailable');
    return sendError(res, 503, 'service_unavailable', 'the account service is unavailable, try again later');
  }
  if (rsp.retryAfterMs) {
    const seconds = retryAfterSeconds(rsp.retryAfterMs);
    auth.onResult?.('throttled');
    return sendError(res, 429, 'too_many_requests', `too many failed log-ins, retry in ${seconds} s`, { 'retry-after': String(seconds) });
  }
  const userId = rsp.userInfo?.userId ?? 0;
  if (rsp.resultCode !== 0 || !userId) {
    auth.onResult?.('denied');
    return sendError(res, 400, 'invalid_grant', 'invalid username or password');
  }
  const issued = await issueToken({ userId, name: username }, { secret: auth.secret, ttlSeconds: auth.ttlSeconds });
  auth.onResult?.('ok');
  send(res, 200, { access_token: issued.token, expires_in: Math.max(0, issued.expiresAt - Math.floor(Date.now() / 1000)), user: { username, activated: true, uuid: String(userId) } });
}
