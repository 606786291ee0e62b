// Liveness beacons of a msg_server (docs/ARCHITECTURE.md, "Failure detection
// and fencing"). They leave from a worker thread with its own NATS
// connection, so a main event loop that is only busy (a login storm on an
// overloaded machine, a long GC) keeps beaconing and is not fenced; the
// thread stops beaconing once the main loop has not turned for the hang
// timeout, so a process hung for good is still declared dead. A stopped
// process (SIGSTOP, kill -9) stops both threads at once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backoffDelay } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { BeaconSignal } from './beacon-signal';
import type { BeaconWorkerData, BeaconWorkerEvent } from './beacon-worker';

export interface BeaconOptions extends Omit<BeaconWorkerData, 'signal'> {
  log: Logger;
  /** Counts beacons withheld because the main loop stalled past the hang timeout. */
  onWithheld?: () => void;
}

export interface Beacon {
  /** A new life after fencing: the next beacon (sent at once) carries it. */
  setIncarnation(incarnation: number): void;
  /** Stops beaconing at once (before the server announces it is leaving) and ends the thread. */
  close(): Promise<void>;
}

/** The compiled worker next to this file (dist/liveness/beacon-worker.js); run from sources, the build's copy. */
function workerScript(): string {
  const here = path.join(__dirname, 'beacon-worker.js');
  if (fs.existsSync(here)) return here;
  return path.join(__dirname, '..', '..', 'dist', 'liveness', 'beacon-worker.js');
}

/** How often the main thread proves it turns: often enough that a healthy loop never looks stalled. */
function tickIntervalMs(hangTimeoutMs: number): number {
  return Math.max(10, Math.min(100, Math.floor(hangTimeoutMs / 10)));
}

export function startBeacon(options: BeaconOptions, incarnation: number): Beacon {
  const { log, onWithheld, ...data } = options;
  const signal = new BeaconSignal();
  signal.incarnation = incarnation;
  const ticker = setInterval(() => signal.tick(), tickIntervalMs(options.hangTimeoutMs));
  ticker.unref();
  signal.tick();

  let worker: Worker | undefined;
  let closing = false;
  let restarts = 0;
  const spawn = () => {
    const w = new Worker(workerScript(), {
      workerData: { ...data, signal: signal.buffer } satisfies BeaconWorkerData,
      // A few MiB of heap is all it ever needs; a bound keeps a bug from costing the server.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    w.unref();
    w.on('message', (event: BeaconWorkerEvent) => {
      switch (event.type) {
        case 'connected':
          restarts = 0;
          break;
        case 'withheld':
          onWithheld?.();
          log.warn({ stalledMs: event.stalledMs, hangTimeoutMs: options.hangTimeoutMs }, 'event loop stalled past the hang timeout: beacons withheld, route_server will declare this server dead');
          break;
        case 'resumed':
          log.warn({ withheldMs: event.withheldMs }, 'event loop turning again: beacons resumed');
          break;
        case 'bus':
          if (event.status === 'disconnected' || event.status === 'reconnected') log.info({ status: event.status, detail: event.detail }, 'beacon thread: NATS connection');
          break;
      }
    });
    w.on('error', (err) => log.error({ err }, 'beacon thread failed'));
    w.on('exit', (code) => {
      if (closing) return;
      // Without beacons the server would soon be declared dead: start the thread again.
      restarts += 1;
      const delay = backoffDelay({ initialDelayMs: 100, maxDelayMs: 5000, maxAttempts: Number.POSITIVE_INFINITY }, restarts);
      log.error({ code, restartInMs: delay }, 'beacon thread exited; starting it again');
      setTimeout(() => {
        if (!closing) worker = spawn();
      }, delay).unref();
    });
    return w;
  };
  worker = spawn();

  return {
    setIncarnation(n: number) {
      signal.incarnation = n;
      worker?.postMessage('beat');
    },
    async close() {
      if (closing) return;
      closing = true;
      signal.stop();
      clearInterval(ticker);
      const w = worker;
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage('stop');
      // A graceful stop closes its NATS connection; a thread that does not end soon is terminated.
      const timer = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
