// What the main thread and the beacon thread share: a few 32-bit cells in a
// SharedArrayBuffer, so the beacon thread can tell whether the main event
// loop is still turning without asking it (a message would wait behind the
// very stall it is meant to detect).

const TICKS = 0;
const INCARNATION = 1;
const STOPPED = 2;
const CELLS = 3;

export class BeaconSignal {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
  }

  /** Main thread: one more turn of the event loop happened. */
  tick(): void {
    Atomics.add(this.cells, TICKS, 1);
  }

  get ticks(): number {
    return Atomics.load(this.cells, TICKS);
  }

  get incarnation(): number {
    return Atomics.load(this.cells, INCARNATION);
  }

  set incarnation(value: number) {
    Atomics.store(this.cells, INCARNATION, value);
  }

  /** Set once on shutdown: no beacon may leave after the server said it is leaving. */
  get stopped(): boolean {
    return Atomics.load(this.cells, STOPPED) === 1;
  }

  stop(): void {
    Atomics.store(this.cells, STOPPED, 1);
  }
}

/**
 * Whether the main thread still makes progress: its tick counter must have
 * moved within `hangTimeoutMs` (measured on the observer's own clock, so the
 * two threads need no common time base).
 */
export class StallWatch {
  private lastTicks: number | undefined;
  private movedAt = 0;

  constructor(
    private readonly hangTimeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records the counter's value now; returns for how long (ms) it has not moved. */
  observe(ticks: number): number {
    const now = this.now();
    if (ticks !== this.lastTicks) {
      this.lastTicks = ticks;
      this.movedAt = now;
    }
    return now - this.movedAt;
  }

  /** Whether a main thread stalled for `stalledMs` counts as hung. */
  isHung(stalledMs: number): boolean {
    return stalledMs > this.hangTimeoutMs;
  }
}
