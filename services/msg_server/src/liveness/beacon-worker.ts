// The beacon thread (see beacon.ts): its own NATS connection, its own timer,
// so beacons keep leaving while the main event loop is busy, and stop once
// the main loop has not turned for the hang timeout.
import { parentPort, workerData } from 'node:worker_threads';
import { NatsBus, type NatsBusOptions } from '@tt/bus';
import { BeaconSignal, StallWatch } from './beacon-signal';
import { encodeBeacon } from './beacon-wire';

/** What the main thread hands the beacon thread (structured-clone safe: no functions). */
export interface BeaconWorkerData {
  signal: SharedArrayBuffer;
  serverId: string;
  subject: string;
  intervalMs: number;
  hangTimeoutMs: number;
  nats: Omit<NatsBusOptions, 'onError' | 'onStatus'>;
}

/** Beacon thread → main thread. */
export type BeaconWorkerEvent =
  | { type: 'connected' }
  /** Beacons stopped: the main loop had not turned for `stalledMs`. */
  | { type: 'withheld'; stalledMs: number }
  /** Beacons again after a withheld stretch. */
  | { type: 'resumed'; withheldMs: number }
  | { type: 'bus'; status: string; detail?: string };

async function run(data: BeaconWorkerData): Promise<void> {
  const port = parentPort!;
  const post = (event: BeaconWorkerEvent) => port.postMessage(event);
  const signal = new BeaconSignal(data.signal);
  const watch = new StallWatch(data.hangTimeoutMs);
  const bus = await NatsBus.connect({
    ...data.nats,
    waitOnFirstConnect: true,
    onStatus: (s) => post({ type: 'bus', status: s.type, detail: s.detail }),
  });
  post({ type: 'connected' });
  let incarnation = 0;
  let seq = 0;
  let withheldSince: number | undefined;
  const beat = () => {
    if (signal.stopped) return;
    const stalledMs = watch.observe(signal.ticks);
    if (watch.isHung(stalledMs)) {
      if (withheldSince === undefined) {
        withheldSince = performance.now();
        post({ type: 'withheld', stalledMs: Math.round(stalledMs) });
      }
      return;
    }
    if (withheldSince !== undefined) {
      post({ type: 'resumed', withheldMs: Math.round(performance.now() - withheldSince) });
      withheldSince = undefined;
    }
    if (signal.incarnation !== incarnation) {
      incarnation = signal.incarnation;
      seq = 0;
    }
    seq += 1;
    try {
      bus.publish(data.subject, encodeBeacon(data.serverId, incarnation, seq));
    } catch {
      // Disconnected: the client buffers nothing for us here; the next beat tries again.
    }
  };
  beat();
  const timer = setInterval(beat, data.intervalMs);
  port.on('message', (m: 'beat' | 'stop') => {
    if (m === 'beat') beat();
    else if (m === 'stop') {
      clearInterval(timer);
      void bus.close().finally(() => port.close());
    }
  });
}

if (parentPort) {
  run(workerData as BeaconWorkerData).catch((err: unknown) => {
    // Thrown to the main thread's 'error' handler, which restarts the thread.
    setImmediate(() => {
      throw err;
    });
  });
}
