import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

export interface ReadyResult {
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface AdminServerOptions {
  /** Default '0.0.0.0' (probes and scrapers come from outside the pod). */
  host?: string;
  /** 0 picks a free port; the actual one is returned. */
  port: number;
  registry: Registry;
  logger: Logger;
  checks?: {
    /** Readiness: may the role take traffic (its dependencies are reachable)? Default: always ready. */
    ready?: () => Promise<ReadyResult>;
  };
  /** A readiness check that takes longer counts as not ready, ms (default 2000). */
  readyTimeoutMs?: number;
  /**
   * Operator actions served as `POST /admin/<name>` with a JSON body (at most
   * 64 KB); the answer is the action's result as JSON. An action throws an
   * AdminInputError for a bad request (400).
   */
  operations?: Record<string, (body: unknown) => Promise<unknown>>;
  /** ADMIN_TOKEN: operations need `Authorization: Bearer <token>`. Empty: only callers on this host (loopback) may use them. */
  adminToken?: string;
}

/** A bad operator request: answered 400 with its message. */
export class AdminInputError extends Error {}

const MAX_OPERATION_BODY = 64 * 1024;

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_OPERATION_BODY) throw new AdminInputError(`body larger than ${MAX_OPERATION_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminInputError('body is not JSON');
  }
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

async function runReady(check: () => Promise<ReadyResult>, timeoutMs: number): Promise<ReadyResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadyResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, details: { error: `readiness check timed out after ${timeoutMs} ms` } }), timeoutMs);
  });
  try {
    return await Promise.race([
      check().catch((err: unknown): ReadyResult => ({ ok: false, details: { error: err instanceof Error ? err.message : String(err) } })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The admin endpoints every role serves:
 * - GET /healthz: liveness, 200 {"status":"ok"} while the process can answer at all;
 * - GET /readyz: 200 {"status":"ready",...} or 503 {"status":"not ready",...}, with the check's details;
 * - GET /metrics: the registry in Prometheus text format;
 * - POST /admin/<operation>: the role's operator actions (see AdminServerOptions.operations);
 * anything else 404 (405 for another method on these paths).
 */
export function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { registry, logger } = options;
  const ready = options.checks?.ready ?? (async () => ({ ok: true }));
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const operation = path.startsWith('/admin/') ? options.operations?.[path.slice('/admin/'.length)] : undefined;
    if (operation) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        sendJson(res, 405, { error: 'method not allowed' }, false);
        return;
      }
      const allowed = options.adminToken ? req.headers.authorization === `Bearer ${options.adminToken}` : isLoopback(req.socket.remoteAddress);
      if (!allowed) {
        sendJson(res, options.adminToken ? 401 : 403, { error: options.adminToken ? 'a valid admin token is required' : 'operator actions are served to this host only (set ADMIN_TOKEN to allow others)' }, false);
        return;
      }
      try {
        const result = await operation(await readJson(req));
        logger.info({ operation: path }, 'operator action done');
        sendJson(res, 200, result ?? {}, false);
      } catch (err) {
        if (!(err instanceof AdminInputError)) throw err;
        sendJson(res, 400, { error: err.message }, false);
      }
      return;
    }
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') {
      sendJson(res, 404, { error: 'not found' }, req.method === 'HEAD');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method not allowed' }, false);
      return;
    }
    const head = req.method === 'HEAD';
    switch (path) {
      case '/healthz':
        sendJson(res, 200, { status: 'ok' }, head);
        return;
      case '/readyz': {
        const result = await runReady(ready, readyTimeoutMs);
        sendJson(res, result.ok ? 200 : 503, { status: result.ok ? 'ready' : 'not ready', details: result.details ?? {} }, head);
        return;
      }
      case '/metrics': {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(head ? undefined : text);
        return;
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'admin server: request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' }, false);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;

  return new Promise<AdminServer>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error({ err }, 'admin server error'));
      const port = (server.address() as AddressInfo).port;
      logger.info({ host: options.host ?? '0.0.0.0', port }, 'admin server listening');
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close: () => {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}
