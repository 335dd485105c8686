// The numerics of the bf16 gemm on f16 matrix units (src/ops/gemm/bf16_mma.ts), emulated
// exactly on the CPU: the window entries and the bf16 → f16 conversion they license, the
// scale back, the window depth, and the whole accumulation on adversarial inputs — with
// the matrix units modelled as the f16 tier's bound assumes (every add chopped to f32, unit
// 2u) — against the bound the method claims (γ_D·S, D = 2·KF + ⌈K/KF⌉ − 1) and bf16's own
// (γ_K·S). The kernel itself runs the same code on lavapipe in gemm_bf16_lavapipe.test.ts.
import { describe, expect, it } from 'vitest';
import {
  bf16AccDepth,
  bf16Value,
  bf16WindowDepth,
  exactF16,
  f32,
  gamma32,
  INEXACT,
  pow2Scale,
  scaleBack,
  windowEntry,
  windowMultiplier,
} from '../../src/ops/gemm/bf16_mma.js';
import { f16ToNumber } from '../../src/dtype.js';
import { rng } from '../../src/ops/random.js';

const bits = (neg: boolean, field: number, frac: number) => (neg ? 0x8000 : 0) | (field << 7) | (frac & 0x7f);
const field = (h: number) => (h & 0x7fff) >> 7;

/** x rounded to f32 precision toward zero (a truncating matrix-unit add). */
function chop(x: number): number {
  const r = f32(x);
  if (Math.abs(r) <= Math.abs(x)) return r;
  const f = new Float32Array([r]);
  const u = new Uint32Array(f.buffer);
  u[0] -= 1; // one ulp towards zero (same sign, smaller magnitude)
  return f[0];
}

