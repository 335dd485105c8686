// kv_cache_copy beyond the conformance catalogue: it composes with decode_attention (write a
// prefill and a decode step, then attend over the cache: the reference's result), it writes
// in place (the outputs are the input tensors), host copies of positions / block tables
// make a bad slot a typed error before any work, and bad device data writes nothing and
// never out of bounds (metal under AddressSanitizer, webgpu).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../conformance/compare.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { OptionsError, ShapeError } from '../../src/errors.js';
import { kvInputs, type KvProblem } from '../../src/ops/kv_cache_copy/cases.js';
import { uniform } from '../../src/ops/random.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';

const HOST = process.platform !== 'darwin';
const kv = getSpec('kv_cache_copy');
const dec = getSpec('decode_attention');
const toRef = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });
const refOf = (sp: typeof kv, h: Record<string, RefTensor>, o: Record<string, unknown> = {}) => sp.reference(h, sp.options.parse(o)) as Record<string, RefTensor>;

let cpu: CpuBackend;
let gpu: WebGpuBackend;
let metal: MetalBackend;
let asan: MetalBackend | undefined;
beforeAll(async () => {
  cpu = new CpuBackend();
  gpu = await WebGpuBackend.create();
  metal = await MetalBackend.create(HOST ? { chip: 'M5' } : {});
  if (HOST) asan = await MetalBackend.create({ chip: 'M5', asan: true });
});
afterAll(() => {
  gpu?.dispose();
  metal?.dispose();
  asan?.dispose();
});
const backends = () => ({ cpu, webgpu: gpu, metal }) as Record<string, KernelBackend>;

/**
 * A prefill of `pre` tokens at position 0, then one decode token at position `pre` (k/v of
 * dtype `src`, caches of `cache`), then decode_attention of that token over the cache with
 * lengths pre + 1: on the backend, and through the references on the host.
 */
async function prefillThenDecode(be: KernelBackend, src: FloatDType, cache: FloatDType, paged: boolean) {
  const b = 3;
  const pre = [5, 13, 1];
  const hkv = 2;
  const hq = 4;
  const d = 16;
  const base: KvProblem = { positions: [0, 0, 0], snew: 13, hkv, d, dv: 24, cache, ...(paged ? { paged: { blockSize: 4, numBlocks: 16, maxBlocks: 4 } } : { smax: 16 }) };
  // The prefill writes 13 tokens per sequence (a padded batch: positions past pre[b] are
  // overwritten by the decode step or never attended to).
  const h0 = kvInputs(base, src, 11);
  const step = kvInputs({ ...base, snew: 1, positions: pre }, src, 12);
  const q = uniform(cache, [b, 1, hq, d], 13, -2, 2);
  const lengths: HostTensor = { dtype: 'i32', shape: [b], data: Int32Array.from(pre.map((p) => p + 1)) };

  // Host: the two writes through kv_cache_copy's reference, then decode_attention's.
  const r0 = refOf(kv, { ...Object.fromEntries(Object.entries(h0).map(([k, t]) => [k, toRef(t)])) });
  const r1 = refOf(kv, { k: toRef(step.k), v: toRef(step.v), kCache: r0.kCache, vCache: r0.vCache, positions: toRef(step.positions), ...(paged ? { blockTable: toRef(h0.blockTable) } : {}) });
  const decIn = { q: toRef(q), kCache: r1.kCache, vCache: r1.vCache, lengths: toRef(lengths), ...(paged ? { blockTable: toRef(h0.blockTable) } : {}) };
  const want = refOf(dec, decIn);
  const bounds = dec.bounds(decIn, dec.options.parse({}), want) as Record<string, Float64Array>;

  const t = (x: HostTensor) => be.tensor(x.data, x.shape, x.dtype);
  const kCache = t(h0.kCache);
  const vCache = t(h0.vCache);
  const table = paged ? t(h0.blockTable) : undefined;
  const ins0 = { k: t(h0.k), v: t(h0.v), kCache, vCache, positions: t(h0.positions), blockTable: table };
  const w0 = be.kvCacheCopy(ins0);
  // In place: the outputs are the caches themselves.
  expect(w0.kCache).toBe(kCache);
  expect(w0.vCache).toBe(vCache);
  const ins1 = { k: t(step.k), v: t(step.v), kCache, vCache, positions: t(step.positions), blockTable: table };
  be.kvCacheCopy(ins1);
  const out = be.decodeAttention({ q: t(q), kCache, vCache, lengths: t(lengths), blockTable: table });
  for (const name of ['o', 'lse'] as const) {
    const got = toFloat64(out[name].dtype, await be.read(out[name]));
    const c = compare(got, want[name].data, bounds[name]);
    expect(c.firstBad, `${be.name} ${name}`).toBeUndefined();
  }
  // And the caches hold exactly the reference's values.
  expect(Array.from(toFloat64(cache, await be.read(kCache)))).toEqual(Array.from(r1.kCache.data));
  expect(Array.from(toFloat64(cache, await be.read(vCache)))).toEqual(Array.from(r1.vCache.data));
  for (const x of [...Object.values(ins0), ...Object.values(ins1), ...Object.values(out)]) x?.dispose();
}

