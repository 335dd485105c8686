// fused_norm_qkv (a decoder layer's attention input as one op): at decode sizes one
// gemv_norm_qkv dispatch on webgpu (launchers/norm_qkv_gemv.ts), past them the separate ops'
// launches; both within the op's one derived bound. Also its argument checks and the fallback
// where the adapter offers too few storage bindings for the fused kernel.
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { fusedNormQkvLauncher } from '../../src/backend/webgpu/launchers/fused_norm_qkv.js';
import { gemvWg } from '../../src/backend/webgpu/launchers/norm_qkv_gemv.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { OptionsError, ShapeError } from '../../src/errors.js';
import { normQkvInputs, type NormQkvDef } from '../../src/ops/fused_norm_qkv/cases.js';
import { normQkvOptions } from '../../src/ops/fused_norm_qkv/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../conformance/compare.js';
import { checkAgainstReference } from './against_reference.js';
import { limitedContext } from './limits.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();
afterEach(() => {
  delete process.env.PMETAL_NORM_QKV_VARIANT;
  delete process.env.PMETAL_NORM_QKV_WG;
  delete process.env.PMETAL_BENCH_NORM_QKV_STAGE;
});

/** A 1B-like layer shrunk for lavapipe: GQA 4:1, residual, positions, NeoX rope. */
const SMALL: NormQkvDef = { t: 1, k: 64, hq: 4, hkv: 1, d: 16, residual: true, maxPos: 2048 };

async function record(def: NormQkvDef, dtype: FloatDType) {
  gpu().rt.trace = [];
  const before = gpu().rt.dispatchCount;
  const checked = await checkAgainstReference(gpu(), 'fused_norm_qkv', normQkvInputs(def, dtype, 5), normQkvOptions(def));
  const dispatches = gpu().rt.dispatchCount - before;
  const shaders = gpu().rt.trace!.map((d) => d.pipeline.shader);
  gpu().rt.trace = undefined;
  return { checked, dispatches, shaders };
}

/**
 * The launcher on an adapter offering `bindings` storage buffers a stage (f32): the shaders it
 * recorded, whether the kCache output is the input itself; every output within the bound.
 */
async function launchLimited(def: NormQkvDef, bindings: number): Promise<{ shaders: string[]; kCacheReturned: boolean }> {
  const host = normQkvInputs(def, 'f32', 9);
  const spec = getSpec('fused_norm_qkv');
  const opts = spec.options.parse(normQkvOptions(def));
  const refIn: Record<string, RefTensor> = {};
  for (const [k, h] of Object.entries(host)) refIn[k] = { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) };
  const ref = spec.reference(refIn, opts) as Record<string, RefTensor>;
  const bounds = spec.bounds(refIn, opts, ref) as Record<string, Float64Array>;
  const inputs: Record<string, Tensor> = {};
  for (const [k, h] of Object.entries(host)) inputs[k] = gpu().tensor(h.data, h.shape, h.dtype);
  gpu().rt.trace = [];
  const outs = Object.fromEntries(Object.entries(spec.check(inputs, opts)).map(([k, t]) => [k, { dtype: t!.dtype, shape: [...t!.shape] }]));
  const got = fusedNormQkvLauncher.launch(limitedContext(gpu(), { maxStorageBuffersPerShaderStage: bindings }), 'portable', inputs, opts, outs);
  const shaders = gpu().rt.trace!.map((d) => d.pipeline.shader);
  gpu().rt.trace = undefined;
  for (const [name, t] of Object.entries(got)) {
    const cmp = compare(toFloat64('f32', await gpu().read(t)), ref[name].data, bounds[name], 'f32');
    expect(cmp.pass, name).toBe(true);
  }
  const kCacheReturned = got.kCache !== undefined && got.kCache === inputs.kCache;
  for (const t of new Set([...Object.values(got), ...Object.values(inputs)])) t.dispose();
  return { shaders, kCacheReturned };
}

/** A read-back's bytes (Buffer.from of a typed array would copy its values mod 256). */
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A 1B-like decode step shrunk for lavapipe (residual, llama rope) writing B sequences' k and v. */
const step = (t: number, cache: NormQkvDef['cache']): NormQkvDef => ({ t, k: 64, hq: 4, hkv: 2, d: 16, residual: true, maxPos: 64, cache });

