import { ConfigError } from '@tt/config';
import { createLogger, type Logger } from '@tt/observability';
import { applyHeapSettings } from './heap';

export interface ServiceLifecycle {
  log: Logger;
  /** Registers a step to run on SIGTERM/SIGINT, in reverse order of registration. */
  onShutdown(step: () => Promise<void> | void): void;
}

/**
 * Runs one role as a process: a clear message and exit code 2 for bad
 * configuration, logged (not fatal) stray errors, and an orderly shutdown on
 * SIGTERM/SIGINT bounded by `shutdownTimeoutMs`.
 */
export function runService(role: string, start: (lifecycle: ServiceLifecycle) => Promise<void>, opts: { shutdownTimeoutMs?: number } = {}): void {
  applyHeapSettings();
  const log = createLogger(role);
  const steps: Array<() => Promise<void> | void> = [];
  let stopping = false;

  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, opts.shutdownTimeoutMs ?? 30_000);
    timer.unref();
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, 'shutdown step failed');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  start({ log, onShutdown: (step) => steps.push(step) }).catch((err) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${role}: ${err.message}\n`);
      log.fatal({ problems: err.problems }, 'invalid configuration');
      process.exit(2);
    }
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}