describe('window entries and the bf16 → f16 conversion they license', () => {
  it('every bf16 value in an exact window becomes an f16 normal (or ±0) exactly after 2^(142−E); a flagged window always holds a value that would not', () => {
    // Window maxima E: every field at the edges (0–20, 40–46, 240–255) and every 7th between;
    // each against all 65536 bf16 values h (the window {top of field E, h}).
    const fields = [...Array(256).keys()].filter((E) => E <= 20 || (E >= 40 && E <= 46) || E >= 240 || E % 7 === 0);
    let exact = 0;
    let flagged = 0;
    const bad: string[] = [];
    const win = [0, 0];
    for (const E of fields) {
      win[0] = E === 0 ? 0 : bits(false, E, 0x55);
      for (let h = 0; h < 0x10000; h++) {
        win[1] = h;
        const entry = windowEntry(win);
        const nonzero = (h & 0x7fff) !== 0;
        const emax = Math.max(E, nonzero ? field(h) : 0);
        if ((entry & 0xff) !== emax) bad.push(`E=${E} h=${h.toString(16)}: entry field ${entry & 0xff}, expected ${emax}`);
        const m = windowMultiplier(entry);
        const fits = (v: number) => {
          if (v === 0) return true;
          const hf = exactF16(v);
          // An f16 normal exactly (never a subnormal: matrix units need not support them).
          return hf !== undefined && (hf & 0x7c00) !== 0 && (hf & 0x7c00) !== 0x7c00 && f16ToNumber(hf) === v && f32(v) === v;
        };
        if (entry & INEXACT) {
          flagged++;
          // Never spurious: some value is non-finite or a subnormal, E < 16 (2^(142−E) is no
          // f32 normal), or a value misses the f16 normals after scaling by 2^(142−E).
          const mm = 2 ** (142 - emax);
          const ok = emax >= 16 && emax < 255 && (field(h) !== 0 || !nonzero) && fits(bf16Value(h) * mm) && fits(bf16Value(win[0]) * mm);
          if (ok) bad.push(`E=${E} h=${h.toString(16)}: flagged, but both values fit`);
          continue;
        }
        exact++;
        if (!fits(bf16Value(h) * m) || !fits(bf16Value(win[0]) * m)) bad.push(`E=${E} h=${h.toString(16)}: exact window, inexact conversion`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(exact).toBeGreaterThan(500_000);
    expect(flagged).toBeGreaterThan(500_000);
  }, 300_000);

  it('edge windows: exactly 30 binades pass, 31 do not; E = 16 passes, 15 does not; zeros and ±0 are exact; subnormals, ±inf and NaN flag', () => {
    expect(windowEntry([bits(false, 200, 0), bits(true, 171, 0x7f)]) & INEXACT).toBe(0);
    expect(windowEntry([bits(false, 200, 0), bits(true, 170, 0x7f)]) & INEXACT).toBe(INEXACT);
    expect(windowEntry([bits(false, 16, 0)]) & INEXACT).toBe(0);
    expect(windowEntry([bits(false, 15, 0x7f)]) & INEXACT).toBe(INEXACT);
    expect(windowEntry([0, 0x8000, 0])).toBe(0);
    expect(windowEntry([bits(false, 127, 0), 0x0001]) & INEXACT).toBe(INEXACT);
    expect(windowEntry([bits(false, 127, 0), 0x7f80]) & INEXACT).toBe(INEXACT);
    expect(windowEntry([0xff80]) & INEXACT).toBe(INEXACT);
    expect(windowEntry([bits(false, 127, 0), 0x7fc1]) & INEXACT).toBe(INEXACT);
    // The largest finite bf16 scales to 65280 ≤ 65504.
    expect(bf16Value(0x7f7f) * windowMultiplier(windowEntry([0x7f7f]))).toBe(65280);
  });
});

describe('scale back and window depth', () => {
  it('pow2Scale is x·2^e exactly whenever the result is an f32 normal, for every e the kernel forms', () => {
    const r = rng(3);
    for (let i = 0; i < 20000; i++) {
      // Window sums: |σ| in [2^-28, 2^41] (products of f16 normals, ≤ 512 of them).
      const x = f32((r() < 0.5 ? -1 : 1) * 2 ** (-28 + 69 * r()));
      const eA = r() < 0.1 ? 0 : 16 + Math.floor(r() * 239);
      const eB = r() < 0.1 ? 0 : 16 + Math.floor(r() * 239);
      const e = scaleBack(eA, eB);
      const want = x * 2 ** e;
      const got = pow2Scale(x, e);
      if (Math.abs(want) >= 2 ** -126 && Math.abs(want) < 2 ** 128) expect(got).toBe(want);
      else if (Math.abs(want) >= 2 ** 128) expect(Math.abs(got)).toBe(Infinity);
      else expect(Math.abs(got)).toBeLessThan(2 ** -126); // underflow, as the f32 path's products
    }
  });

  it('the window depth keeps D = 2·KF + ⌈K/KF⌉ − 1 ≤ K, the deepest such window up to the cap; none below K = 66', () => {
    for (const cap of [256, 512]) {
      for (let k = 1; k <= 20000; k++) {
        const kf = bf16WindowDepth(k, cap);
        if (k < 66) {
          expect(kf, `k=${k}`).toBeUndefined();
          continue;
        }
        expect(kf, `k=${k}`).toBeDefined();
        expect(bf16AccDepth(k, kf!)).toBeLessThanOrEqual(k);
        expect(gamma32(bf16AccDepth(k, kf!))).toBeLessThanOrEqual(gamma32(k));
        if (kf! < cap) expect(bf16AccDepth(k, kf! * 2)).toBeGreaterThan(k);
      }
    }
    // The issue's shapes: K = 4096, windows of 512: D = 1031 (of bf16's 4096).
    expect(bf16AccDepth(4096, bf16WindowDepth(4096, 512)!)).toBe(1031);
    expect(bf16AccDepth(4096, bf16WindowDepth(4096, 256)!)).toBe(527);
  });
});

/**
 * The method on a [M,K]·[K,N] product (bf16 bits), as the kernel computes the f32 sum
 * before its epilogue: entries per row/column window, a tile (128×128) takes the SIMT path
 * for a window if any of its rows or columns is inexact there; matrix-unit windows sum
 * their exact f16 products in 16-deep steps from zero with every add chopped (unit 2u),
 * then scale back and add rounding to nearest. Also returns S = Σ|a·b| per output, and
 * how many (tile, window) pairs took each path.
 */
function emulate(a: Uint16Array, b: Uint16Array, m: number, n: number, k: number, kf: number) {
  const nwin = Math.ceil(k / kf);
  const ea: number[][] = [];
  const eb: number[][] = [];
  for (let i = 0; i < m; i++) ea.push(Array.from({ length: nwin }, (_, t) => windowEntry(a.subarray(i * k + t * kf, i * k + Math.min(k, (t + 1) * kf)))));
  for (let j = 0; j < n; j++) {
    const col = Uint16Array.from({ length: k }, (_, kk) => b[kk * n + j]);
    eb.push(Array.from({ length: nwin }, (_, t) => windowEntry(col.subarray(t * kf, Math.min(k, (t + 1) * kf)))));
  }
  const av = Array.from(a, bf16Value);
  const bv = Array.from(b, bf16Value);
  const y = new Float64Array(m * n);
  const S = new Float64Array(m * n);
  let mma = 0;
  let simt = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const ti = Math.floor(i / 128) * 128;
      const tj = Math.floor(j / 128) * 128;
      let acc = 0;
      for (let t = 0; t < nwin; t++) {
        const k0 = t * kf;
        const k1 = Math.min(k, k0 + kf);
        let bad = false;
        for (let r = ti; r < Math.min(m, ti + 128) && !bad; r++) bad = (ea[r][t] & INEXACT) !== 0;
        for (let c = tj; c < Math.min(n, tj + 128) && !bad; c++) bad = (eb[c][t] & INEXACT) !== 0;
        if (i === ti && j === tj) bad ? simt++ : mma++;
        let w = 0;
        if (bad) {
          for (let kk = k0; kk < k1; kk++) w = f32(av[i * k + kk] * bv[kk * n + j] + w);
        } else {
          const ma = windowMultiplier(ea[i][t]);
          const mb = windowMultiplier(eb[j][t]);
          for (let kk = k0; kk < k1; kk++) {
            const x = av[i * k + kk] * ma;
            const z = bv[kk * n + j] * mb;
            // The conversion the kernel relies on is exact.
            if (exactF16(x) === undefined || exactF16(z) === undefined) throw new Error(`inexact f16 at (${i},${kk}) or (${kk},${j})`);
            const p = x * z; // exact (22 bits)
            if (f32(p) !== p) throw new Error('product not exact in f32');
            w = chop(w + p);
          }
          w = pow2Scale(w, scaleBack(ea[i][t], eb[j][t]));
        }
        acc = t === 0 ? w : f32(acc + w);
      }
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += Math.abs(av[i * k + kk] * bv[kk * n + j]);
      y[i * n + j] = acc;
      S[i * n + j] = s;
    }
  }
  return { y, S, mma, simt };
}

function exactDot(a: Uint16Array, b: Uint16Array, m: number, n: number, k: number, i: number, j: number): number {
  // Products are exact in double; the sum of ≤ 1024 of them in double is within 2^-53·K·S,
  // far inside the bounds checked (≥ 2^-24·S).
  let s = 0;
  for (let kk = 0; kk < k; kk++) s += bf16Value(a[i * k + kk]) * bf16Value(b[kk * n + j]);
  return s;
}

/**
 * Adversarial bf16 [rows, cols] matrices for a ('a': op rows are rows, K runs along cols) or b
 * ('b': K runs along rows, op columns are cols). Each op row/column has its own exponent
 * centre in 2^-50…2^50. 'edges': values at the centre, exactly 29 binades below it, between,
 * and zeros — every window exact at the edge of the 30 binades. 'mixed': even K windows
 * (of kf) hold values within 2^±4 of the centre and zeros (exact, on the matrix units); odd
 * ones add values anywhere in 2^-50…2^50, bf16 subnormals and ±0 (inexact, the SIMT path).
 */
function wild(rows: number, cols: number, seed: number, kind: 'mixed' | 'edges', kf: number, op: 'a' | 'b'): Uint16Array {
  const r = rng(seed);
  const d = new Uint16Array(rows * cols);
  const centres = Array.from({ length: op === 'a' ? rows : cols }, () => 127 + Math.floor(r() * 101) - 50);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const centre = centres[op === 'a' ? i : j];
      const t = Math.floor((op === 'a' ? j : i) / kf);
      const u = r();
      const neg = r() < 0.5;
      const frac = Math.floor(r() * 128);
      let h: number;
      if (kind === 'edges') h = u < 0.3 ? bits(neg, centre, frac) : u < 0.6 ? bits(neg, centre - 29, frac) : u < 0.65 ? 0 : bits(neg, centre - Math.floor(r() * 29), frac);
      else if (t % 2 === 0 || u >= 0.12) h = u < 0.05 ? 0 : bits(neg, centre + Math.floor(r() * 9) - 4, frac);
      else if (u < 0.04) h = neg ? 0x8000 : 0;
      else if (u < 0.07) h = 1 + Math.floor(r() * 127);
      else h = bits(neg, 127 + Math.floor(r() * 101) - 50, frac);
      d[i * cols + j] = h;
    }
  }
  return d;
}

