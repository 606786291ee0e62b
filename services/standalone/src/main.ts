#!/usr/bin/env node
// Standalone mode, the embedded default: every role in one process, with an
// embedded SQLite database, an in-process bus and an in-process cache. The
// roles run the same code as in cluster mode; only the adapters differ.
import * as path from 'node:path';
import { loadOrCreateSecretFile, loginThrottleSettings } from '@tt/auth';
import { loadConfig, standaloneSpec } from '@tt/config';
import { MemoryBus, MemoryJobQueue } from '@tt/bus';
import { MemoryCache } from '@tt/cache';
import { createLogger, createMetrics, startAdminServer } from '@tt/observability';
import { runService } from '@tt/runtime';
import { openClientTls } from '@tt/tls';
import { openStore } from '@tt/storage';
import { startDbProxy } from '@tt/db-proxy';
import { startRouteServer } from '@tt/route-server';
import { msgServerTlsPorts, msyncFrontConfig, omtpFrontConfig, startMsgServer, tcp12FrontConfig, wsFrontConfig } from '@tt/msg-server';
import { BusAdminCluster, DbProxyAdminStore, startLoginServer } from '@tt/login-server';
import { pushProvidersFromEnv, startPushServer } from '@tt/push-server';
import { startFileServer } from '@tt/file-server';

