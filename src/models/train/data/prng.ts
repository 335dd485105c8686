/**
 * A seeded 32-bit PRNG (mulberry32) for epoch shuffling: a few lines, the same stream on every
 * platform and Node version (Math.random cannot be seeded), period 2^32 — ample for shuffling.
 * Each epoch gets its own stream from (seed, epoch), so epoch e's order is computable without
 * replaying epochs 0..e−1: a resumed run jumps straight to its epoch.
 */
export class Prng {
  private state: number;

  constructor(seed: number, stream = 0) {
    // Mix both words through murmur3's finaliser so nearby seeds/epochs give unrelated streams.
    this.state = fmix32((fmix32(seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9)) >>> 0);
  }

  /** Uniform in [0, 2^32). */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** Uniform in [0, n) for 1 ≤ n ≤ 2^32, by rejection (no modulo bias). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