describe.each(['cpu', 'webgpu', 'metal'])('kv_cache_copy then decode_attention on %s', (name) => {
  it.each([
    ['f32', 'f32', false],
    ['f32', 'f16', true],
    ['bf16', 'f16', false],
    ['f16', 'bf16', true],
  ] as const)('k/v %s into a %s cache (paged: %s): the references\' result', async (src, cache, paged) => {
    await prefillThenDecode(backends()[name], src, cache, paged);
  });
});

describe('kv_cache_copy rejects bad calls before any GPU work', () => {
  const t = (shape: number[], dtype: 'f32' | 'f16' = 'f32') => gpu.tensor(dtype === 'f32' ? new Float32Array(shape.reduce((a, b) => a * b, 1)) : new Uint16Array(shape.reduce((a, b) => a * b, 1)), shape, dtype);
  const i32 = (xs: number[], shape = [xs.length]) => gpu.tensor(Int32Array.from(xs), shape);
  const contiguous = () => ({ k: t([2, 3, 1, 8]), v: t([2, 3, 1, 8]), kCache: t([2, 1, 10, 8], 'f16'), vCache: t([2, 1, 10, 8], 'f16'), positions: i32([0, 7]) });
  const paged = () => ({ k: t([2, 3, 1, 8]), v: t([2, 3, 1, 8]), kCache: t([6, 4, 1, 8]), vCache: t([6, 4, 1, 8]), positions: i32([0, 5]), blockTable: i32([0, 1, -1, 2, 3, 4], [2, 3]) });
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['host position past the end', () => gpu.kvCacheCopy(contiguous(), { hostPositions: [0, 8] }), OptionsError, /^\[kv_cache_copy\] hostPositions\[1\]: expected a start position in \[0, 7\] \(capacity 10 − Snew 3\), got 8$/],
    ['negative host position', () => gpu.kvCacheCopy(contiguous(), { hostPositions: [-1, 0] }), OptionsError, /^\[kv_cache_copy\] hostPositions\[0\]: expected a start position in \[0, 7\]/],
    ['host positions of another batch', () => gpu.kvCacheCopy(contiguous(), { hostPositions: [0] }), OptionsError, /^\[kv_cache_copy\] hostPositions: expected 2 positions \(one per sequence\), got 1$/],
    ['a written block outside the cache', () => gpu.kvCacheCopy(paged(), { hostPositions: [0, 5], hostBlockTable: [[0, 1, -1], [2, 6, 4]] }), OptionsError, /^\[kv_cache_copy\] hostBlockTable\[1\]\[1\]: expected a block in \[0, 5\] \(positions 5…7 write entries 1…1\), got 6$/],
    ['a block table for a contiguous cache', () => gpu.kvCacheCopy(contiguous(), { hostPositions: [0, 0], hostBlockTable: [[0], [1]] }), OptionsError, /^\[kv_cache_copy\] hostBlockTable: only applies to a paged cache/],
    ['a host block table without positions', () => gpu.kvCacheCopy(paged(), { hostBlockTable: [[0, 1, 2], [3, 4, 5]] }), OptionsError, /^\[kv_cache_copy\] hostBlockTable: needs hostPositions too/],
    ['one tensor as both caches', () => {
      const c = contiguous();
      return gpu.kvCacheCopy({ ...c, vCache: c.kCache });
    }, ShapeError, /^\[kv_cache_copy\] kCache: expected a tensor of its own \(it is updated in place\), got the same tensor as vCache$/],
    ['more new tokens than the cache holds', () => gpu.kvCacheCopy({ ...contiguous(), k: t([2, 11, 1, 8]), v: t([2, 11, 1, 8]) }), ShapeError, /^\[kv_cache_copy\] k: expected at most 10 new tokens/],
    ['caches of two dtypes', () => gpu.kvCacheCopy({ ...contiguous(), vCache: t([2, 1, 10, 8]) }), Error, /^\[kv_cache_copy\] vCache: expected f16 \(the dtype of kCache\), got f32\[2,1,10,8\]$/],
    ['v cache of another layout', () => gpu.kvCacheCopy({ ...paged(), vCache: t([6, 2, 1, 8]) }), ShapeError, /^\[kv_cache_copy\] vCache: expected f32\[6,4,1,8\] \(the layout of kCache, head dim Dv\), got f32\[6,2,1,8\]$/],
    ['head dim not a multiple of 8', () => gpu.kvCacheCopy({ ...contiguous(), k: t([2, 3, 1, 12]) }), ShapeError, /^\[kv_cache_copy\] k: expected a head dim that is a multiple of 8/],
    ['positions of another batch', () => gpu.kvCacheCopy({ ...contiguous(), positions: i32([0]) }), ShapeError, /^\[kv_cache_copy\] positions: expected i32\[2\], got i32\[1\]$/],
  ];
  it.each(cases)('%s', (_l, fn, cls, msg) => {
    const before = gpu.rt.dispatchCount;
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(msg);
    expect(gpu.rt.dispatchCount).toBe(before);
  });
});