describe('fused_norm_qkv on webgpu', () => {
  it.each(['f32', 'f16', 'bf16'] as const)('T = 1, %s: exactly one dispatch (the norm, q/k/v and rope), every output within the bound', async (dt) => {
    const { checked, dispatches, shaders } = await record(SMALL, dt);
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['k', 'q', 'residualOut', 'v']);
    expect(dispatches).toBe(1);
    expect(shaders).toEqual(['gemm/gemv_norm_qkv.wgsl']);
  });

  it('T = 2 with biases, GPT-J pairs and partial rotary, no residual: one dispatch, within the bound', async () => {
    const { checked, dispatches } = await record({ t: 2, k: 96, hq: 4, hkv: 2, d: 8, bias: true, maxPos: 64, rope: { style: 'gptj', rotaryDim: 4 } }, 'f16');
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['k', 'q', 'v']);
    expect(dispatches).toBe(1);
  });

  it('T = 40 (past the GEMV): rms_norm, three gemms and one rope, within the bound', async () => {
    const { checked, dispatches, shaders } = await record({ ...SMALL, t: 40, bias: true }, 'f32');
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(5);
    expect(shaders.some((s) => s.includes('norm_qkv'))).toBe(false);
  });

  it('T = 5 (past the normalising GEMV): rms_norm, then the GEMV on its output (PRENORM) with rope; within the bound', async () => {
    const { checked, dispatches, shaders } = await record({ ...SMALL, t: 5 }, 'f16');
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['k', 'q', 'residualOut', 'v']);
    expect(dispatches).toBe(2);
    expect(shaders).toEqual(['norm/rms_norm_vec.wgsl', 'gemm/gemv_norm_qkv.wgsl']);
  });

  it.each([9, 16])('PMETAL_NORM_QKV_VARIANT=gemv16 runs T = %i as one dispatch, within the bound', async (t) => {
    process.env.PMETAL_NORM_QKV_VARIANT = 'gemv16';
    const { checked, dispatches } = await record({ ...SMALL, t, bias: true }, 'f16');
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(1);
  });

  it.each(['f32', 'f16'] as const)('PMETAL_NORM_QKV_VARIANT=prenorm runs T = 1 as rms_norm then the PRENORM GEMV (with the cache write), %s, within the bound', async (dt) => {
    process.env.PMETAL_NORM_QKV_VARIANT = 'prenorm';
    const { checked, dispatches, shaders } = await record(step(1, { positions: [5], smax: 8 }), dt);
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(2);
    expect(shaders).toEqual(['norm/rms_norm_vec.wgsl', 'gemm/gemv_norm_qkv.wgsl']);
  });

  it('PMETAL_NORM_QKV_VARIANT=composed keeps the separate launches at T = 1; gemv4 the GEMV up to T = 4 and the separate launches past it; a bad value is an OptionsError', async () => {
    process.env.PMETAL_NORM_QKV_VARIANT = 'composed';
    const c = await record(SMALL, 'f32');
    expect(c.checked.bad).toEqual([]);
    expect(c.dispatches).toBe(5);
    process.env.PMETAL_NORM_QKV_VARIANT = 'gemv4';
    expect((await record({ ...SMALL, t: 4 }, 'f32')).dispatches).toBe(1);
    expect((await record({ ...SMALL, t: 5 }, 'f32')).dispatches).toBe(5);
    process.env.PMETAL_NORM_QKV_VARIANT = 'fastest';
    const x = gpu().tensor(new Float32Array(64), [1, 64]);
    const w = gpu().tensor(new Float32Array(64 * 64), [64, 64]);
    const g = gpu().tensor(new Float32Array(64), [64]);
    expect(() => gpu().fusedNormQkv({ x, gamma: g, wq: w, wk: w, wv: w })).toThrow(/PMETAL_NORM_QKV_VARIANT: expected one of auto, gemv4, gemv16, prenorm, composed, got 'fastest'/);
    for (const t of [x, w, g]) t.dispose();
  });

  // K = 3072 in f16 is 384 words a row: at 128 invocations both prefetched steps and one
  // more trip of the loop; at 256 one and a half steps.
  it.each([
    ['128', 'f16', { ...SMALL, k: 3072 }],
    ['128', 'f32', { ...SMALL, t: 3, bias: true }],
    ['128', 'bf16', step(2, { positions: [3, 0], smax: 8 })],
    ['256', 'f16', { ...SMALL, k: 3072, t: 6 }],
  ] as const)('PMETAL_NORM_QKV_WG=%s, %s: the GEMV of that many invocations, within the bound', async (wg, dt, def) => {
    process.env.PMETAL_NORM_QKV_WG = wg;
    gpu().rt.trace = [];
    const checked = await checkAgainstReference(gpu(), 'fused_norm_qkv', normQkvInputs(def, dt, 5), normQkvOptions(def));
    const gemvs = gpu().rt.trace!.filter((d) => d.pipeline.shader === 'gemm/gemv_norm_qkv.wgsl');
    gpu().rt.trace = undefined;
    expect(checked.bad).toEqual([]);
    expect(gemvs.map((d) => d.pipeline.defines.WG)).toEqual([Number(wg)]);
  });

  it("the GEMV's workgroup: 128 by default; a 256 pin only where 64·256 bytes of reduction array and the rstd fit", () => {
    const at = (storage: number) => gemvWg({ limits: { maxComputeWorkgroupStorageSize: storage, maxComputeInvocationsPerWorkgroup: 256 } } as never);
    expect(at(16384)).toBe(128);
    process.env.PMETAL_NORM_QKV_WG = '256';
    expect(at(16384)).toBe(128);
    expect(at(16448)).toBe(256);
    expect(at(8192)).toBeUndefined();
  });

  it('PMETAL_NORM_QKV_WG is validated', async () => {
    process.env.PMETAL_NORM_QKV_WG = '64';
    await expect(record(SMALL, 'f32')).rejects.toThrow(/PMETAL_NORM_QKV_WG: expected one of auto, 256, 128, got '64'/);
  });

  // Bench-only stages (wrong results by design): each keeps every binding of the kernel, so
  // the launch with residual, biases, rope and a paged cache still validates and runs.
  it.each([1, 2, 3, 4])('PMETAL_BENCH_NORM_QKV_STAGE=%i: the GEMV with every binding validates and runs', async (stage) => {
    process.env.PMETAL_BENCH_NORM_QKV_STAGE = String(stage);
    const def: NormQkvDef = { ...step(2, { positions: [1, 4], paged: { blockSize: 4, numBlocks: 6, maxBlocks: 3 } }), bias: true };
    const ins: Record<string, Tensor> = {};
    for (const [k, h] of Object.entries(normQkvInputs(def, 'f16', 3))) ins[k] = gpu().tensor(h.data, h.shape, h.dtype);
    gpu().rt.trace = [];
    const outs = gpu().run('fused_norm_qkv', ins, normQkvOptions(def));
    await gpu().sync();
    const stages = gpu().rt.trace!.filter((d) => d.pipeline.shader === 'gemm/gemv_norm_qkv.wgsl').map((d) => d.pipeline.defines.STAGE);
    gpu().rt.trace = undefined;
    expect(stages).toEqual([stage]);
    for (const t of new Set([...Object.values(outs), ...Object.values(ins)])) t.dispose();
  });

  it('an adapter with 8 storage bindings (the kernel needs 12 here): the separate launches, within the bound', async () => {
    const { shaders } = await launchLimited(SMALL, 8);
    expect(shaders.some((s) => s.includes('norm_qkv'))).toBe(false);
  });
});

