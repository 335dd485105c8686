import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { SAMPLE_VARIANTS, sampleVariant } from '../../src/backend/webgpu/launchers/sample.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { philox4x32 } from '../../src/ops/sample/philox.js';
import { weightOf } from '../../src/ops/sample/weights.js';
import { sampleInputs } from '../../src/ops/sample/cases.js';
import type { HostTensor } from '../../src/ops/types.js';

// The sampler's randomness and arithmetic: Philox against the published test vectors, the
// integer weights against e^−d, every backend against the reference draw for draw, and the
// draws against the filtered distribution (chi-square).

const cpu = new CpuBackend();
const gpus: KernelBackend[] = [];
beforeAll(async () => {
  gpus.push(await WebGpuBackend.create());
  gpus.push(await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {}));
});
afterAll(() => gpus.forEach((b) => b.dispose()));

async function draw(b: KernelBackend, host: Record<string, HostTensor>, topLogprobs = 0): Promise<Record<string, number[]>> {
  const ins = Object.fromEntries(Object.entries(host).map(([k, h]) => [k, b.tensor(h.data, h.shape, h.dtype)]));
  const out = b.sample(ins as never, { topLogprobs });
  const res: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(out)) if (t) res[k] = Array.from(await b.read(t));
  [...Object.values(ins), ...Object.values(out)].forEach((t) => t?.dispose());
  return res;
}

describe('Philox-4x32-10', () => {
  // Random123's known-answer vectors (kat_vectors: philox4x32 10 rounds).
  it.each([
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ])('ctr %j key %j', (ctr, key, want) => {
    expect(philox4x32(ctr, key)).toEqual(want);
  });
});

describe('integer weights W(d) ≈ 2^31·e^−d', () => {
  it('are exact at 0, monotone, within 1e-7 relative (plus one unit) and 0 past the cutoff', () => {
    expect(weightOf(0)).toBe(2 ** 31);
    let prev = 2 ** 31;
    let rises = 0;
    let worst = 0;
    for (let i = 1; i < 400000; i++) {
      const d = Math.fround(i * 6e-5);
      const w = weightOf(d);
      if (w > prev) rises++;
      prev = w;
      const want = 2 ** 31 * Math.exp(-d);
      worst = Math.max(worst, Math.abs(w - want) / (1e-7 * want + 1));
    }
    expect(rises).toBe(0);
    expect(worst).toBeLessThanOrEqual(1);
    expect(weightOf(Math.fround(21.6))).toBe(0);
    expect(weightOf(Infinity)).toBe(0);
  });
});

describe('every backend draws the reference token, row for row', () => {
  // 64 rows mixing every option (greedy rows, k = 1, tiny p, penalties, bans, ties), three seeds.
  it.each([1, 2, 3])('seed %i', async (seed) => {
    for (const ties of [false, true]) {
      const host = sampleInputs({ b: 64, v: 777, temperature: true, topK: true, topP: true, minP: true, penalties: true, bias: true, offsets: true, ties }, 'f16', seed);
      const want = await draw(cpu, host, 4);
      for (const g of gpus) {
        const got = await draw(g, host, 4);
        expect(got.tokens, `${g.name} tokens`).toEqual(want.tokens);
        expect(got.topIds, `${g.name} topIds`).toEqual(want.topIds);
      }
    }
  });
});

