// Counting for benchmark runs: a bounded-memory latency histogram and
// per-interval counters (throughput over time).

/** Summary of a latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** One bar of a distribution: values in [fromMs, toMs). */
export interface HistogramBin {
  fromMs: number;
  toMs: number;
  count: number;
}

const MIN_MS = 0.001; // 1 µs: anything smaller lands in the first bucket
const RATIO = 1.01; // each bucket is 1 % wider than the previous: percentiles are within 1 %
const LOG_RATIO = Math.log(RATIO);
const BUCKETS = Math.ceil(Math.log(1e7 / MIN_MS) / LOG_RATIO) + 1; // up to ~2.8 hours

/**
 * Log-bucketed histogram of latencies in milliseconds: fixed memory (~8 KB)
 * whatever the number of samples; count, min, max and mean are exact,
 * percentiles within 1 %.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const v = ms < 0 ? 0 : ms;
    this.counts[bucketOf(v)] += 1;
    this.count += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The value under which a share q (0..1) of the samples lie; 0 when empty. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return clamp(bucketUpper(i), this.min, this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: this.count,
      min: round3(this.min),
      mean: round3(this.sum / this.count),
      p50: round3(this.percentile(0.5)),
      p90: round3(this.percentile(0.9)),
      p95: round3(this.percentile(0.95)),
      p99: round3(this.percentile(0.99)),
      p999: round3(this.percentile(0.999)),
      max: round3(this.max),
    };
  }

  /** The distribution folded into about `target` bars of equal width on a log scale (empty ends trimmed). */
  bins(target = 40): HistogramBin[] {
    if (this.count === 0) return [];
    const first = bucketOf(this.min);
    const last = bucketOf(this.max);
    const width = Math.max(1, Math.ceil((last - first + 1) / target));
    const out: HistogramBin[] = [];
    for (let start = first; start <= last; start += width) {
      let count = 0;
      for (let i = start; i < Math.min(start + width, last + 1); i++) count += this.counts[i];
      out.push({ fromMs: round3(bucketLower(start)), toMs: round3(bucketUpper(Math.min(start + width, last + 1) - 1)), count });
    }
    return out;
  }
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_RATIO));
}
function bucketUpper(i: number): number {
  return MIN_MS * Math.pow(RATIO, i);
}
function bucketLower(i: number): number {
  return i === 0 ? 0 : MIN_MS * Math.pow(RATIO, i - 1);
}
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
export const round3 = (v: number) => Math.round(v * 1000) / 1000;
export const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Named event counters in fixed-width time buckets from a start time: what
 * "throughput over time" is drawn from. Times are performance.now() ms.
 */
export class TimeSeries {
  private readonly data = new Map<string, number[]>();
  private lastBucket = -1;

  constructor(
    readonly names: readonly string[],
    readonly startMs: number,
    readonly bucketMs = 1000,
  ) {
    for (const n of names) this.data.set(n, []);
  }

  add(name: string, atMs: number, n = 1): void {
    const arr = this.data.get(name);
    if (!arr) throw new Error(`unknown series ${name}`);
    const b = Math.max(0, Math.floor((atMs - this.startMs) / this.bucketMs));
    if (b > 10_000_000) return; // a clock far off: never allocate for it
    while (arr.length <= b) arr.push(0);
    arr[b] += n;
    if (b > this.lastBucket) this.lastBucket = b;
  }

  /**
   * Per-second rates of each series, every series padded to the same length.
   * Buckets are merged so there are at most `maxPoints` (a long run is drawn
   * in wider buckets); `seconds` is the middle of each bucket.
   */
  rates(maxPoints = 60): { bucketMs: number; seconds: number[]; series: Record<string, number[]> } {
    const base = this.lastBucket + 1;
    const k = Math.max(1, Math.ceil(base / maxPoints));
    const len = Math.ceil(base / k);
    const width = this.bucketMs * k;
    const factor = 1000 / width;
    const series: Record<string, number[]> = {};
    for (const [name, arr] of this.data) {
      const out = new Array<number>(len).fill(0);
      for (let i = 0; i < arr.length; i++) out[Math.floor(i / k)] += arr[i];
      // The last bucket may be partial: rate over the part that elapsed.
      const lastWidth = (base - (len - 1) * k) * this.bucketMs;
      series[name] = out.map((v, i) => round1(i === len - 1 ? (v * 1000) / lastWidth : v * factor));
    }
    const seconds = Array.from({ length: len }, (_, i) => round3(((i + 0.5) * width) / 1000));
    return { bucketMs: width, seconds, series };
  }
}

/** A growable array of unsigned 32-bit values (0 = unset), indexed from 0. */
export class U32Column {
  private data = new Uint32Array(16);

  get(i: number): number {
    return i < this.data.length ? this.data[i] : 0;
  }

  set(i: number, v: number): void {
    if (i >= this.data.length) {
      let size = this.data.length;
      while (size <= i) size *= 2;
      const next = new Uint32Array(size);
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
}

/** A growable bit set. */
export class BitSet {
  private data = new Uint8Array(16);

  has(i: number): boolean {
    const byte = i >> 3;
    return byte < this.data.length && (this.data[byte] & (1 << (i & 7))) !== 0;
  }

  /** Sets bit i; returns whether it was already set. */
  testAndSet(i: number): boolean {
    const byte = i >> 3;
    if (byte >= this.data.length) {
      let size = this.data.length;
      while (size <= byte) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.data);
      this.data = next;
    }
    const mask = 1 << (i & 7);
    const was = (this.data[byte] & mask) !== 0;
    this.data[byte] |= mask;
    return was;
  }
}
