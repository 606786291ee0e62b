import { PUSH_QUEUES, type DbProxyClient } from '@tt/proto';
import type { JobQueue, JobWorker, RetryPolicy } from '@tt/bus';
import { ConfigError } from '@tt/config';
import { createPushProviders, loadPushConfig, type PushProvider } from '@tt/push';
import type { Logger } from '@tt/observability';
import type { Registry } from 'prom-client';
import { messageJobHandler, sendJobHandler } from './handlers';
import { createPushMetrics } from './metrics';
import type { ProviderName } from './domain/notifications';

export interface PushServerConfig {
  /** Client content key for previews; unset = generic text. */
  contentKey?: string;
  /** Longest preview, characters. */
  previewMaxChars: number;
  /** Jobs handled at once, per queue. */
  concurrency: number;
  retry: RetryPolicy;
}

export interface PushServerDeps {
  /** Where the jobs are: JetStream (cluster) or in-process (standalone), shared with msg_server. */
  jobs: JobQueue;
  db: DbProxyClient;
  /** The configured providers; a missing one is off. */
  providers: Partial<Record<ProviderName, PushProvider>>;
  log: Logger;
  metricsRegistry: Registry;
  config: PushServerConfig;
  /** Lines for the start-up log (which provider is on or off, and why). */
  providerStatus?: string[];
}

export interface RunningPushServer {
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  /** Stops taking jobs, lets running ones finish, closes the provider connections. */
  close(): Promise<void>;
}

/**
 * The providers the PUSH_* environment configures, with one status line
 * each; a partial or broken configuration is a ConfigError (exit code 2).
 */
export function pushProvidersFromEnv(env: NodeJS.ProcessEnv, requestTimeoutMs: number): { providers: Partial<Record<ProviderName, PushProvider>>; status: string[]; contentKey?: string } {
  const config = loadPushConfig(env);
  if (config.errors.length > 0) throw new ConfigError(config.errors);
  const { apns, fcm } = createPushProviders(config, { requestTimeoutMs });
  const providers: Partial<Record<ProviderName, PushProvider>> = {};
  if (apns) providers.apns = apns;
  if (fcm) providers.fcm = fcm;
  return { providers, status: config.status, contentKey: config.contentKey };
}

/**
 * push_server: works the two push queues. "message" jobs (one per stored
 * message, from msg_server) become one "send" job per device after the
 * look-ups; each send is retried on its own, so a slow provider or one bad
 * device never repeats a notification another device already got.
 */
export async function startPushServer(deps: PushServerDeps): Promise<RunningPushServer> {
  const { jobs, db, log, config } = deps;
  const metrics = createPushMetrics(deps.metricsRegistry);
  for (const line of deps.providerStatus ?? []) log.info(line);
  if (Object.keys(deps.providers).length === 0) log.warn('no push provider configured: push jobs are taken and dropped');

  const handlerDeps = { db, jobs, providers: deps.providers, metrics, log, contentKey: config.contentKey, maxPreview: config.previewMaxChars };
  const common = {
    retry: config.retry,
    concurrency: config.concurrency,
    onRetry: (r: { queue: string; attempt: number; reason: string; delayMs: number }) => {
      metrics.retries.inc({ queue: r.queue });
      log.debug(r, 'push job will be retried');
    },
    onDeadLetter: (d: { queue: string; attempts: number; reason: string }) => {
      metrics.deadLetters.inc({ queue: d.queue });
      log.warn({ queue: d.queue, attempts: d.attempts, reason: d.reason }, 'push job dead-lettered');
    },
    onError: (err: unknown) => log.error({ err }, 'push job queue error'),
  };
  const workers: JobWorker[] = [
    await jobs.work(PUSH_QUEUES.message, messageJobHandler(handlerDeps), common),
    await jobs.work(PUSH_QUEUES.send, sendJobHandler(handlerDeps), common),
  ];
  log.info({ providers: Object.keys(deps.providers), concurrency: config.concurrency, maxAttempts: config.retry.maxAttempts }, 'push_server started');

  return {
    readiness: async () => {
      const details: Record<string, unknown> = { jobs: jobs.isConnected(), providers: Object.keys(deps.providers) };
      try {
        await db.ping({});
        details.dbProxy = true;
      } catch {
        details.dbProxy = false;
      }
      return { ok: details.jobs === true && details.dbProxy === true, details };
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(Object.values(deps.providers).map((p) => p!.close().catch(() => undefined)));
    },
  };
}