describe('rows longer than one sample_chunk workgroup (4096 tokens) draw the reference token', () => {
  // WebGPU splits a row into 4096-token chunks: top-k ≤ 256 rows draw from the chunks' merged
  // candidates, other sampled rows over the stored keys. k around that cap, ties across chunk
  // boundaries (logits in steps of 1/2), top-p or min-p alone over the whole row, top-20.
  const v = 2 * 4096 + 2051;
  const ks = [1, 2, 50, 255, 256, 257, 1000, v - 1, v, 0, -1, 20];
  // Every PMETAL_SAMPLE_VARIANT (the launcher reads it at each launch) draws the same tokens.
  it.each([false, true].flatMap((ties) => SAMPLE_VARIANTS.map((variant) => [ties, variant] as const)))('ties %s, variant %s', async (ties, variant) => {
    const b = 2 * ks.length;
    const host = sampleInputs({ b, v, temperature: true, topP: true, minP: true, offsets: true, ties, range: 4 }, 'bf16', 11);
    host.topK = { dtype: 'i32', shape: [b], data: Int32Array.from({ length: b }, (_, r) => ks[r % ks.length]) };
    // Half the rows with the filters in turn: top-p alone, min-p alone, both, neither.
    const f32 = (f: (r: number) => number): HostTensor => ({ dtype: 'f32', shape: [b], data: Float32Array.from({ length: b }, (_, r) => f(r)) });
    host.topP = f32((r) => [0.9, 1, 0.3, 1][r % 4]);
    host.minP = f32((r) => [0, 0.05, 0.01, 0][(r >> 2) % 4]);
    host.temperature = f32((r) => (r === 5 ? 0 : [0.7, 1.3][r % 2]));
    const want = await draw(cpu, host, 20);
    process.env.PMETAL_SAMPLE_VARIANT = variant;
    let got: Record<string, number[]>;
    try {
      got = await draw(gpus[0], host, 20);
    } finally {
      delete process.env.PMETAL_SAMPLE_VARIANT;
    }
    expect(got.tokens).toEqual(want.tokens);
    expect(got.topIds).toEqual(want.topIds);
  });
});

describe('rows without top-k (temperature alone, top-p, min-p) draw the reference token on every webgpu tier', () => {
  // WebGPU draws these `open` rows from sample_mass's per-chunk weight bins: the boundary of
  // top-p / min-p falls in one bin, whose tokens alone are sorted. Rows mix every filter with
  // fast top-k rows and greedy rows; ties (logits in steps of 1/2) put equal keys across
  // chunk boundaries and inside the boundary bin; a flat row (one logit value) has more tokens
  // in its boundary bin than sample_select gathers, so it takes the full-vocabulary path.
  const f32 = (b: number, f: (r: number) => number): HostTensor => ({ dtype: 'f32', shape: [b], data: Float32Array.from({ length: b }, (_, r) => f(r)) });
  const i32 = (b: number, f: (r: number) => number): HostTensor => ({ dtype: 'i32', shape: [b], data: Int32Array.from({ length: b }, (_, r) => f(r)) });
  // Per row: [temperature, topK, topP, minP].
  const ROWS: [number, number, number, number][] = [
    [0.7, 0, 1, 0], // temperature alone
    [1.3, -1, 0.9, 0], // top-p alone
    [0.7, 0, 0.5, 0],
    [1, 0, 0.01, 0],
    [0.7, 0, 0, 0], // top-p 0: the top token
    [1, 0, 0.999, 0],
    [0.7, 0, 1, 0.05], // min-p alone
    [1.3, 0, 1, 0.2],
    [1, 0, 1, 1], // min-p 1: the top tokens
    [0.7, 0, 1, 1e-9], // min-p below 2^-24: no filter
    [0.7, 0, 0.9, 0.05], // both
    [1, 0, 0.3, 0.001],
    [0.7, 50, 0.9, 0], // a fast top-k row
    [0, 0, 0.9, 0], // greedy
    [0.7, 1_000_000, 0.8, 0], // k ≥ V: no top-k
    [2.5, 0, 0.95, 0.01],
  ];
  const cases: [string, number, boolean, number][] = [
    ['V = 9001 (3 chunks)', 9001, false, 4],
    ['V = 9001, ties', 9001, true, 4],
    ['V = 4096 · 4 + 8, narrow logits', 4 * 4096 + 8, false, 1],
  ];
  for (const tier of ['portable', 'subgroups']) {
    it.each(cases)(`%s, ${tier}`, async (_l, v, ties, range) => {
      const b = ROWS.length + 1;
      const host = sampleInputs({ b, v, offsets: true, ties, range }, 'f32', v + (ties ? 1 : 0));
      host.temperature = f32(b, (r) => (r < ROWS.length ? ROWS[r][0] : 0.7));
      host.topK = i32(b, (r) => (r < ROWS.length ? ROWS[r][1] : 0));
      host.topP = f32(b, (r) => (r < ROWS.length ? ROWS[r][2] : 0.9));
      host.minP = f32(b, (r) => (r < ROWS.length ? ROWS[r][3] : 0));
      // The last row is flat: every token ties (top-p's boundary bin holds all V).
      (host.logits.data as Float32Array).fill(0.25, ROWS.length * v, b * v);
      const want = await draw(cpu, host, 3);
      gpus[0].setTier('sample', tier);
      try {
        const got = await draw(gpus[0], host, 3);
        expect(got.tokens).toEqual(want.tokens);
        expect(got.topIds).toEqual(want.topIds);
      } finally {
        gpus[0].setTier('sample', undefined);
      }
      // The first case of a tier compiles its pipelines: minutes on lavapipe without its shader cache.
    }, 600_000);
  }
  it('V = 262144 (64 chunks), temperature, top-p and min-p rows', async () => {
    const v = 262144;
    const b = 4;
    const host = sampleInputs({ b, v, offsets: true, range: 6 }, 'bf16', 5);
    host.temperature = f32(b, (r) => [0.7, 1, 0.7, 1.3][r]);
    host.topP = f32(b, (r) => [1, 0.9, 1, 0.5][r]);
    host.minP = f32(b, (r) => [0, 0, 0.05, 0.01][r]);
    const want = await draw(cpu, host);
    expect((await draw(gpus[0], host)).tokens).toEqual(want.tokens);
  }, 600_000);
});