describe('kv_cache_copy host data', () => {
  it('entries a sequence does not write are not checked (they may be −1 or anything)', async () => {
    const p: KvProblem = { positions: [0, 5], snew: 3, hkv: 1, d: 8, paged: { blockSize: 4, numBlocks: 6, maxBlocks: 3 } };
    const h = kvInputs(p, 'f32', 2);
    const table = Array.from(h.blockTable.data as Int32Array);
    const rows = [[table[0], -7, 99], [-1, table[4], 1234]];
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(h)) ins[k] = gpu.tensor(t.data, t.shape, t.dtype);
    const out = gpu.run('kv_cache_copy', ins, { hostPositions: [0, 5], hostBlockTable: rows });
    const want = refOf(kv, Object.fromEntries(Object.entries(h).map(([k, t]) => [k, toRef(t)])));
    expect(Array.from(toFloat64('f32', await gpu.read(out.kCache)))).toEqual(Array.from(want.kCache.data));
    for (const x of Object.values(ins)) x.dispose();
  });
});

/** Invalid positions (negative, one past, i32 extremes) and a bad written block: those sequences write nothing; the rest are written. */
const BAD: [string, KvProblem][] = [
  ['positions', { positions: [3, -1, 6, 2 ** 31 - 1, -(2 ** 31), 0], snew: 2, hkv: 2, d: 8, dv: 16, smax: 7, cache: 'f16' }],
  ['block table', { positions: [2, 9, 0, 13], snew: 3, hkv: 1, d: 24, paged: { blockSize: 4, numBlocks: 16, maxBlocks: 4 }, badTable: 1 }],
];

async function checkBad(be: KernelBackend, p: KvProblem) {
  const h = kvInputs(p, 'bf16', 4);
  const want = refOf(kv, Object.fromEntries(Object.entries(h).map(([k, t]) => [k, toRef(t)])));
  // The invalid sequences' rows are indeed left as they were (the reference's claim).
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(h)) ins[k] = be.tensor(t.data, t.shape, t.dtype);
  const out = be.run('kv_cache_copy', ins, {});
  for (const name of ['kCache', 'vCache'] as const) {
    const got = toFloat64(out[name].dtype, await be.read(out[name]));
    expect(Array.from(got), `${be.name} ${name}`).toEqual(Array.from(want[name].data));
  }
  for (const x of Object.values(ins)) x.dispose();
}

describe('kv_cache_copy with invalid device data', () => {
  it('the reference writes the valid sequences only', () => {
    const p = BAD[0][1];
    const h = kvInputs(p, 'f32', 4);
    const r = refOf(kv, Object.fromEntries(Object.entries(h).map(([k, t]) => [k, toRef(t)])));
    const before = toFloat64('f16', h.kCache.data);
    // Sequence b's rows of the contiguous cache: [b·Hkv·Smax·D, (b+1)·Hkv·Smax·D).
    const span = 2 * 7 * 8;
    p.positions.forEach((pos, b) => {
      const same = Array.from(r.kCache.data.slice(b * span, (b + 1) * span)).every((x, j) => x === before[b * span + j]);
      expect(same, `sequence ${b}`).toBe(!(pos >= 0 && pos <= 5));
    });
  });

  it.each(BAD)('webgpu, bad %s: nothing written for those sequences', async (_l, p) => {
    await checkBad(gpu, p);
  });

  it.skipIf(!HOST).each(BAD)('metal under AddressSanitizer, bad %s: nothing written for those sequences, no out-of-bounds access', async (_l, p) => {
    await checkBad(asan!, p);
    expect(asan!.librariesUsed()).toContain('attention/kv_cache_copy.metal');
  });
});
