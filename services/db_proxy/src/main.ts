#!/usr/bin/env node
// db_proxy as its own process (cluster mode): MySQL/MariaDB and Redis behind gRPC.
import * as os from 'node:os';
import { loginThrottleSettings } from '@tt/auth';
import { dbProxySpec, loadConfig } from '@tt/config';
import { grpcTlsSettings, mysqlTlsSettings, redisConnectionSettings } from '@tt/tls';
import { RedisCache } from '@tt/cache';
import { createMetrics, startAdminServer } from '@tt/observability';
import { runService } from '@tt/runtime';
import { openStore } from '@tt/storage';
import { startDbProxy } from './db-proxy';

runService('db_proxy', async ({ log, onShutdown }) => {
  const cfg = loadConfig(dbProxySpec);
  const rpcTls = grpcTlsSettings(cfg, { serves: true });
  const redis = redisConnectionSettings(cfg);
  const mysqlTls = mysqlTlsSettings(cfg);
  const metricsRegistry = createMetrics('db_proxy').registry;
  const store = await openStore({
    kind: 'mysql',
    host: cfg.MYSQL_HOST,
    port: cfg.MYSQL_PORT,
    user: cfg.MYSQL_USER,
    password: cfg.MYSQL_PASSWORD,
    database: cfg.MYSQL_DATABASE,
    connectionLimit: cfg.MYSQL_POOL_SIZE,
    tls: mysqlTls,
  }, { scrypt: { N: cfg.PASSWORD_SCRYPT_N }, roomHistoryLimit: cfg.ROOM_HISTORY_LIMIT });
  onShutdown(() => store.close());
  const cache = await RedisCache.connect({ ...redis, keyPrefix: `${cfg.TT_SUBJECT_PREFIX}:` });
  onShutdown(() => cache.close());
  const server = await startDbProxy({ store, cache, log, metricsRegistry, host: cfg.DB_PROXY_HOST, port: cfg.DB_PROXY_PORT, rpcTls, serverId: `${os.hostname()}:${cfg.DB_PROXY_PORT}`, passwordCheckCacheTtlSeconds: cfg.PASSWORD_CHECK_CACHE_TTL_S, loginThrottle: loginThrottleSettings(cfg), clientMsgIdRetentionSeconds: cfg.CLIENT_MSG_ID_RETENTION_HOURS * 3600, readinessGraceMs: cfg.READINESS_GRACE_MS });
  onShutdown(() => server.close());
  const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready: server.readiness } });
  onShutdown(() => admin.close());
});
