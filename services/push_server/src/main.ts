#!/usr/bin/env node
// push_server as its own process (cluster mode): push jobs from a JetStream
// work queue (created here if missing), look-ups through db_proxy over gRPC,
// notifications to APNs and FCM. Run as many replicas as you like: they share
// one durable consumer per queue.
import { loadConfig, pushServerSpec } from '@tt/config';
import { grpcTlsSettings, natsConnectionSettings } from '@tt/tls';
import { JetStreamJobQueue, NatsBus } from '@tt/bus';
import { createMetrics, startAdminServer } from '@tt/observability';
import { DbProxyService, clusterSubjects, type DbProxyClient } from '@tt/proto';
import { createRpcClient } from '@tt/rpc';
import { runService } from '@tt/runtime';
import { pushProvidersFromEnv, startPushServer } from './push-server';

runService('push_server', async ({ log, onShutdown }) => {
  const cfg = loadConfig(pushServerSpec);
  const rpcTls = grpcTlsSettings(cfg, { serves: false });
  const { providers, status, contentKey } = pushProvidersFromEnv(process.env, cfg.PUSH_REQUEST_TIMEOUT_MS);
  const metricsRegistry = createMetrics('push_server').registry;
  const bus = await NatsBus.connect({ servers: cfg.NATS_URL.split(','), ...natsConnectionSettings(cfg), name: 'push_server', onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
  onShutdown(() => bus.close());
  const db = createRpcClient<DbProxyClient>(DbProxyService, cfg.DB_PROXY_ADDR, { timeoutMs: cfg.DB_PROXY_TIMEOUT_MS, tls: rpcTls });
  onShutdown(() => db.close());
  const subjects = clusterSubjects(cfg.TT_SUBJECT_PREFIX);
  const jobs = await JetStreamJobQueue.open({
    connection: bus.connection,
    stream: subjects.pushStream,
    subjectPrefix: subjects.pushJobs,
    maxAgeMs: cfg.PUSH_JOB_MAX_AGE_MS,
    ackWaitMs: cfg.PUSH_ACK_WAIT_MS,
    replicas: cfg.PUSH_STREAM_REPLICAS,
  });
  onShutdown(() => jobs.close());
  const server = await startPushServer({
    jobs,
    db,
    providers,
    providerStatus: status,
    log,
    metricsRegistry,
    config: {
      contentKey,
      previewMaxChars: cfg.PUSH_PREVIEW_MAX_CHARS,
      concurrency: cfg.PUSH_CONCURRENCY,
      retry: { maxAttempts: cfg.PUSH_MAX_ATTEMPTS, initialDelayMs: cfg.PUSH_RETRY_INITIAL_MS, maxDelayMs: Math.max(cfg.PUSH_RETRY_MAX_MS, cfg.PUSH_RETRY_INITIAL_MS) },
    },
  });
  onShutdown(() => server.close());
  const ready = async () => {
    const r = await server.readiness();
    return { ok: r.ok && bus.isConnected(), details: { ...r.details, bus: bus.isConnected() } };
  };
  const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready } });
  onShutdown(() => admin.close());
});