describe('fused_norm_qkv with an empty weight', () => {
  // Checked: before normQkvGemvFits refused an empty weight, the GEMV bound a zero-size
  // window and the call was a GpuValidationError on webgpu (cpu: an empty q).
  it('Nq = 0 at T = 1 on webgpu: an empty q, and k, v within the bound (the separate launches)', async () => {
    const host = normQkvInputs({ t: 1, k: 64, hq: 1, hkv: 1, d: 16, residual: true }, 'f32', 2);
    const checked = await checkAgainstReference(gpu(), 'fused_norm_qkv', { ...host, wq: { dtype: 'f32', shape: [0, 64], data: new Float32Array(0) } }, {});
    expect(checked.bad).toEqual([]);
    expect(checked.got.q.length).toBe(0);
    expect(checked.got.k.length).toBe(16);
  });
});

describe('fused_norm_qkv with a KV-cache write on webgpu', () => {
  const paged = { blockSize: 4, numBlocks: 9, maxBlocks: 3 };

  // One or two dtypes a case: lavapipe takes ~15 s to compile each T > 1 specialisation.
  it.each([
    ['contiguous, B = 1', step(1, { positions: [6], smax: 8 }), ['f32', 'bf16']],
    ['contiguous, B = 2 (one sequence past its cache: not written)', step(2, { positions: [3, 8], smax: 8 }), ['f16']],
    ['paged f16 cache, B = 4, T = 4 (GEMV range)', step(4, { positions: [0, 5, 11, 2], paged, cache: 'f16' }), ['f32']],
  ] as const)('%s: one GEMV dispatch writes the cache, every output within the bound, the cache equal to kv_cache_copy of k and v', async (_name, def, dtypes) => {
    for (const dt of dtypes) {
      const host = normQkvInputs(def, dt, 3);
      const { checked, dispatches, shaders } = await record(def, dt);
      expect(checked.bad).toEqual([]);
      expect(Object.keys(checked.got).sort()).toEqual(['k', 'kCache', 'q', 'residualOut', 'v', 'vCache']);
      expect(dispatches).toBe(1);
      expect(shaders).toEqual(['gemm/gemv_norm_qkv.wgsl']);
      // The same inputs again, the cache then written by kv_cache_copy from the op's k and v.
      const b = gpu();
      const t = (name: string) => b.tensor(host[name].data, host[name].shape, host[name].dtype);
      const fusedIn = Object.fromEntries(Object.keys(host).map((k) => [k, t(k)]));
      const fused = b.fusedNormQkv(fusedIn as never, normQkvOptions(def));
      const { kCache: _k, vCache: _v, cachePositions: _p, blockTable: _t, ...rest } = fusedIn;
      const noCache = b.fusedNormQkv(rest as never, normQkvOptions({ ...def, cache: undefined }));
      const plain = { kCache: t('kCache'), vCache: t('vCache') };
      const B = def.cache!.positions.length;
      const view = (x: Tensor, hd: number) => b.reshape(x, [B, def.t / B, def.hkv, hd]);
      b.kvCacheCopy({ k: view(noCache.k, def.d), v: view(noCache.v, def.d), kCache: plain.kCache, vCache: plain.vCache, positions: fusedIn.cachePositions, ...(fusedIn.blockTable ? { blockTable: fusedIn.blockTable } : {}) });
      expect(bytes(await b.read(fused.kCache!))).toEqual(bytes(await b.read(plain.kCache)));
      expect(bytes(await b.read(fused.vCache!))).toEqual(bytes(await b.read(plain.vCache)));
      for (const x of [...Object.values(fusedIn), fused.q, fused.k, fused.v, fused.residualOut!, plain.kCache, plain.vCache, noCache.q, noCache.residualOut!]) x.dispose();
    }
  });

  it('T = 8 (rms_norm, then the GEMV on its output): the GEMV writes the cache; within the bound', async () => {
    const { checked, shaders } = await record(step(8, { positions: [1, 0], paged, cache: 'bf16' }), 'f16');
    expect(checked.bad).toEqual([]);
    expect(shaders).toEqual(['norm/rms_norm_vec.wgsl', 'gemm/gemv_norm_qkv.wgsl']);
  });

  it('T = 40 (past every GEMV): the separate launches, then kv_cache_copy; within the bound', async () => {
    const { checked, shaders } = await record({ ...step(40, { positions: [3, 0], smax: 24 }), k: 32 }, 'f32');
    expect(checked.bad).toEqual([]);
    expect(shaders.at(-1)).toBe('attention/kv_cache_copy.wgsl');
  });

  it('an adapter with 14 storage bindings (the cache write needs 15 here): the GEMV, then kv_cache_copy; within the bound', async () => {
    const { shaders, kCacheReturned } = await launchLimited(step(1, { positions: [2], smax: 4 }), 14);
    expect(shaders).toEqual(['gemm/gemv_norm_qkv.wgsl', 'attention/kv_cache_copy.wgsl']);
    expect(kCacheReturned).toBe(true);
  });
});

