// fused_norm_qkv on metal (the MSL host runtime, emulated M5): at decode sizes (T ≤ 4) one
// gemm/gemv_norm_qkv.metal dispatch does the norm, q/k/v, rope and the KV-cache write;
// past it (or where the separate plan would not use gemv.metal: metal4 with K on its
// 32-slices) the separate ops' launches. Every output within the op's derived bound; the
// fused kernel's outputs and caches are also the separate ops' bit for bit here (the same
// rstd, n, per-lane sums, epilogue and rotation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import type { FloatDType } from '../../src/dtype.js';
import { normQkvInputs, normQkvOptions, type NormQkvDef } from '../../src/ops/fused_norm_qkv/cases.js';
import type { Tensor } from '../../src/tensor.js';
import { checkAgainstReference } from './against_reference.js';

let metal: MetalBackend;
beforeAll(async () => {
  metal = await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {});
});
afterAll(() => metal?.dispose());

const FUSED = 'gemv_norm_qkv';
const llama3 = { base: 500000, scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } };

/** A decode step shrunk for the host runtime: GQA 2:1, residual, rope; K = 72 (9 runs of 8: lanes past them idle). */
const step = (t: number, extra: Partial<NormQkvDef> = {}): NormQkvDef => ({ t, k: 72, hq: 4, hkv: 2, d: 16, residual: true, maxPos: 4096, ...extra });

/** The op on `tier` against the reference; the kernels it dispatched. */
async function record(def: NormQkvDef, dtype: FloatDType, tier: 'metal3' | 'metal4' = 'metal3') {
  metal.setTier('fused_norm_qkv', tier);
  metal.trace = [];
  try {
    const checked = await checkAgainstReference(metal, 'fused_norm_qkv', normQkvInputs(def, dtype, 7), normQkvOptions(def));
    return { checked, fns: metal.trace.map((d) => d.fn) };
  } finally {
    metal.trace = undefined;
    metal.setTier('fused_norm_qkv', undefined);
  }
}

const CASES: [string, NormQkvDef][] = [
  ['T = 1, NeoX', step(1)],
  ['T = 4, biases, GPT-J, partial rotary, llama3', step(4, { bias: true, rope: { style: 'gptj', rotaryDim: 8, ...llama3 } })],
  ['T = 1, cache write (contiguous, last slot)', step(1, { cache: { positions: [7], smax: 8 } })],
  ['T = 4, cache write (paged f16 cache, 4 sequences, one past its cache)', step(4, { bias: true, cache: { positions: [0, 5, 12, 11], paged: { blockSize: 4, numBlocks: 12, maxBlocks: 3 }, cache: 'f16' } })],
  ['T = 4, cache write (2 sequences of 2, bf16 cache, partial rotary, ragged K)', step(4, { k: 45, rope: { rotaryDim: 6 }, cache: { positions: [3, 0], smax: 6, cache: 'bf16' } })],
];

