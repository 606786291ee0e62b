#!/usr/bin/env node
// route_server as its own process (cluster mode). Run as many replicas as you like.
import * as os from 'node:os';
import { checkDetectorTimes, loadConfig, routeServerSpec } from '@tt/config';
import { natsConnectionSettings } from '@tt/tls';
import { NatsBus } from '@tt/bus';
import { createMetrics, startAdminServer } from '@tt/observability';
import { runService } from '@tt/runtime';
import { startRouteServer } from './route-server';

runService('route_server', async ({ log, onShutdown }) => {
  const cfg = loadConfig(routeServerSpec);
  checkDetectorTimes(cfg);
  const metricsRegistry = createMetrics('route_server').registry;
  const bus = await NatsBus.connect({ servers: cfg.NATS_URL.split(','), ...natsConnectionSettings(cfg), name: 'route_server', onError: (err: unknown) => log.error({ err }, 'bus handler failed') });
  onShutdown(() => bus.close());
  const server = startRouteServer({ bus, log, metricsRegistry, subjectPrefix: cfg.TT_SUBJECT_PREFIX, routeServerId: cfg.ROUTE_SERVER_ID || `${os.hostname()}:${process.pid}`, suspicionTimeoutMs: cfg.MSG_SERVER_SUSPICION_TIMEOUT_MS });
  onShutdown(() => server.close());
  const admin = await startAdminServer({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT, registry: metricsRegistry, logger: log, checks: { ready: server.readiness } });
  onShutdown(() => admin.close());
});
