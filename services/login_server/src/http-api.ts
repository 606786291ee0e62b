import * as http from 'node:http';
import { issueToken } from '@tt/auth';
import type { IM } from '@tt/proto';
import { readTokenRequest, BodyError } from './token-request';
import { retryAfterSeconds } from '@tt/auth';
import { serveChatFile, type ChatFiles } from './static-files';
import { consoleFiles, serveConsoleFile } from '@tt/console';
import { TEAMTALK_PROTOCOL, type FrontAddress, type MsgServerEntry, type MsgServerRegistry, type PickResult } from './msg-server-registry';
import { EASEMOB_CORS, EASEMOB_TOKEN_PATH, handleEasemobToken } from './easemob-token';
import { EASEMOB_CONTACTS_PATH, handleEasemobContacts, type FriendDirectory } from './easemob-contacts';

/** db_proxy's ValidateUser (IM.DbProxy.ValidateReq: password = lowercase hex MD5, client_ip for the log-in throttle). */
export type ValidateUser = (req: IM.DbProxy.IValidateReq) => Promise<IM.DbProxy.IValidateRsp>;

export interface TokenEndpointOptions {
  /** AUTH_JWT_SECRET; empty = POST /auth/token answers 503. */
  secret: string;
  ttlSeconds: number;
  validateUser: ValidateUser;
  /** Called once per answer of POST /auth/token (ok, bad_request, denied, throttled, unavailable, not_configured). */
  onResult?: (result: TokenResult) => void;
  /** Called when db_proxy could not be asked. */
  onError?: (err: unknown) => void;
}

export type TokenResult = 'ok' | 'bad_request' | 'denied' | 'throttled' | 'unavailable' | 'not_configured';

export interface LoginHttpOptions {
  registry: MsgServerRegistry;
  msfsUrl: string;
  discoveryUrl: string;
  onRequest?: (code: number) => void;
  /** POST /auth/token; absent = 404 (as before). */
  auth?: TokenEndpointOptions;
  /** GET /chat/…: the browser chat page (exactly these files); absent = 404. */
  chat?: ChatFiles;
  /** GET /{org}/{app}/users/{user}/contacts…: the Easemob Web SDK's contact list (needs auth's secret); absent = 404. */
  contacts?: FriendDirectory;
  /** The operator API: every request under /api/ (api/server.ts, Fastify's routing); absent = 503 "not configured". */
  adminApi?: http.RequestListener;
  /** GET /console/…: the operator web console (URL path → file); default: @tt/console's consoleFiles(); null = 404. */
  console?: ReadonlyMap<string, string> | null;
}

/** The protocols GET /msg_server?protocol= knows. */
const PROTOCOLS = new Set([TEAMTALK_PROTOCOL, 'ws', 'tcp12', 'msync', 'omtp']);

const JSON_TYPE = 'application/json; charset=utf-8';
const CORS_ROUTES = new Set(['/auth/token', '/msg_server']);

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** The bracketed form an IPv6 literal needs inside a URL. */
function urlHost(ip: string): string {
  return ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip;
}

/** The protocol's TLS address on that msg_server, if it has one. */
function tlsFrontOf(server: MsgServerEntry, protocol: string): FrontAddress | undefined {
  return server.fronts.find((f) => f.protocol === protocol && f.tls);
}

/** A URL-based front's path, "/ws" when it reported none. */
function pathOf(front: FrontAddress): string {
  return front.path ? (front.path.startsWith('/') ? front.path : `/${front.path}`) : '/ws';
}

/** ws://host:port/path, or wss:// for a TLS front. */
function wsUrlOf(ip: string, front: FrontAddress): string {
  return `${front.tls ? 'wss' : 'ws'}://${urlHost(ip)}:${front.port}${pathOf(front)}`;
}

/**
 * login_server's HTTP API:
 * - GET /msg_server, answered exactly as TeamTalk clients expect: code 0 with
 *   the addresses, 1 when no msg_server is registered, 2 when all are full;
 *   `?protocol=ws`: the WebSocket URL of the least-loaded msg_server with a ws front;
 *   `?protocol=tcp12`: the TCP address of the least-loaded one with a tcp12 front (seed 001);
 *   `?protocol=omtp`: the same for the OMTP front (seed 004).
 *   TLS listeners are added as fields old clients ignore (docs/TLS.md): TeamTalk's
 *   `tlsPort`; tcp12/OMTP `tlsPort`; ws/msync `tlsUrl` (wss://); `tls: true` when the
 *   main address itself is TLS (a front with no plain port).
 * - POST /auth/token: an access token for the WebSocket front.
 * - Easemob's REST token and contact-list calls (easemob-token.ts, easemob-contacts.ts).
 * - GET /chat/…: the browser chat page.
 * A browser page from any origin may call the first two (CORS).
 */
