import { Worker } from 'node:worker_threads';
import { BeaconSignal, StallWatch } from './beacon-signal';

describe('the stall watch tells a busy main loop from a hung one', () => {
  let clock = 0;
  const now = () => clock;

  it('a counter that keeps moving is never hung, however long the run', () => {
    const watch = new StallWatch(5000, now);
    for (let ticks = 0; ticks < 100; ticks++) {
      clock += 1000;
      expect(watch.isHung(watch.observe(ticks))).toBe(false);
    }
  });

  it('a counter stuck for the hang timeout is not yet hung; past it, it is; moving again, it is not', () => {
    clock = 0;
    const watch = new StallWatch(5000, now);
    expect(watch.observe(41)).toBe(0);
    clock = 5000;
    expect(watch.isHung(watch.observe(41))).toBe(false);
    clock = 5001;
    expect(watch.observe(41)).toBe(5001);
    expect(watch.isHung(5001)).toBe(true);
    clock = 9000;
    expect(watch.isHung(watch.observe(42))).toBe(false);
  });
});

describe('the signal is shared memory: another thread sees the main thread tick without a message', () => {
  it('a worker reads ticks, the incarnation and the stop flag written here', async () => {
    const signal = new BeaconSignal();
    signal.incarnation = 3;
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const cells = new Int32Array(workerData);
       parentPort.on('message', () => parentPort.postMessage([Atomics.load(cells, 0), Atomics.load(cells, 1), Atomics.load(cells, 2)]));`,
      { eval: true, workerData: signal.buffer },
    );
    const ask = () => new Promise<number[]>((resolve) => {
      worker.once('message', resolve);
      worker.postMessage('read');
    });
    try {
      expect(await ask()).toEqual([0, 3, 0]);
      signal.tick();
      signal.tick();
      signal.incarnation = 4;
      signal.stop();
      expect(await ask()).toEqual([2, 4, 1]);
      expect(signal.stopped).toBe(true);
    } finally {
      await worker.terminate();
    }
  });
});