describe('fused_norm_qkv argument checks (every backend: the spec)', () => {
  const cpu = new CpuBackend();
  const mk = (shape: number[], dtype: 'f32' | 'f16' | 'i32' = 'f32') => cpu.zeros(shape, dtype);
  const base = () => ({ x: mk([2, 8]), gamma: mk([8]), wq: mk([8, 8]), wk: mk([4, 8]), wv: mk([4, 8]) });
  it('errors name the argument and what was expected', () => {
    expect(() => cpu.fusedNormQkv({ ...base(), gamma: mk([8], 'f16') })).toThrow(/^\[fused_norm_qkv\] gamma: expected f32\[8\], got f16\[8\]/);
    expect(() => cpu.fusedNormQkv({ ...base(), wk: mk([4, 7]) })).toThrow(ShapeError);
    expect(() => cpu.fusedNormQkv({ ...base(), bv: mk([5]) })).toThrow(/bv: expected f32\[4\], got f32\[5\]/);
    expect(() => cpu.fusedNormQkv({ ...base(), residual: mk([1, 8]) })).toThrow(/residual: expected f32\[2,8\]/);
    expect(() => cpu.fusedNormQkv(base(), { rope: {} })).toThrow(OptionsError);
    expect(() => cpu.fusedNormQkv(base(), { heads: { q: 2, kv: 1 } })).toThrow(/heads: given without positions/);
    const positions = mk([2], 'i32');
    expect(() => cpu.fusedNormQkv({ ...base(), positions })).toThrow(/heads: expected \{ q, kv \}/);
    expect(() => cpu.fusedNormQkv({ ...base(), positions }, { heads: { q: 2, kv: 2 } })).toThrow(/wk: expected heads.kv · D = 2 · 4 = 8 rows/);
    expect(() => cpu.fusedNormQkv({ ...base(), positions: mk([3], 'i32') }, { heads: { q: 2, kv: 1 } })).toThrow(/positions: expected i32\[2\]/);
    expect(() => cpu.fusedNormQkv({ ...base(), positions }, { heads: { q: 2, kv: 1 }, rope: { rotaryDim: 6 } })).toThrow(/rotaryDim: expected an even number ≤ 4/);
    expect(() => cpu.fusedNormQkv({ ...base(), positions }, { heads: { q: 2, kv: 1 }, rope: { offset: 3 } })).toThrow(/offset: expected 0 when positions is given/);
    // The cache write: kCache [B, Hkv, Smax, D] with Hkv·D = Nk = 4, T a multiple of B.
    // (Nk = Nv = 8: one kv head of D = 8, a head dim decode_attention reads), T a multiple of B.
    const cb = () => ({ ...base(), wk: mk([8, 8]), wv: mk([8, 8]) });
    const cache = () => ({ kCache: mk([1, 1, 4, 8]), vCache: mk([1, 1, 4, 8]), cachePositions: mk([1], 'i32') });
    expect(() => cpu.fusedNormQkv({ ...cb(), kCache: mk([1, 1, 4, 8]) })).toThrow(/^\[fused_norm_qkv\] vCache: required with kCache/);
    expect(() => cpu.fusedNormQkv({ ...cb(), ...cache(), kCache: mk([1, 2, 4, 8]) })).toThrow(/kCache: expected \[B, Hkv, Smax, D\] with Hkv·D = Nk = 8/);
    expect(() => cpu.fusedNormQkv({ ...base(), ...cache(), kCache: mk([1, 1, 4, 4]) })).toThrow(/kCache: expected a head dim that is a multiple of 8/);
    expect(() => cpu.fusedNormQkv({ ...cb(), ...cache(), cachePositions: mk([3], 'i32') })).toThrow(/x: expected T a multiple of B = 3/);
    expect(() => cpu.fusedNormQkv({ ...cb(), ...cache() }, { hostCachePositions: [3] })).toThrow(/hostCachePositions\[0\]: expected a start position in \[0, 2\]/);
    expect(() => cpu.fusedNormQkv({ ...cb(), blockTable: mk([1, 1], 'i32') })).toThrow(/blockTable: given without kCache/);
    expect(() => cpu.fusedNormQkv(cb(), { hostCachePositions: [0] })).toThrow(OptionsError);
    expect(() => cpu.fusedNormQkv({ ...cb(), ...cache(), kCache: mk([1, 1, 4, 8], 'f16') })).toThrow(/vCache: expected f16/);
    const w = cpu.fusedNormQkv({ ...cb(), ...cache() }, { hostCachePositions: [2] });
    expect(w.kCache!.shape).toEqual([1, 1, 4, 8]);
    const ok = cpu.fusedNormQkv({ ...base(), positions }, { heads: { q: 2, kv: 1 } });
    expect(ok.q.shape).toEqual([2, 8]);
    expect(ok.k.shape).toEqual([2, 4]);
    expect(ok.residualOut).toBeUndefined();
  });
});