/** The top-k → top-p → min-p filtered distribution in float64 (Hugging Face's order and rules). */
function filtered(logits: number[], t: number, k: number, p: number, minP: number): Map<number, number> {
  const z = logits.map((x) => x / t);
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const order = e.map((_, i) => i).sort((a, b) => e[b] - e[a] || a - b);
  let keep = order.slice(0, k);
  const zk = keep.reduce((s, i) => s + e[i], 0);
  let before = 0;
  keep = keep.filter((i) => {
    const ok = before < p * zk;
    before += e[i];
    return ok;
  });
  keep = keep.filter((i) => e[i] >= minP * e[order[0]]);
  const tot = keep.reduce((s, i) => s + e[i], 0);
  return new Map(keep.map((i) => [i, e[i] / tot]));
}

describe('draws follow the filtered distribution (chi-square)', () => {
  it('65536 draws at T 0.8, top-k 25, top-p 0.9, min-p 0.01 over 40 tokens', async () => {
    const v = 40;
    const logits = Array.from({ length: v }, (_, i) => Math.fround(Math.sin(i * 12.9898) * 4));
    const want = filtered(logits, Math.fround(0.8), 25, Math.fround(0.9), Math.fround(0.01));
    const rows = 4096;
    const counts = new Map<number, number>();
    let n = 0;
    for (let call = 0; call < 16; call++) {
      const host: Record<string, HostTensor> = {
        logits: { dtype: 'f32', shape: [rows, v], data: Float32Array.from({ length: rows * v }, (_, i) => logits[i % v]) },
        seeds: { dtype: 'u32', shape: [rows, 2], data: Uint32Array.from({ length: 2 * rows }, (_, i) => (i % 2 ? 0x5eed : 1000 + call)) },
        offsets: { dtype: 'u32', shape: [rows], data: Uint32Array.from({ length: rows }, (_, i) => i) },
        temperature: { dtype: 'f32', shape: [rows], data: new Float32Array(rows).fill(0.8) },
        topK: { dtype: 'i32', shape: [rows], data: new Int32Array(rows).fill(25) },
        topP: { dtype: 'f32', shape: [rows], data: new Float32Array(rows).fill(0.9) },
        minP: { dtype: 'f32', shape: [rows], data: new Float32Array(rows).fill(0.01) },
      };
      const { tokens } = await draw(cpu, host);
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
      n += tokens.length;
      if (call === 0) {
        // The GPUs draw the same 4096 tokens.
        for (const g of gpus) expect((await draw(g, host)).tokens, g.name).toEqual(tokens);
      }
    }
    // Nothing outside the kept set; then Pearson's statistic against χ²(df) at p = 0.001
    // (Wilson–Hilferty), df = kept − 1.
    for (const t of counts.keys()) expect(want.has(t), `token ${t} is filtered out`).toBe(true);
    let chi = 0;
    for (const [t, q] of want) chi += ((counts.get(t) ?? 0) - n * q) ** 2 / (n * q);
    const df = want.size - 1;
    const crit = df * (1 - 2 / (9 * df) + 3.09 * Math.sqrt(2 / (9 * df))) ** 3;
    expect(want.size).toBeGreaterThan(5);
    expect(chi, `χ² ${chi.toFixed(1)} (df ${df}, critical ${crit.toFixed(1)})`).toBeLessThan(crit);
  });
});

