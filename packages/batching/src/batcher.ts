export interface BatcherOptions {
  /** Batches in flight at the same time (1 for SQLite's single writer). */
  lanes: number;
  maxBatch: number;
  /**
   * When a whole batch fails, try each item on its own, so one bad item does
   * not fail its neighbours (for all-or-nothing batches such as a transaction).
   */
  retryAloneOnFailure?: boolean;
  /** Told the size of every batch (metrics). */
  onBatch?: (size: number) => void;
}

/**
 * Items submitted while a batch is under way wait for it and then go
 * together. Used for group commit (a durable commit costs the same for one
 * row or a hundred) and for batched calls between services (one round trip
 * for many requests). Nothing resolves before its batch has completed; with
 * no load an item starts on the next turn of the event loop.
 */
export class Batcher<T, R> {
  private readonly pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private active = 0;
  private scheduled = false;

  constructor(
    /** Handles a batch; returns one result per item, in order. */
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
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
    while (this.active < this.options.lanes && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.active += 1;
      void this.run(batch).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Batcher<T, R>['pending']): Promise<void> {
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