describe('fused_norm_qkv on metal: the one-dispatch decode kernel', () => {
  it.each(CASES.flatMap(([name, def]) => (['f32', 'f16'] as const).map((dt) => [name, dt, def] as const)))('%s, %s: exactly one gemv_norm_qkv dispatch, every output within the bound', async (_name, dt, def) => {
    const { checked, fns } = await record(def, dt);
    expect(checked.bad).toEqual([]);
    const keys = ['k', 'q', 'residualOut', 'v', ...(def.cache ? ['kCache', 'vCache'] : [])].sort();
    expect(Object.keys(checked.got).sort()).toEqual(keys);
    expect(fns).toEqual([`${FUSED}_${dt}_${def.cache?.cache ?? dt}`]);
  });

  it('bf16, no residual, T = 3: one dispatch, within the bound', async () => {
    const { checked, fns } = await record({ ...step(3, { bias: true }), residual: false }, 'bf16');
    expect(checked.bad).toEqual([]);
    expect(fns).toEqual([`${FUSED}_bf16_bf16`]);
  });

  it.each(['f32', 'f16'] as const)('T = 5 keeps the separate plan (%s): rms_norm, three GEMVs, rope, kv_cache_copy; within the bound', async (dt) => {
    const { checked, fns } = await record(step(5, { cache: { positions: [2], smax: 8 } }), dt);
    expect(checked.bad).toEqual([]);
    expect(fns).toEqual([`rms_norm_${dt}`, `gemv_${dt}_${dt}`, `gemv_${dt}_${dt}`, `gemv_${dt}_${dt}`, `rope_neox_${dt}`, `kv_cache_copy_${dt}_${dt}`]);
  });

  it('PMETAL_METAL_DECODE_FUSED=0 keeps T = 1 on the separate plan; a bad value is an OptionsError', async () => {
    process.env.PMETAL_METAL_DECODE_FUSED = '0';
    try {
      const { checked, fns } = await record(step(1), 'f32');
      expect(checked.bad).toEqual([]);
      expect(fns.some((f) => f.startsWith(FUSED))).toBe(false);
      expect(fns[0]).toBe('rms_norm_f32');
      process.env.PMETAL_METAL_DECODE_FUSED = 'no';
      await expect(record(step(1), 'f32')).rejects.toThrow(/PMETAL_METAL_DECODE_FUSED: expected 0 or 1, got 'no'/);
    } finally {
      delete process.env.PMETAL_METAL_DECODE_FUSED;
    }
  });

  it('metal4 tier: the fused kernel where K is off the MPP slices (the products would be GEMVs), MPP products where K % 32 == 0', async () => {
    const ragged = await record(step(2), 'f16', 'metal4');
    expect(ragged.checked.bad).toEqual([]);
    expect(ragged.fns).toEqual([`${FUSED}_f16_f16`]);
    const whole = await record(step(2, { k: 64 }), 'f16', 'metal4');
    expect(whole.checked.bad).toEqual([]);
    expect(whole.fns.some((f) => f.startsWith(FUSED))).toBe(false);
    expect(whole.fns.filter((f) => f.startsWith('gemm_mpp_'))).toHaveLength(3);
  });

  it.each([
    ['T = 4, paged bf16 cache (one bad table entry: that sequence unwritten), GPT-J, biases', step(4, { bias: true, rope: { style: 'gptj' }, cache: { positions: [1, 4, 0, 8], paged: { blockSize: 4, numBlocks: 9, maxBlocks: 3 }, badTable: 2, cache: 'bf16' } }), 'f16'],
    ['T = 2, contiguous f32 cache (one start past it), llama3, K with a tail', step(2, { k: 77, rope: llama3, cache: { positions: [5, 2], smax: 6, cache: 'f32' } }), 'bf16'],
  ] as const)('%s (%s): bit for bit the separate ops (rms_norm, gemm on metal3, rope, kv_cache_copy)', async (_name, def, dt) => {
    const host = normQkvInputs(def, dt, 11);
    const t = (name: string) => metal.tensor(host[name].data, host[name].shape, host[name].dtype);
    const own: Tensor[] = [];
    const keep = <X extends Tensor>(x: X): X => {
      own.push(x);
      return x;
    };
    const ins = Object.fromEntries(Object.keys(host).map((k) => [k, keep(t(k))]));
    metal.setTier('fused_norm_qkv', 'metal3');
    metal.trace = [];
    const fused = metal.fusedNormQkv(ins as never, normQkvOptions(def));
    const fns = metal.trace.map((d) => d.fn);
    metal.trace = undefined;
    metal.setTier('fused_norm_qkv', undefined);
    expect(fns).toEqual([`${FUSED}_${dt}_${def.cache!.cache}`]);
    Object.values(fused).forEach(keep);
    // The separate ops on fresh caches.
    const nr = metal.rmsNorm({ x: ins.x, weight: ins.gamma, residual: ins.residual }, { eps: 1e-6 });
    Object.values(nr).forEach(keep);
    const proj = (w: string, b: string) => metal.gemm({ a: nr.y, b: ins[w], bias: ins[b] }, { transB: true }, { tier: 'metal3' }).y;
    const [q, k, v] = [proj('wq', 'bq'), proj('wk', 'bk'), proj('wv', 'bv')];
    const d = def.d;
    // reshape moves a tensor's storage: q and k live on as the rope's inputs, then its outputs.
    const rot = metal.rope({ x: keep(metal.reshape(q, [def.t, def.hq, d])), k: keep(metal.reshape(k, [def.t, def.hkv, d])), positions: ins.positions }, def.rope ?? {});
    Object.values(rot).forEach(keep);
    const caches = { kCache: keep(t('kCache')), vCache: keep(t('vCache')) };
    const B = def.cache!.positions.length;
    const kv = keep(metal.reshape(rot.yk!, [B, def.t / B, def.hkv, d]));
    const vv = keep(metal.reshape(v, [B, def.t / B, def.hkv, d]));
    metal.kvCacheCopy({ k: kv, v: vv, ...caches, positions: ins.cachePositions, ...(ins.blockTable ? { blockTable: ins.blockTable } : {}) });
    // The tensors' bytes (Buffer.from of a typed array alone would take each element mod 256).
    const bytes = async (t: Tensor) => {
      const d = await metal.read(t);
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    };
    const same = async (a: Tensor, b: Tensor) => expect(await bytes(a)).toEqual(await bytes(b));
    await same(fused.q, rot.y);
    await same(fused.k, kv);
    await same(fused.v, vv);
    await same(fused.residualOut!, nr.residual!);
    await same(fused.kCache!, caches.kCache);
    await same(fused.vCache!, caches.vCache);
    for (const x of new Set(own)) if (!x.disposed) x.dispose();
  });
});