describe('PMETAL_SAMPLE_VARIANT', () => {
  it('defaults to ranked and refuses an unknown value, naming the valid ones', () => {
    expect(sampleVariant(undefined)).toBe('ranked');
    expect(sampleVariant('plain')).toBe('plain');
    expect(sampleVariant('wide')).toBe('wide');
    expect(sampleVariant('prefilter')).toBe('prefilter');
    expect(() => sampleVariant('fast')).toThrow(OptionsError);
    expect(() => sampleVariant('fast')).toThrow(/^\[webgpu\] PMETAL_SAMPLE_VARIANT: expected one of ranked, plain, bound, prefilter, wide, got 'fast'$/);
  });
});

describe('sample input is validated before any work', () => {
  const f32 = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const seeds = (b: number) => cpu.tensor(new Uint32Array(2 * b), [b, 2], 'u32');
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['logits of rank 3', () => cpu.sample({ logits: f32([1, 2, 3]), seeds: seeds(1) }), ShapeError, /^\[sample\] logits: expected \[B, V\], got f32\[1,2,3\]$/],
    ['seeds as i32', () => cpu.sample({ logits: f32([2, 5]), seeds: cpu.tensor(new Int32Array(4), [2, 2], 'i32') }), DTypeError, /^\[sample\] seeds: expected u32\[2,2\], got i32\[2,2\]$/],
    ['one seed per row', () => cpu.sample({ logits: f32([2, 5]), seeds: cpu.tensor(new Uint32Array(2), [2], 'u32') }), ShapeError, /^\[sample\] seeds: expected u32\[2,2\], got u32\[2\]$/],
    ['topK as f32', () => cpu.sample({ logits: f32([2, 5]), seeds: seeds(2), topK: f32([2]) }), DTypeError, /^\[sample\] topK: expected i32\[2\], got f32\[2\]$/],
    ['penalties without counts', () => cpu.sample({ logits: f32([2, 5]), seeds: seeds(2), repetitionPenalty: f32([2]) }), ShapeError, /^\[sample\] counts: required with repetitionPenalty/],
    ['counts of the wrong shape', () => cpu.sample({ logits: f32([2, 5]), seeds: seeds(2), counts: cpu.tensor(new Int32Array(5), [5], 'i32') }), ShapeError, /^\[sample\] counts: expected i32\[2,5\], got i32\[5\]$/],
    ['more top log-probs than tokens', () => cpu.sample({ logits: f32([2, 5]), seeds: seeds(2) }, { topLogprobs: 6 }), ShapeError, /^\[sample\] logits: topLogprobs=6 needs at least that many tokens/],
    ['too many top log-probs', () => cpu.sample({ logits: f32([2, 50]), seeds: seeds(2) }, { topLogprobs: 21 }), OptionsError, /^\[sample\] topLogprobs: /],
  ];
  it.each(cases)('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});
