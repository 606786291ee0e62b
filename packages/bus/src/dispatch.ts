import type { BusErrorHandler, BusHandler, BusMsg } from './types';

export function defaultOnError(err: unknown, context: { subject: string; queue?: string }): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`[bus] handler for ${context.subject}${context.queue ? ` (queue ${context.queue})` : ''} failed: ${detail}\n`);
}

/** Runs handlers so that a throw or rejection is reported, never propagated; tracks the ones still running. */
export class HandlerRunner {
  /** Handler failures so far (throws and rejections). */
  errors = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly onError: BusErrorHandler) {}

  run(handler: BusHandler, data: Uint8Array, msg: BusMsg, context: { subject: string; queue?: string }): void {
    let result: void | Promise<void>;
    try {
      result = handler(data, msg);
    } catch (err) {
      this.fail(err, context);
      return;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      const p: Promise<void> = Promise.resolve(result).then(
        () => {
          this.running.delete(p);
        },
        (err: unknown) => {
          this.running.delete(p);
          this.fail(err, context);
        },
      );
      this.running.add(p);
    }
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Resolves when the handlers running now have settled, or after timeoutMs, whichever comes first. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([Promise.allSettled([...this.running]).then(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts and reports a failure that happened outside a handler call (e.g. a subscription error). */
  report(err: unknown, context: { subject: string; queue?: string }): void {
    this.fail(err, context);
  }

  private fail(err: unknown, context: { subject: string; queue?: string }): void {
    this.errors++;
    try {
      this.onError(err, context);
    } catch {
      // An error reporter that throws must not take the bus down either.
    }
  }
}
