import { DbProxyService, type DbProxyClient } from '@tt/proto';
import { createLocalRpcClient, startRpcServer, type RpcServerOptions, type RpcTls, type RunningRpcServer } from '@tt/rpc';
import type { Cache } from '@tt/cache';
import { watchDependencies, type Logger } from '@tt/observability';
import type { Store } from '@tt/storage';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createDbProxyHandlers, mapStorageError } from './handlers';
import { DEFAULT_LOGIN_THROTTLE, instrumentedLoginThrottle, type LoginThrottleSettings } from '@tt/auth';

export interface DbProxyDeps {
  store: Store;
  cache: Cache;
  log: Logger;
  metricsRegistry: Registry;
  host: string;
  port: number;
  /** TLS of the gRPC service (GRPC_TLS_*); absent: cleartext. */
  rpcTls?: RpcTls;
  serverId: string;
  /** PASSWORD_CHECK_CACHE_TTL_S. */
  passwordCheckCacheTtlSeconds?: number;
  /** LOGIN_THROTTLE_*: back-off after failed log-ins (default: DEFAULT_LOGIN_THROTTLE). */
  loginThrottle?: LoginThrottleSettings;
  /** CLIENT_MSG_ID_RETENTION_HOURS as seconds: client_msg_ids older than this are forgotten (0: kept forever). */
  clientMsgIdRetentionSeconds?: number;
  /** How often expired client_msg_ids are swept (default 10 minutes). */
  sweepIntervalMs?: number;
  /** READINESS_GRACE_MS: how long MySQL or Redis may fail before /readyz reports it (default 60 s). */
  readinessGraceMs?: number;
}

/** Rows one sweep statement deletes, and statements one sweep runs at most (the rest waits for the next). */
const SWEEP_ROWS = 5000;
const SWEEP_STATEMENTS = 20;

export interface RunningDbProxy {
  port: number;
  /** Calls this db_proxy in-process (standalone mode): same handlers, no network hop. */
  localClient: DbProxyClient;
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startDbProxy(deps: DbProxyDeps): Promise<RunningDbProxy> {
  const registers = [deps.metricsRegistry];
  const calls = new Counter({ name: 'tt_db_proxy_calls_total', help: 'gRPC calls by method and status', labelNames: ['method', 'code'] as const, registers });
  const seconds = new Histogram({ name: 'tt_db_proxy_call_seconds', help: 'gRPC call duration', labelNames: ['method'] as const, buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1], registers });
  const loginThrottle = instrumentedLoginThrottle(deps.cache, deps.loginThrottle ?? DEFAULT_LOGIN_THROTTLE, { log: deps.log, registry: deps.metricsRegistry });
  const handlers = createDbProxyHandlers(deps.store, deps.cache, deps.serverId, { passwordCheckCacheTtlSeconds: deps.passwordCheckCacheTtlSeconds, loginThrottle });
  const options: RpcServerOptions = {
    tls: deps.rpcTls,
    mapError: mapStorageError,
    onError: (method, err) => deps.log.error({ method, err }, 'db_proxy call failed'),
    onCall: (method, code, s) => {
      calls.inc({ method, code: String(code) });
      seconds.observe({ method }, s);
    },
  };
  const server: RunningRpcServer = await startRpcServer(DbProxyService, handlers, { host: deps.host, port: deps.port }, options);
  deps.log.info({ port: server.port }, 'db_proxy serving gRPC');
  const pruned = new Counter({ name: 'tt_db_proxy_client_msg_ids_expired_total', help: 'client_msg_id rows deleted after CLIENT_MSG_ID_RETENTION_HOURS', registers });
  const sweep = async () => {
    const retention = deps.clientMsgIdRetentionSeconds ?? 0;
    if (retention <= 0) return;
    const before = Math.max(0, Math.floor(Date.now() / 1000) - retention);
    for (let i = 0; i < SWEEP_STATEMENTS; i++) {
      const n = await deps.store.messages.pruneClientMsgIds(before, SWEEP_ROWS);
      pruned.inc(n);
      if (n < SWEEP_ROWS) break;
    }
  };
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      .catch((err: unknown) => deps.log.warn({ err }, 'client_msg_id sweep failed'))
      .finally(() => (sweeping = false));
  }, deps.sweepIntervalMs ?? 600_000);
  sweeper.unref();
  // Ready while MySQL and Redis answer or have failed for less than the grace
  // period: every db_proxy sees a blip at once, and NotReady replicas leave the
  // headless Service's DNS, so callers would find none at all (calls failing
  // meanwhile get their gRPC error, which msg_server maps to TeamTalk's codes).
  const dependencies = watchDependencies({
    checks: { database: () => deps.store.db.query('SELECT 1').then(() => true), cache: () => deps.cache.ping() },
    graceMs: deps.readinessGraceMs ?? 60_000,
    onChange: (dependency, up) => (up ? deps.log.info({ dependency }, 'dependency back') : deps.log.warn({ dependency }, 'dependency not answering')),
  });
  return {
    port: server.port,
    localClient: createLocalRpcClient<DbProxyClient>(DbProxyService, handlers, options),
    readiness: async () => dependencies.state(),
    close: () => {
      clearInterval(sweeper);
      dependencies.close();
      return server.close();
    },
  };
}
