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

  it('with weights, a batch stops before it would weigh more than maxWeight; a heavy item still goes alone', async () => {
    const batches: number[][] = [];
    const gc = new Batcher<number, number>(async (items) => (batches.push(items), items), { lanes: 1, maxBatch: 100, maxWeight: 10, weigh: (n) => n });
    await Promise.all([4, 5, 2, 30, 1].map((i) => gc.submit(i)));
    expect(batches).toEqual([[4, 5], [2], [30], [1]]);
  });

  it('pinned lanes: one key’s items complete in submission order even when another lane is faster', async () => {
    // Items are [key, n]; lane 0 is slow, lane 1 fast.
    const completed: string[] = [];
    const gc = new Batcher<[number, number], void>(
      async (items) => {
        await new Promise((r) => setTimeout(r, items[0][0] === 0 ? 30 : 1));
        for (const [k, n] of items) completed.push(`${k}:${n}`);
        return items.map(() => undefined);
      },
      { lanes: 2, maxBatch: 2, laneOf: ([k]) => k },
    );
    const all: Array<Promise<void>> = [];
    for (let n = 1; n <= 5; n++) for (const k of [0, 1]) all.push(gc.submit([k, n]));
    await Promise.all(all);
    const of = (k: number) => completed.filter((c) => c.startsWith(`${k}:`));
    expect(of(0)).toEqual(['0:1', '0:2', '0:3', '0:4', '0:5']);
    expect(of(1)).toEqual(['1:1', '1:2', '1:3', '1:4', '1:5']);
    // The fast lane did not wait for the slow one.
    expect(completed.indexOf('1:5')).toBeLessThan(completed.indexOf('0:1'));
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