describe('the accumulation on adversarial inputs (matrix units chopping every add)', () => {
  it.each([
    ['huge/tiny exponents mixed in rows, subnormals, zeros; K = 1024, windows of 256', 1024, 256, 'mixed'],
    ['windows at the 30-binade edge (all exact), K = 700, windows of 128', 700, 128, 'edges'],
    ['K = 66 (the shortest K the kernel takes), windows of 32', 66, 32, 'mixed'],
  ] as const)('%s: within γ_D·S ≤ γ_K·S', (_l, k, kf, kind) => {
    expect(bf16AccDepth(k, kf)).toBeLessThanOrEqual(k);
    const m = 20;
    const n = 12;
    const a = wild(m, k, 1, kind, kf, 'a');
    const b = wild(k, n, 2, kind, kf, 'b');
    const { y, S, mma, simt } = emulate(a, b, m, n, k, kf);
    const gD = gamma32(bf16AccDepth(k, kf));
    const gK = gamma32(k);
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const err = Math.abs(y[i * n + j] - exactDot(a, b, m, n, k, i, j));
        const s = S[i * n + j];
        expect(err, `(${i},${j})`).toBeLessThanOrEqual(gD * s + 2 ** -140);
        expect(gD * s).toBeLessThanOrEqual(gK * s);
        if (s > 0) worst = Math.max(worst, err / (gD * s));
      }
    }
    // Both paths ran where the inputs call for them.
    if (kind === 'edges') expect(simt).toBe(0);
    else expect(simt).toBeGreaterThan(0);
    expect(mma).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('one huge and one tiny value in a row window, the tiny one meeting the only nonzero of b: exact (the SIMT window), where a flush-to-zero would lose all of it', () => {
    const k = 128;
    const a = new Uint16Array(k);
    const b = new Uint16Array(k);
    a[0] = bits(false, 127 + 60, 0); // 2^60
    a[1] = bits(false, 127 - 60, 0x11); // ~2^-60
    b[1] = bits(false, 127, 0); // 1
    const { y, simt } = emulate(a, b, 1, 1, k, 32);
    expect(simt).toBeGreaterThan(0);
    expect(y[0]).toBe(bf16Value(a[1]));
  });

  it('±inf and NaN: their windows take the SIMT path, so outputs are NaN/±inf exactly where the f32 path gives them', () => {
    const k = 96;
    const m = 3;
    const n = 3;
    const a = wild(m, k, 7, 'mixed', 32, 'a');
    const b = wild(k, n, 8, 'mixed', 32, 'b');
    a[0 * k + 5] = 0x7f80; // +inf in row 0
    a[1 * k + 70] = 0x7fc0; // NaN in row 1
    b[10 * n + 2] = 0xff80; // −inf in column 2
    const { y } = emulate(a, b, m, n, k, 32);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        // The f32 path: fma chain over all of K.
        let w = 0;
        for (let kk = 0; kk < k; kk++) w = f32(bf16Value(a[i * k + kk]) * bf16Value(b[kk * n + j]) + w);
        const cls = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? '+inf' : v === -Infinity ? '-inf' : 'finite');
        expect(cls(y[i * n + j]), `(${i},${j})`).toBe(cls(w));
      }
    }
    expect(Number.isNaN(y[1 * n + 0])).toBe(true);
  });
});
