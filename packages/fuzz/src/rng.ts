// The fuzzer's only source of randomness: a seeded generator (pure-rand's
// xoroshiro128+), so a run is replayed byte for byte with the same --seed.
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

export class Rng {
  private readonly gen: RandomGenerator;

  constructor(readonly seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** An integer in [from, to] (both included). */
  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.gen);
  }

  /** An index into something of `length` items. */
  below(length: number): number {
    return length <= 1 ? 0 : this.int(0, length - 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.int(0, 9999) < p * 10000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** Mostly small sizes, sometimes large: where length-handling bugs live. */
  size(max: number): number {
    const r = this.int(0, 99);
    if (r < 60) return this.int(0, Math.min(16, max));
    if (r < 90) return this.int(0, Math.min(256, max));
    return this.int(0, max);
  }

  /** A value of a numeric field: edges (0, -1, limits) as often as plain values. */
  integer(bits: 8 | 16 | 32 | 53, signed: boolean): number {
    const max = bits === 53 ? Number.MAX_SAFE_INTEGER : 2 ** (signed ? bits - 1 : bits) - 1;
    const min = signed ? (bits === 53 ? Number.MIN_SAFE_INTEGER : -(2 ** (bits - 1))) : 0;
    switch (this.int(0, 7)) {
      case 0:
        return 0;
      case 1:
        return max;
      case 2:
        return min;
      case 3:
        return signed ? -1 : 1;
      case 4:
        return this.int(0, 100);
      default:
        // int() is limited to 32 bits: compose wider values from two draws.
        if (bits <= 32) return this.int(min, max);
        return Math.max(min, Math.min(max, this.int(-(2 ** 21), 2 ** 21 - 1) * 2 ** 32 + this.int(0, 2 ** 32 - 1)));
    }
  }

  /** A string: ASCII, UTF-8 beyond the BMP, control characters, or empty. */
  string(maxLength = 64): string {
    const n = this.size(maxLength);
    switch (this.int(0, 4)) {
      case 0:
        return '';
      case 1: {
        let s = '';
        for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0x20, 0x7e));
        return s;
      }
      case 2: {
        let s = '';
        for (let i = 0; i < n; i++) s += String.fromCodePoint(this.pick([0, 0x0a, 0x7f, 0xe9, 0x4e2d, 0xfffd, 0x1f600, this.int(1, 0xd7ff)]));
        return s;
      }
      case 3:
        return this.pick(['0', '-1', 'null', 'undefined', '../../etc/passwd', '%00', "'; DROP TABLE users; --", '{"a":1}', 'a'.repeat(n * 16)]);
      default:
        return String(this.int(0, 1_000_000));
    }
  }
}