export function createLoginHttpHandler(opts: LoginHttpOptions): http.RequestListener {
  const consolePage = opts.console === undefined ? defaultConsoleFiles() : opts.console;

  /**
   * Each msg_server's answer per protocol, made once: the JSON text and its
   * length. A registry entry is replaced by every report, so an answer lives
   * exactly as long as what it was made from.
   */
  const answers = new WeakMap<MsgServerEntry, Map<string, { text: string; bytes: number }>>();
  const answerFor = (pick: PickResult & { code: 0 }, protocol: string) => {
    let perProtocol = answers.get(pick.server);
    if (!perProtocol) answers.set(pick.server, (perProtocol = new Map()));
    let answer = perProtocol.get(protocol);
    if (!answer) {
      const text = JSON.stringify(msgServerBody(pick, protocol));
      perProtocol.set(protocol, (answer = { text, bytes: Buffer.byteLength(text) }));
    }
    return answer;
  };

  const msgServer = (req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams | undefined, cors: http.OutgoingHttpHeaders) => {
    const protocol = query?.get('protocol') || TEAMTALK_PROTOCOL;
    if (!PROTOCOLS.has(protocol)) {
      opts.onRequest?.(400);
      sendJson(res, 400, { code: 400, msg: `unknown protocol "${protocol.slice(0, 64)}" (teamtalk, ws, tcp12, msync or omtp)` }, cors);
      return;
    }
    const pick = opts.registry.pick(protocol);
    opts.onRequest?.(pick.code);
    const answer = pick.code === 0 ? answerFor(pick, protocol) : undefined;
    const text = answer?.text ?? JSON.stringify({ code: pick.code, msg: pick.code === 0 ? '' : pick.reason });
    // The original closes after each answer; clients open one connection per request.
    // A string body with its length leaves with the header in one write (no chunked encoding).
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': answer?.bytes ?? Buffer.byteLength(text), connection: 'close', ...cors });
    res.end(text);
  };

  const msgServerBody = (pick: PickResult & { code: 0 }, protocol: string): Record<string, unknown> => {
    let body: Record<string, unknown>;
    if (protocol === TEAMTALK_PROTOCOL)
      body = {
        code: 0,
        msg: '',
        priorIP: pick.server.priorIp,
        backupIP: pick.server.backupIp,
        port: String(pick.server.port),
        msfsPrior: opts.msfsUrl,
        msfsBackup: opts.msfsUrl,
        discovery: opts.discoveryUrl,
      };
    else if (protocol === 'tcp12' || protocol === 'omtp') body = { code: 0, msg: '', protocol, priorIP: pick.server.priorIp, backupIP: pick.server.backupIp, port: String(pick.front!.port) };
    else {
      const front = pick.front!;
      body = { code: 0, msg: '', protocol, url: wsUrlOf(pick.server.priorIp, front), priorIP: pick.server.priorIp, port: String(front.port), path: pathOf(front) };
      // MSync: the same msg_server's length-prefixed TCP transport too, for native clients.
      const tcp = protocol === 'msync' ? pick.server.fronts.find((f) => f.protocol === 'msync-tcp') : undefined;
      const tcpTls = protocol === 'msync' ? tlsFrontOf(pick.server, 'msync-tcp') : undefined;
      if (tcp) body.tcp = { host: pick.server.priorIp, port: tcp.port, ...(tcp.tls ? { tls: true } : {}), ...(tcpTls ? { tlsPort: tcpTls.port } : {}) };
    }
    // TLS: only added fields, so clients that know nothing of them read the answer as before.
    const tlsFront = tlsFrontOf(pick.server, protocol);
    if (pick.front?.tls) body.tls = true;
    if (tlsFront && (protocol === 'ws' || protocol === 'msync')) body.tlsUrl = wsUrlOf(pick.server.priorIp, tlsFront);
    else if (tlsFront) body.tlsPort = String(tlsFront.port);
    return body;
  };

  const token = async (req: http.IncomingMessage, res: http.ServerResponse, cors: http.OutgoingHttpHeaders) => {
    const auth = opts.auth!;
    const answer = (result: TokenResult, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
      auth.onResult?.(result);
      sendJson(res, status, body, { ...cors, ...headers });
    };
    if (!auth.secret) {
      req.resume();
      return answer('not_configured', 503, { code: 503, msg: 'token issuing is not configured (AUTH_JWT_SECRET)' });
    }
    let credentials;
    try {
      credentials = await readTokenRequest(req);
    } catch (err) {
      if (err instanceof BodyError) {
        if (err.status === 413) res.setHeader('connection', 'close');
        return answer('bad_request', err.status, { code: err.status, msg: err.message });
      }
      throw err;
    }
    let rsp: IM.DbProxy.IValidateRsp;
    try {
      // db_proxy applies the log-in back-off (per account and per address) as for every chat front.
      rsp = await auth.validateUser({ userName: credentials.name, password: credentials.passwordMd5, clientIp: req.socket.remoteAddress ?? '' });
    } catch (err) {
      auth.onError?.(err);
      return answer('unavailable', 503, { code: 503, msg: 'the account service is unavailable, try again later' });
    }
    if (rsp.retryAfterMs) {
      const seconds = retryAfterSeconds(rsp.retryAfterMs);
      return answer('throttled', 429, { code: 429, msg: `too many failed log-ins, retry in ${seconds} s` }, { 'retry-after': String(seconds) });
    }
    const userId = rsp.userInfo?.userId ?? 0;
    if (rsp.resultCode !== 0 || !userId) return answer('denied', 401, { code: 401, msg: 'wrong user name or password' });
    const issued = await issueToken({ userId, name: credentials.name }, { secret: auth.secret, ttlSeconds: auth.ttlSeconds });
    answer('ok', 200, { code: 0, token: issued.token, expires_at: issued.expiresAt, user_id: credentials.name, uid: userId });
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? new URLSearchParams(url.slice(q + 1)) : undefined;
    // Only browsers send Origin: TeamTalk clients get their answer byte for byte as before.
    const cors: http.OutgoingHttpHeaders = CORS_ROUTES.has(path) && req.headers.origin !== undefined ? { 'access-control-allow-origin': '*' } : {};

    if (req.method === 'OPTIONS' && CORS_ROUTES.has(path)) {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': path === '/auth/token' ? 'POST, OPTIONS' : 'GET, OPTIONS',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (path === '/msg_server' && req.method === 'GET') return msgServer(req, res, query, cors);
    if (path.startsWith('/api/')) {
      if (opts.adminApi) return opts.adminApi(req, res);
      req.resume();
      return sendJson(res, 503, { error: { code: 'not_configured', message: 'the operator API is not configured on this login_server' } });
    }
    if (opts.contacts && EASEMOB_CONTACTS_PATH.test(path)) {
      const onError = opts.auth?.onError;
      handleEasemobContacts(req, res, path, query ?? new URLSearchParams(), { secret: opts.auth?.secret ?? '', db: opts.contacts, onError }).catch((err: unknown) => {
        onError?.(err);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal_error', error_description: 'internal error' }, EASEMOB_CORS);
        else res.destroy();
      });
      return;
    }
    // Easemob's REST token endpoint (the Easemob Web SDK's password login): POST /{org}/{app}/token.
    if (opts.auth && EASEMOB_TOKEN_PATH.test(path)) {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, EASEMOB_CORS);
        res.end();
        return;
      }
      if (req.method !== 'POST') {
        req.resume();
        return sendJson(res, 405, { error: 'method_not_allowed', error_description: 'use POST' }, { allow: 'POST, OPTIONS', ...EASEMOB_CORS });
      }
      handleEasemobToken(req, res, opts.auth).catch((err: unknown) => {
        opts.auth?.onError?.(err);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal_error', error_description: 'internal error' }, EASEMOB_CORS);
        else res.destroy();
      });
      return;
    }
    if (path === '/auth/token' && opts.auth) {
      if (req.method !== 'POST') {
        req.resume();
        return sendJson(res, 405, { code: 405, msg: 'use POST' }, { allow: 'POST, OPTIONS', ...cors });
      }
      token(req, res, cors).catch((err: unknown) => {
        opts.auth?.onError?.(err);
        if (!res.headersSent) sendJson(res, 500, { code: 500, msg: 'internal error' }, cors);
        else res.destroy();
      });
      return;
    }
    if (opts.chat && path === '/chat') {
      // The page's relative links (app.js, …) need the trailing slash.
      res.writeHead(308, { location: `/chat/${q >= 0 ? url.slice(q) : ''}`, 'content-length': 0 });
      res.end();
      return;
    }
    if (opts.chat && path.startsWith('/chat/')) {
      serveChatFile(opts.chat, req, res, path).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { code: 500, msg: 'internal error' });
        else res.destroy();
      });
      return;
    }
    // The operator console (packages/console): static files; it talks to the API above like any program.
    if (consolePage && (path === '/console' || path.startsWith('/console/'))) {
      if (path === '/console') {
        res.writeHead(308, { location: `/console/${q >= 0 ? url.slice(q) : ''}`, 'content-length': 0 });
        res.end();
        return;
      }
      serveConsoleFile(consolePage, req, res, path).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { code: 500, msg: 'internal error' });
        else res.destroy();
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 404, msg: 'not found' }));
  };
}

/** @tt/console's files, or null (404 under /console/) when the package's files are missing from this install. */
function defaultConsoleFiles(): ReadonlyMap<string, string> | null {
  try {
    return consoleFiles();
  } catch {
    return null;
  }
}
