#!/usr/bin/env node
// msg_server as its own process (cluster mode): NATS for the cluster, db_proxy over gRPC.
import { checkDetectorTimes, loadConfig, msgServerSpec } from '@tt/config';
import { JetStreamJobQueue, NatsBus } from '@tt/bus';
import { createMetrics, startAdminServer } from '@tt/observability';
import { DbProxyService, clusterSubjects, type DbProxyClient } from '@tt/proto';
import { createRpcClient } from '@tt/rpc';
import { runService } from '@tt/runtime';
import { grpcTlsSettings, natsConnectionSettings, openClientTls } from '@tt/tls';
import { contentKeyOf, msgServerTlsPorts, msyncFrontConfig, omtpFrontConfig, startMsgServer, tcp12FrontConfig, wsFrontConfig } from './msg-server';

runService(
  'msg_server',
  async ({ log, onShutdown }) => {
    const cfg = loadConfig(msgServerSpec);
    const rpcTls = grpcTlsSettings(cfg, { serves: false });
    checkDetectorTimes(cfg);
    const metricsRegistry = createMetrics('msg_server').registry;
    // Before connecting anywhere: a TLS port without a usable certificate stops the start.
    const tls = openClientTls(cfg, msgServerTlsPorts(cfg), log, metricsRegistry);
    onShutdown(() => tls?.close());
    const nats = { servers: cfg.NATS_URL.split(','), ...natsConnectionSettings(cfg) };
    const bus = await NatsBus.connect({ ...nats, name: 'msg_server', onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
    onShutdown(() => bus.close());
    const db = createRpcClient<DbProxyClient>(DbProxyService, cfg.DB_PROXY_ADDR, { timeoutMs: cfg.DB_PROXY_TIMEOUT_MS, tls: rpcTls });
    onShutdown(() => db.close());
    // Producer only: push_server creates the stream (until it has, push jobs are counted as failed).
    const subjects = clusterSubjects(cfg.TT_SUBJECT_PREFIX);
    const pushJobs = await JetStreamJobQueue.open({ connection: bus.connection, stream: subjects.pushStream, subjectPrefix: subjects.pushJobs, manage: false });
    // Webhook calls: msg_servers queue them and work them (one durable consumer shared by all), so they manage the stream.
    const webhookJobs = await JetStreamJobQueue.open({ connection: bus.connection, stream: subjects.webhookStream, subjectPrefix: subjects.webhookJobs });
    onShutdown(() => webhookJobs.close());
    const server = await startMsgServer({
      config: {
        host: cfg.MSG_SERVER_HOST,
        port: cfg.MSG_SERVER_PORT,
        serverId: cfg.MSG_SERVER_ID,
        advertiseIp: cfg.MSG_SERVER_ADVERTISE_IP,
        advertiseIp2: cfg.MSG_SERVER_ADVERTISE_IP2,
        advertisePort: cfg.MSG_SERVER_ADVERTISE_PORT,
        tlsPort: cfg.MSG_SERVER_TLS_PORT,
        maxConnections: cfg.MSG_SERVER_MAX_CONNECTIONS,
        maxFrameBytes: cfg.MSG_SERVER_MAX_FRAME_BYTES,
        connectionLimits: { maxOutputBytes: cfg.CONN_MAX_OUTPUT_BYTES, maxInputBytes: cfg.CONN_MAX_INPUT_BYTES, slowReaderMs: cfg.CONN_SLOW_READER_MS },
        msgRateLimit: cfg.MSG_SERVER_MSG_RATE_LIMIT,
        loginTimeoutMs: cfg.MSG_SERVER_LOGIN_TIMEOUT_MS,
        pcIdleTimeoutMs: cfg.MSG_SERVER_PC_IDLE_TIMEOUT_MS,
        mobileIdleTimeoutMs: cfg.MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS,
        heartbeatIntervalMs: cfg.MSG_SERVER_HEARTBEAT_INTERVAL_MS,
        reportIntervalMs: cfg.MSG_SERVER_REPORT_INTERVAL_MS,
        beacon: {
          intervalMs: cfg.MSG_SERVER_BEACON_INTERVAL_MS,
          hangTimeoutMs: cfg.MSG_SERVER_HANG_TIMEOUT_MS,
          suspicionTimeoutMs: cfg.MSG_SERVER_SUSPICION_TIMEOUT_MS,
          nats: { ...nats, name: 'msg_server-beacon' },
        },
        drainTimeoutMs: cfg.MSG_SERVER_DRAIN_TIMEOUT_MS,
        drainRate: cfg.MSG_SERVER_DRAIN_RATE,
        statusNotifyBatchMs: cfg.MSG_SERVER_STATUS_NOTIFY_BATCH_MS,
        subjectPrefix: cfg.TT_SUBJECT_PREFIX,
        fileServerTimeoutMs: cfg.FILE_SERVER_TIMEOUT_MS,
        rpcTls,
        ws: wsFrontConfig(cfg, cfg.MSG_SERVER_HOST),
        msync: msyncFrontConfig(cfg, cfg.MSG_SERVER_HOST),
        tcp12: tcp12FrontConfig(cfg, cfg.MSG_SERVER_HOST),
        omtp: omtpFrontConfig(cfg, cfg.MSG_SERVER_HOST),
        systemAccount: cfg.ADMIN_SYSTEM_ACCOUNT,
        jwtSecret: cfg.AUTH_JWT_SECRET,
        contentKey: contentKeyOf(cfg),
        recallWindowSeconds: cfg.MSG_SERVER_RECALL_WINDOW_S,
        readinessGraceMs: cfg.READINESS_GRACE_MS,
      },
      db,
      bus,
      log,
      metricsRegistry,
      pushJobs,
      webhookJobs,
      tls,
    });
    onShutdown(() => server.drain());
    const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready: server.readiness }, operations: server.operations, adminToken: cfg.ADMIN_TOKEN });
    onShutdown(() => admin.close());
  },
  { shutdownTimeoutMs: 60_000 },
);
