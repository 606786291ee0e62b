import { BitSet, LatencyHistogram, TimeSeries, U32Column } from './stats';

test('histogram: exact count, min, max, mean; percentiles within 1 %', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 10_000; i++) h.record(i / 10); // 0.1 .. 1000 ms
  const s = h.summary();
  expect(s.count).toBe(10_000);
  expect(s.min).toBe(0.1);
  expect(s.max).toBe(1000);
  expect(s.mean).toBeCloseTo(500.05, 2);
  for (const [q, v] of [[s.p50, 500], [s.p95, 950], [s.p99, 990], [s.p999, 999]] as const) {
    expect(Math.abs(q - v) / v).toBeLessThan(0.011);
  }
});

test('histogram: empty, single value, merge, bins', () => {
  expect(new LatencyHistogram().summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 });
  const a = new LatencyHistogram();
  a.record(3);
  expect(a.summary().p50).toBe(3);
  expect(a.summary().p99).toBe(3);
  const b = new LatencyHistogram();
  b.record(30);
  b.record(300);
  a.merge(b);
  expect(a.count).toBe(3);
  expect(a.max).toBe(300);
  const bins = a.bins(10);
  expect(bins.reduce((n, x) => n + x.count, 0)).toBe(3);
  expect(bins.length).toBeLessThanOrEqual(11);
  for (let i = 1; i < bins.length; i++) expect(bins[i].fromMs).toBeGreaterThanOrEqual(bins[i - 1].fromMs);
});

test('time series: per-second rates, merged buckets, partial last bucket', () => {
  const t = new TimeSeries(['a', 'b'], 1000, 10);
  for (let ms = 0; ms < 2000; ms += 1) t.add('a', 1000 + ms); // 1000 per second for 2 s
  t.add('b', 1500, 5);
  const r = t.rates(20);
  expect(r.seconds.length).toBeLessThanOrEqual(20);
  expect(r.bucketMs).toBe(100);
  expect(r.series.a.every((v) => Math.abs(v - 1000) < 1e-6)).toBe(true);
  expect(r.series.b.reduce((x, y) => x + y, 0) * (r.bucketMs / 1000)).toBeCloseTo(5);
  expect(r.series.b.length).toBe(r.series.a.length);
  expect(() => t.add('c', 0)).toThrow();
});

test('bit set and column grow on demand', () => {
  const s = new BitSet();
  expect(s.testAndSet(100_000)).toBe(false);
  expect(s.testAndSet(100_000)).toBe(true);
  expect(s.has(99_999)).toBe(false);
  const c = new U32Column();
  c.set(70_000, 42);
  expect(c.get(70_000)).toBe(42);
  expect(c.get(1_000_000)).toBe(0);
});
