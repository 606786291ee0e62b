import * as http from 'node:http';
import { createHttpsServer, type ReloadingServerTls } from '@tt/tls';
import { IM, clusterSubjects } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createLoginHttpHandler, type TokenResult, type ValidateUser } from './http-api';
import { MsgServerRegistry } from './msg-server-registry';
import { defaultChatFiles, type ChatFiles } from './static-files';
import type { FriendDirectory } from './easemob-contacts';
import type { LoginThrottleSettings } from '@tt/auth';
import { operatorLoginThrottle } from './throttle';
import type { AdminCluster, AdminStore } from './api/backend';
import { buildAdminApi } from './api/server';

export interface LoginServerDeps {
  bus: MessageBus;
  log: Logger;
  metricsRegistry: Registry;
  subjectPrefix: string;
  host: string;
  port: number;
  /** The same answers over HTTPS on this port too (LOGIN_HTTPS_PORT); absent or 0: off. Needs tls. */
  httpsPort?: number;
  /** The certificate of the HTTPS port (CLIENT_TLS_*). */
  tls?: ReloadingServerTls;
  msfsUrl: string;
  discoveryUrl: string;
  /** db_proxy's ValidateUser, for POST /auth/token (cluster: the gRPC client; standalone: the in-process one). */
  validateUser: ValidateUser;
  /** Access tokens (AUTH_JWT_SECRET, AUTH_JWT_TTL_S); an empty secret = POST /auth/token answers 503. */
  auth: { secret: string; ttlSeconds: number };
  /** The browser chat page (URL path → file); default: @tt/webchat's webchatFiles(). */
  chat?: ChatFiles;
  /** db_proxy's FriendSync and ResolveUsers, for the Easemob contact list; absent = that path answers 404. */
  friends?: FriendDirectory;
  /** The operator API (/api/v1): its backends and settings (ADMIN_API_*); absent = /api/ answers 503 "not configured". */
  admin?: {
    store: AdminStore;
    cluster: AdminCluster;
    /** ADMIN_API_TOKEN_TTL_S; default 900. */
    tokenTtlSeconds?: number;
    /** ADMIN_API_RATE_LIMIT (per minute per client address, 0 = none); default 600. */
    rateLimitPerMinute?: number;
    /** ADMIN_API_CORS_ORIGINS; default none (no CORS headers). */
    corsOrigins?: string[];
    /** LOGIN_THROTTLE_*: back-off after failed operator log-ins; default: their defaults. */
    loginThrottle?: LoginThrottleSettings;
  };
}

export interface RunningLoginServer {
  port: number;
  /** The HTTPS port, when open. */
  httpsPort?: number;
  registry: MsgServerRegistry;
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startLoginServer(deps: LoginServerDeps): Promise<RunningLoginServer> {
  const subjects = clusterSubjects(deps.subjectPrefix);
  const registry = new MsgServerRegistry();
  const registers = [deps.metricsRegistry];
  const answers = new Counter({ name: 'tt_login_msg_server_requests_total', help: 'GET /msg_server answers by code', labelNames: ['code'] as const, registers });
  new Gauge({ name: 'tt_login_msg_servers', help: 'Live msg_servers known', registers, collect() { this.set(registry.live().length); } });

  const subs = [
    deps.bus.subscribe(subjects.msgServerReport, (data) => {
      const r = IM.Cluster.MsgServerReport.decode(data);
      registry.report(
        {
          serverId: r.serverId,
          priorIp: r.info.ip1,
          backupIp: r.info.ip2,
          port: r.info.port,
          maxConnections: r.info.maxConnCnt,
          connections: r.info.curConnCnt,
          draining: r.draining,
          fronts: (r.fronts ?? []).map((f) => ({ protocol: f.protocol, port: f.port, path: f.path ?? '', tls: !!f.tls })),
          incarnation: r.incarnation ?? 0,
        },
        r.ttlMs,
      );
    }),
    deps.bus.subscribe(subjects.msgServerLeaving, (data) => {
      registry.remove(IM.Cluster.MsgServerLeaving.decode(data).serverId);
    }),
    // route_server's failure detector: a dead msg_server is no longer handed out, at once.
    deps.bus.subscribe(subjects.msgServerDown, (data) => {
      const down = IM.Cluster.MsgServerDown.decode(data);
      if (registry.down(down.serverId, down.incarnation)) deps.log.warn({ serverId: down.serverId, incarnation: down.incarnation }, 'msg_server declared dead by route_server; no longer handed out');
    }),
  ];

  let chat = deps.chat;
  if (!chat) {
    try {
      chat = defaultChatFiles();
    } catch (err) {
      deps.log.warn({ err }, 'the browser chat page is missing: /chat/ answers 404');
    }
  }
  const tokenAnswers = new Counter({ name: 'tt_login_token_requests_total', help: 'POST /auth/token answers by result', labelNames: ['result'] as const, registers });
  if (!deps.auth.secret) deps.log.warn('AUTH_JWT_SECRET is empty: POST /auth/token answers 503 and WebSocket clients cannot log in');

  const adminApi = deps.admin
    ? await buildAdminApi({
        store: deps.admin.store,
        cluster: deps.admin.cluster,
        jwtSecret: deps.auth.secret,
        tokenTtlSeconds: deps.admin.tokenTtlSeconds ?? 900,
        rateLimitPerMinute: deps.admin.rateLimitPerMinute ?? 600,
        corsOrigins: deps.admin.corsOrigins ?? [],
        metricsRegistry: deps.metricsRegistry,
        log: deps.log,
        loginThrottle: operatorLoginThrottle(deps.admin.loginThrottle, { log: deps.log, registry: deps.metricsRegistry }),
      })
    : undefined;
  if (!deps.admin) deps.log.info('the operator API is not configured: /api/ answers 503');

  const handler = createLoginHttpHandler({
    registry,
    msfsUrl: deps.msfsUrl,
    discoveryUrl: deps.discoveryUrl,
    onRequest: (code) => answers.inc({ code: String(code) }),
    auth: {
      secret: deps.auth.secret,
      ttlSeconds: deps.auth.ttlSeconds,
      validateUser: deps.validateUser,
      onResult: (result: TokenResult) => tokenAnswers.inc({ result }),
      onError: (err) => deps.log.warn({ err }, 'POST /auth/token: db_proxy call failed'),
    },
    chat,
    contacts: deps.friends,
    adminApi: adminApi ? (req, res) => adminApi.routing(req, res) : undefined,
  });
  const listen = async <S extends http.Server | import('node:https').Server>(server: S, port: number): Promise<S> => {
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, deps.host, () => resolve());
    });
    return server;
  };
  const server = await listen(http.createServer(handler), deps.port);
  let httpsServer: import('node:https').Server | undefined;
  if (deps.httpsPort) {
    if (!deps.tls) throw new Error('LOGIN_HTTPS_PORT is set but there is no TLS certificate (CLIENT_TLS_CERT_FILE, CLIENT_TLS_KEY_FILE)');
    httpsServer = await listen(createHttpsServer(deps.tls, handler), deps.httpsPort);
  }
  const port = (server.address() as { port: number }).port;
  const httpsPort = httpsServer ? (httpsServer.address() as { port: number }).port : undefined;
  deps.log.info({ port, httpsPort }, 'login_server listening');

  return {
    port,
    httpsPort,
    registry,
    readiness: async () => ({ ok: deps.bus.isConnected(), details: { bus: deps.bus.isConnected(), msgServers: registry.live().length } }),
    close: async () => {
      for (const s of subs) s.unsubscribe();
      await Promise.all([server, httpsServer].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve()))));
      await adminApi?.close();
    },
  };
}
