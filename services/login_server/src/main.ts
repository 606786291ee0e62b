#!/usr/bin/env node
// login_server as its own process (cluster mode).
import { loginThrottleSettings } from '@tt/auth';
import { loadConfig, loginServerSpec } from '@tt/config';
import { grpcTlsSettings, natsConnectionSettings } from '@tt/tls';
import { NatsBus } from '@tt/bus';
import { DbProxyService, type DbProxyClient } from '@tt/proto';
import { createRpcClient } from '@tt/rpc';
import { createMetrics, startAdminServer } from '@tt/observability';
import { runService } from '@tt/runtime';
import { openClientTls } from '@tt/tls';
import { startLoginServer } from './login-server';
import { DbProxyAdminStore } from './api/store';
import { BusAdminCluster } from './api/cluster';

runService('login_server', async ({ log, onShutdown }) => {
  const cfg = loadConfig(loginServerSpec);
  const rpcTls = grpcTlsSettings(cfg, { serves: false });
  const metricsRegistry = createMetrics('login_server').registry;
  const tls = openClientTls(cfg, { LOGIN_HTTPS_PORT: cfg.LOGIN_HTTPS_PORT }, log, metricsRegistry);
  onShutdown(() => tls?.close());
  const bus = await NatsBus.connect({ servers: cfg.NATS_URL.split(','), ...natsConnectionSettings(cfg), name: 'login_server', onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
  onShutdown(() => bus.close());
  // POST /auth/token checks passwords with db_proxy's ValidateUser, as msg_server does for TeamTalk logins.
  const db = createRpcClient<DbProxyClient>(DbProxyService, cfg.DB_PROXY_ADDR, { timeoutMs: cfg.DB_PROXY_TIMEOUT_MS, tls: rpcTls });
  onShutdown(() => db.close());
  // The operator API (/api/v1): accounts, users, groups, history through db_proxy; presence and actions over the bus.
  const adminCluster = new BusAdminCluster({ bus, subjectPrefix: cfg.TT_SUBJECT_PREFIX }).start();
  onShutdown(() => adminCluster.close());
  const server = await startLoginServer({
    bus,
    log,
    metricsRegistry,
    subjectPrefix: cfg.TT_SUBJECT_PREFIX,
    host: cfg.LOGIN_HTTP_HOST,
    port: cfg.LOGIN_HTTP_PORT,
    httpsPort: cfg.LOGIN_HTTPS_PORT,
    tls,
    msfsUrl: cfg.LOGIN_MSFS_URL,
    discoveryUrl: cfg.LOGIN_DISCOVERY_URL,
    validateUser: (req) => db.validateUser(req),
    friends: db,
    auth: { secret: cfg.AUTH_JWT_SECRET, ttlSeconds: cfg.AUTH_JWT_TTL_S },
    admin: {
      store: new DbProxyAdminStore(db, { contentKey: cfg.TT_CONTENT_KEY || undefined }),
      cluster: adminCluster,
      tokenTtlSeconds: cfg.ADMIN_API_TOKEN_TTL_S,
      rateLimitPerMinute: cfg.ADMIN_API_RATE_LIMIT,
      corsOrigins: cfg.ADMIN_API_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
      loginThrottle: loginThrottleSettings(cfg),
    },
  });
  onShutdown(() => server.close());
  const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready: server.readiness } });
  onShutdown(() => admin.close());
});
