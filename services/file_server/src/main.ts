#!/usr/bin/env node
// file_server as its own process (cluster mode): file transfer for TeamTalk
// clients (TCP), the image store (HTTP), tasks created by msg_server (gRPC),
// liveness and addresses reported over NATS.
import * as os from 'node:os';
import { fileServerSpec, loadConfig } from '@tt/config';
import { grpcTlsSettings, natsConnectionSettings } from '@tt/tls';
import { NatsBus } from '@tt/bus';
import { createMetrics, startAdminServer } from '@tt/observability';
import { runService } from '@tt/runtime';
import { openClientTls } from '@tt/tls';
import { startFileServer } from './file-server';

runService(
  'file_server',
  async ({ log, onShutdown }) => {
    const cfg = loadConfig(fileServerSpec);
    const rpcTls = grpcTlsSettings(cfg, { serves: true });
    const metricsRegistry = createMetrics('file_server').registry;
    const tls = openClientTls(cfg, { FILE_SERVER_TLS_PORT: cfg.FILE_SERVER_TLS_PORT, FILE_SERVER_HTTPS_PORT: cfg.FILE_SERVER_HTTPS_PORT }, log, metricsRegistry);
    onShutdown(() => tls?.close());
    const bus = await NatsBus.connect({ servers: cfg.NATS_URL.split(','), ...natsConnectionSettings(cfg), name: 'file_server', onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
    onShutdown(() => bus.close());
    const server = await startFileServer({
      config: {
        serverId: cfg.FILE_SERVER_ID || os.hostname(),
        host: cfg.FILE_SERVER_HOST,
        port: cfg.FILE_SERVER_PORT,
        tlsPort: cfg.FILE_SERVER_TLS_PORT,
        advertiseIps: cfg.FILE_SERVER_ADVERTISE_IP.split(',').map((s) => s.trim()).filter(Boolean),
        advertisePort: cfg.FILE_SERVER_ADVERTISE_PORT,
        httpHost: cfg.FILE_SERVER_HTTP_HOST,
        httpPort: cfg.FILE_SERVER_HTTP_PORT,
        httpsPort: cfg.FILE_SERVER_HTTPS_PORT,
        httpPublicUrl: cfg.FILE_SERVER_HTTP_PUBLIC_URL,
        rpcHost: cfg.FILE_SERVER_RPC_HOST,
        rpcPort: cfg.FILE_SERVER_RPC_PORT,
        rpcAdvertise: cfg.FILE_SERVER_RPC_ADVERTISE,
        rpcTls,
        dataDir: cfg.FILE_SERVER_DATA_DIR,
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
        reportIntervalMs: cfg.FILE_SERVER_REPORT_INTERVAL_MS,
        subjectPrefix: cfg.TT_SUBJECT_PREFIX,
      },
      bus,
      log,
      metricsRegistry,
      tls,
    });
    onShutdown(() => server.close());
    const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready: server.readiness } });
    onShutdown(() => admin.close());
  },
  { shutdownTimeoutMs: 20_000 },
);
