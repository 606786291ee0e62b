import { Batcher } from './batcher';

describe('Batcher', () => {
  it('writes alone when idle, and together what arrives during a commit', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const firstDone = new Promise<void>((r) => (release = r));
    const gc = new Batcher<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await firstDone;
        return items.map((i) => i * 10);
      },
      { lanes: 1, maxBatch: 3 },
    );
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r)); // the first commit is under way
    const rest = [2, 3, 4, 5].map((i) => gc.submit(i));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('what is submitted in the same turn of the event loop goes in one commit', async () => {
    const batches: number[][] = [];
    const gc = new Batcher<number, number>(async (items) => (batches.push(items), items), { lanes: 1, maxBatch: 100 });
    await Promise.all([1, 2, 3].map((i) => gc.submit(i)));
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('a failing item fails alone; its neighbours are written', async () => {
    const gc = new Batcher<number, number>(
      async (items) => {
        if (items.includes(13)) throw new Error('unlucky');
        return items;
      },
      { lanes: 1, maxBatch: 10, retryAloneOnFailure: true },
    );
    const results = await Promise.allSettled([12, 13, 14].map((i) => gc.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('without retryAloneOnFailure a failed batch fails every item in it', async () => {
    const gc = new Batcher<number, number>(async () => Promise.reject(new Error('down')), { lanes: 1, maxBatch: 10 });
    const results = await Promise.allSettled([1, 2].map((i) => gc.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('runs up to `lanes` batches at once', async () => {
    let running = 0;
    let most = 0;
    const gc = new Batcher<number, number>(
      async (items) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running -= 1;
        return items;
      },
      { lanes: 2, maxBatch: 1 },
    );
    await Promise.all([1, 2, 3, 4].map((i) => gc.submit(i)));
    expect(most).toBe(2);
  });
});
