export interface BatcherOptions<T = unknown> {
  /** Batches in flight at the same time (1 for SQLite's single writer). */
  lanes: number;
  maxBatch: number;
  /**
   * Pins every item to a lane (e.g. by sender). A pinned lane has one batch in
   * flight at a time, so items of one key complete in the order they were
   * submitted, while different keys still go in parallel. Without it any free
   * lane takes the oldest pending items.
   */
  laneOf?: (item: T) => number;
  /** With weigh: a batch stops before its items weigh more than this (a single item always goes). */
  maxWeight?: number;
  /** An item's weight for maxWeight, e.g. its size in bytes. */
  weigh?: (item: T) => number;
  /**
   * When a whole batch fails, try each item on its own, so one bad item does
   * not fail its neighbours (for all-or-nothing batches such as a transaction).
   */
  retryAloneOnFailure?: boolean;
  /** Told the size of every batch (metrics). */
  onBatch?: (size: number) => void;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Items submitted while a batch is under way wait for it and then go
 * together. Used for group commit (a durable commit costs the same for one
 * row or a hundred) and for batched calls between services (one round trip
 * for many requests). Nothing resolves before its batch has completed; with
 * no load an item starts on the next turn of the event loop.
 */
export class Batcher<T, R> {
  /** One queue shared by every lane, or one per lane when items are pinned (laneOf). */
  private readonly queues: Array<Array<Pending<T, R>>>;
  private readonly laneBusy: boolean[];
  private active = 0;
  private scheduled = false;

  constructor(
    /** Handles a batch; returns one result per item, in order. */
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly options: BatcherOptions<T>,
  ) {
    const queues = options.laneOf ? options.lanes : 1;
    this.queues = Array.from({ length: queues }, () => []);
    this.laneBusy = new Array<boolean>(queues).fill(false);
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { laneOf } = this.options;
      const queue = laneOf ? this.queues[Math.abs(Math.trunc(laneOf(item))) % this.queues.length] : this.queues[0];
      queue.push({ item, resolve, reject });
      // Start on the next turn of the event loop, not now: items that arrive
      // in the same I/O phase then share the batch. This matters when the
      // handler is synchronous (SQLite), as the first item would otherwise be
      // done before the next is even read.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    if (this.options.laneOf) {
      for (let lane = 0; lane < this.queues.length; lane++) this.pumpPinned(lane);
      return;
    }
    const pending = this.queues[0];
    while (this.active < this.options.lanes && pending.length > 0) {
      const batch = pending.splice(0, this.batchLength(pending));
      this.active += 1;
      void this.run(batch).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  private pumpPinned(lane: number): void {
    const pending = this.queues[lane];
    if (this.laneBusy[lane] || pending.length === 0) return;
    this.laneBusy[lane] = true;
    const batch = pending.splice(0, this.batchLength(pending));
    void this.run(batch).finally(() => {
      this.laneBusy[lane] = false;
      this.pumpPinned(lane);
    });
  }

  /** How many pending items the next batch takes: up to maxBatch, and up to maxWeight if items are weighed. */
  private batchLength(pending: Array<Pending<T, R>>): number {
    const { maxBatch, maxWeight, weigh } = this.options;
    const limit = Math.min(maxBatch, pending.length);
    if (!weigh || maxWeight === undefined) return limit;
    let weight = weigh(pending[0].item);
    let n = 1;
    while (n < limit) {
      weight += weigh(pending[n].item);
      if (weight > maxWeight) break;
      n += 1;
    }
    return n;
  }

  private async run(batch: Array<Pending<T, R>>): Promise<void> {
    this.options.onBatch?.(batch.length);
    try {
      const results = await this.commit(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1 || !this.options.retryAloneOnFailure) {
        for (const b of batch) b.reject(err);
        return;
      }
      for (const b of batch) {
        try {
          b.resolve((await this.commit([b.item]))[0]);
        } catch (e) {
          b.reject(e);
        }
      }
    }
  }
}