runService(
  'standalone',
  async ({ log, onShutdown }) => {
    const cfg = loadConfig(standaloneSpec);
    // Each role logs as itself (one "role" a line, as in cluster mode); mode tells the lines of this process apart.
    const roleLog = (role: string) => createLogger(role, { bindings: { mode: 'standalone' } });
    const push = pushProvidersFromEnv(process.env, cfg.PUSH_REQUEST_TIMEOUT_MS);
    const metricsRegistry = createMetrics('standalone').registry;
    // One certificate for every TLS port of the process (checked before anything starts).
    const tls = openClientTls(cfg, { ...msgServerTlsPorts(cfg), LOGIN_HTTPS_PORT: cfg.LOGIN_HTTPS_PORT, FILE_SERVER_TLS_PORT: cfg.FILE_SERVER_TLS_PORT, FILE_SERVER_HTTPS_PORT: cfg.FILE_SERVER_HTTPS_PORT }, log, metricsRegistry);
    onShutdown(() => tls?.close());
    const dataDir = path.resolve(cfg.TT_DATA_DIR);
    const subjectPrefix = cfg.TT_SUBJECT_PREFIX;
    // Access tokens (POST /auth/token, WebSocket logins): without a configured
    // secret, a random one kept in the data directory, so tokens survive restarts.
    const jwtSecret = cfg.AUTH_JWT_SECRET || loadOrCreateSecretFile(path.join(dataDir, 'jwt-secret'));

    const store = await openStore({ kind: 'sqlite', file: path.join(dataDir, 'teamtalk.sqlite')}, { scrypt: { N: cfg.PASSWORD_SCRYPT_N }, roomHistoryLimit: cfg.ROOM_HISTORY_LIMIT });
    onShutdown(() => store.close());
    const cache = new MemoryCache({ maxEntries: 100_000 });
    const bus = new MemoryBus({ onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
    onShutdown(() => bus.close());

    const dbProxy = await startDbProxy({ store, cache, log: roleLog('db_proxy'), metricsRegistry, host: '127.0.0.1', port: cfg.DB_PROXY_PORT, serverId: 'standalone', passwordCheckCacheTtlSeconds: cfg.PASSWORD_CHECK_CACHE_TTL_S, loginThrottle: loginThrottleSettings(cfg), clientMsgIdRetentionSeconds: cfg.CLIENT_MSG_ID_RETENTION_HOURS * 3600 });
    onShutdown(() => dbProxy.close());
    // The roles in this process call db_proxy directly: same handlers, no HTTP/2 hop.
    const db = dbProxy.localClient;

    const route = startRouteServer({ bus, log: roleLog('route_server'), metricsRegistry, subjectPrefix, routeServerId: 'standalone' });
    onShutdown(() => route.close());

    const fileAdvertise = (cfg.FILE_SERVER_ADVERTISE_IP || cfg.MSG_SERVER_ADVERTISE_IP).split(',').map((s) => s.trim()).filter(Boolean);
    const files = await startFileServer({
      config: {
        serverId: 'standalone',
        host: cfg.STANDALONE_BIND_HOST,
        port: cfg.FILE_SERVER_PORT,
        tlsPort: cfg.FILE_SERVER_TLS_PORT,
        advertiseIps: fileAdvertise,
        httpHost: cfg.STANDALONE_BIND_HOST,
        httpPort: cfg.FILE_SERVER_HTTP_PORT,
        httpsPort: cfg.FILE_SERVER_HTTPS_PORT,
        httpPublicUrl: cfg.FILE_SERVER_HTTP_PUBLIC_URL,
        rpcHost: '127.0.0.1',
        rpcPort: cfg.FILE_SERVER_RPC_PORT,
        dataDir: cfg.FILE_SERVER_DATA_DIR || path.join(dataDir, 'files'),
        limits: {
          maxFileBytes: cfg.FILE_SERVER_MAX_FILE_BYTES,
          chunkBytes: cfg.FILE_SERVER_CHUNK_BYTES,
          taskExpiryMs: cfg.FILE_SERVER_TASK_EXPIRY_MS,
          offlineExpiryMs: cfg.FILE_SERVER_OFFLINE_EXPIRY_MS,
        },
        quotaBytes: cfg.FILE_SERVER_QUOTA_BYTES,
        maxImageBytes: cfg.FILE_SERVER_MAX_IMAGE_BYTES,
        imageTypes: cfg.FILE_SERVER_IMAGE_TYPES.split(',').map((s) => s.trim()).filter(Boolean),
        idleTimeoutMs: cfg.FILE_SERVER_IDLE_TIMEOUT_MS,
        connectionLimits: { maxOutputBytes: cfg.CONN_MAX_OUTPUT_BYTES, maxInputBytes: cfg.CONN_MAX_INPUT_BYTES, slowReaderMs: cfg.CONN_SLOW_READER_MS },
        sweepIntervalMs: cfg.FILE_SERVER_SWEEP_INTERVAL_MS,
        reportIntervalMs: 2000,
        subjectPrefix,
      },
      bus,
      log: roleLog('file_server'),
      metricsRegistry,
      tls,
    });
    onShutdown(() => files.close());

    const adminCluster = new BusAdminCluster({ bus, subjectPrefix }).start();
    onShutdown(() => adminCluster.close());
    const login = await startLoginServer({
      bus,
      log: roleLog('login_server'),
      metricsRegistry,
      subjectPrefix,
      host: cfg.STANDALONE_BIND_HOST,
      port: cfg.LOGIN_HTTP_PORT,
      httpsPort: cfg.LOGIN_HTTPS_PORT,
      tls,
      msfsUrl: cfg.LOGIN_MSFS_URL || files.httpUrl,
      discoveryUrl: '',
      validateUser: (req) => db.validateUser(req),
      auth: { secret: jwtSecret, ttlSeconds: cfg.AUTH_JWT_TTL_S },
      friends: db,
      // The operator API (/api/v1): the same store and cluster view as in cluster mode, in process.
      admin: {
        store: new DbProxyAdminStore(db, { contentKey: cfg.TT_CONTENT_KEY || undefined }),
        cluster: adminCluster,
        tokenTtlSeconds: cfg.ADMIN_API_TOKEN_TTL_S,
        rateLimitPerMinute: cfg.ADMIN_API_RATE_LIMIT,
        corsOrigins: cfg.ADMIN_API_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
        loginThrottle: loginThrottleSettings(cfg),
      },
    });
    onShutdown(() => login.close());

    // push_server's jobs stay in this process (lost on restart, like the connections they were for).
    const pushJobs = new MemoryJobQueue();
    onShutdown(() => pushJobs.close());
    const pusher = await startPushServer({
      jobs: pushJobs,
      db,
      providers: push.providers,
      providerStatus: push.status,
      log: roleLog('push_server'),
      metricsRegistry,
      config: {
        contentKey: push.contentKey,
        previewMaxChars: cfg.PUSH_PREVIEW_MAX_CHARS,
        concurrency: cfg.PUSH_CONCURRENCY,
        retry: { maxAttempts: cfg.PUSH_MAX_ATTEMPTS, initialDelayMs: cfg.PUSH_RETRY_INITIAL_MS, maxDelayMs: Math.max(cfg.PUSH_RETRY_MAX_MS, cfg.PUSH_RETRY_INITIAL_MS) },
      },
    });
    onShutdown(() => pusher.close());

    const msg = await startMsgServer({
      config: {
        host: cfg.STANDALONE_BIND_HOST,
        port: cfg.MSG_SERVER_PORT,
        tlsPort: cfg.MSG_SERVER_TLS_PORT,
        serverId: 'standalone',
        advertiseIp: cfg.MSG_SERVER_ADVERTISE_IP,
        maxConnections: cfg.MSG_SERVER_MAX_CONNECTIONS,
        maxFrameBytes: cfg.MSG_SERVER_MAX_FRAME_BYTES,
        connectionLimits: { maxOutputBytes: cfg.CONN_MAX_OUTPUT_BYTES, maxInputBytes: cfg.CONN_MAX_INPUT_BYTES, slowReaderMs: cfg.CONN_SLOW_READER_MS },
        msgRateLimit: cfg.MSG_SERVER_MSG_RATE_LIMIT,
        loginTimeoutMs: cfg.MSG_SERVER_LOGIN_TIMEOUT_MS,
        pcIdleTimeoutMs: cfg.MSG_SERVER_PC_IDLE_TIMEOUT_MS,
        mobileIdleTimeoutMs: cfg.MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS,
        heartbeatIntervalMs: 30_000,
        reportIntervalMs: 2000,
        drainTimeoutMs: 10_000,
        subjectPrefix,
        soleServer: true,
        ws: wsFrontConfig(cfg, cfg.STANDALONE_BIND_HOST),
        msync: msyncFrontConfig(cfg, cfg.STANDALONE_BIND_HOST),
        tcp12: tcp12FrontConfig(cfg, cfg.STANDALONE_BIND_HOST),
        omtp: omtpFrontConfig(cfg, cfg.STANDALONE_BIND_HOST),
        systemAccount: cfg.ADMIN_SYSTEM_ACCOUNT,
        jwtSecret,
        contentKey: push.contentKey,
        recallWindowSeconds: cfg.MSG_SERVER_RECALL_WINDOW_S,
      },
      db,
      bus,
      log: roleLog('msg_server'),
      metricsRegistry,
      pushJobs,
      tls,
    });
    onShutdown(() => msg.drain());

    const admin = await startAdminServer({
      host: cfg.ADMIN_HOST,
      port: cfg.ADMIN_PORT,
      registry: metricsRegistry,
      logger: log,
      checks: {
        ready: async () => {
          const parts = { db_proxy: await dbProxy.readiness(), route_server: await route.readiness(), login_server: await login.readiness(), msg_server: await msg.readiness(), file_server: await files.readiness(), push_server: await pusher.readiness() };
          return { ok: Object.values(parts).every((p) => p.ok), details: parts };
        },
      },
      operations: msg.operations,
      adminToken: cfg.ADMIN_TOKEN,
    });
    onShutdown(() => admin.close());
    log.info({ loginHttpPort: login.port, msgServerPort: msg.port, fileServerPort: files.port, imageStoreUrl: files.httpUrl, adminPort: admin.port, dataDir }, 'TeamTalk standalone server ready');
  },
  { shutdownTimeoutMs: 20_000 },
);
