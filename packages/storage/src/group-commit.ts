/**
 * Group commit: writes submitted while a commit is under way wait for it and
 * then go to the database together, in one transaction. A durable commit
 * (an fsync) costs the same for one row or a hundred, so under load this
 * multiplies throughput without acknowledging anything before its commit;
 * with no load a write starts on the next turn of the event loop.
 */
export class GroupCommit<T, R> {
  private readonly pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private active = 0;
  private scheduled = false;

  constructor(
    /** Writes the items in one transaction; returns one result per item, in order. */
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly options: {
      /** Batches committed at the same time (1 for SQLite's single writer). */
      lanes: number;
      maxBatch: number;
      /** Told the size of every batch (metrics). */
      onBatch?: (size: number) => void;
    },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      // Start on the next turn of the event loop, not now: requests read in
      // the same I/O phase then share the commit. This matters with a
      // synchronous driver (SQLite), whose commit would otherwise finish
      // before the next request is even read.
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

  private async run(batch: GroupCommit<T, R>['pending']): Promise<void> {
    this.options.onBatch?.(batch.length);
    try {
      const results = await this.commit(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) return batch[0].reject(err);
      // One bad write must not fail its neighbours: retry each on its own.
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
