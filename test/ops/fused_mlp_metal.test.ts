// fused_mlp on metal (the MSL host runtime, emulated M5): at decode sizes (T ≤ 16, no LoRA on
// gate or up) one gemm/gemv_swiglu.metal dispatch does the norm prologue, g, u and h, and the
// down projection is gemv.metal's: 2 dispatches where rms_norm, two gemms, swiglu and the down
// gemm were 5. Past T = 16, with gate/up LoRA, or where the separate plan would not use
// gemv.metal (metal4 with K on its 32-slices), the separate launches. Every output within the
// op's derived bound; the fused kernel's outputs are also the separate ops' bit for bit here
// (the same rstd, n, per-lane sums, roundings and swiglu arithmetic).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { swigluGemvChunk } from '../../src/backend/metal/launchers/mlp_gemv.js';
import type { FloatDType } from '../../src/dtype.js';
import { mlpForwardInputs, mlpOptions, type MlpDef } from '../../src/ops/fused_mlp/cases.js';
import type { Tensor } from '../../src/tensor.js';
import { checkMslParams } from '../metal/msl-params.js';
import { checkAgainstReference } from './against_reference.js';

let metal: MetalBackend;
beforeAll(async () => {
  metal = await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {});
});
afterAll(() => metal?.dispose());

const FUSED = 'gemv_swiglu';

/**
 * A decode-sized MLP for the host runtime: K = 300 (37 runs of 8 and a tail of 4; with the
 * norm one chunk of n at T ≤ 4 in f16, two of 256 columns at T = 16 in f32), I = 21 (three
 * threadgroups, the last with 5 of its 8 SIMD-groups idle), N = 19.
 */
const mlp = (t: number, extra: Partial<MlpDef> = {}): MlpDef => ({ lead: [t], k: 300, i: 21, n: 19, ranks: {}, ...extra });

/** The op on `tier` against the reference; the kernels it dispatched. */
async function record(def: MlpDef, dtype: FloatDType, tier: 'metal3' | 'metal4' = 'metal3') {
  metal.setTier('fused_mlp', tier);
  metal.trace = [];
  try {
    const checked = await checkAgainstReference(metal, 'fused_mlp', mlpForwardInputs(def, dtype, 7), mlpOptions(def, false));
    return { checked, fns: metal.trace.map((d) => d.fn) };
  } finally {
    metal.trace = undefined;
    metal.setTier('fused_mlp', undefined);
  }
}

/** The outputs the op returns for `def`. */
const outputs = (def: MlpDef) =>
  ['y', ...(def.norm ? ['rstd'] : []), ...(def.norm === 'norm+res' ? ['residualOut'] : []), ...(def.recompute === false ? ['gate', 'up'] : []), ...(def.ranks.down ? ['downXa'] : [])].sort();

const CASES = ([1, 4, 16] as const).flatMap((t) =>
  ([undefined, 'norm+res'] as const).flatMap((norm) =>
    ([true, false] as const).flatMap((recompute) =>
      (['f32', 'f16'] as const).map((dt) => [`T = ${t}, ${norm ?? 'no norm'}, recompute ${recompute}`, dt, mlp(t, { ...(norm ? { norm } : {}), ...(recompute ? {} : { recompute: false }) })] as const),
    ),
  ),
);

describe('fused_mlp on metal: the gate/up GEMV with the SwiGLU epilogue', () => {
  it('the chunk of n a threadgroup stages: whole 256-column steps within 8 KiB (at least one), no more than K needs', () => {
    expect(swigluGemvChunk(16, 300, 4)).toBe(256);
    expect(swigluGemvChunk(16, 300, 2)).toBe(256);
    expect(swigluGemvChunk(4, 300, 2)).toBe(512);
    expect(swigluGemvChunk(1, 4096, 2)).toBe(4096);
    expect(swigluGemvChunk(1, 8192, 2)).toBe(4096);
    expect(swigluGemvChunk(2, 100, 4)).toBe(256);
  });

  it('SwigluGemvParams (msl/gemm/gemv_swiglu.metal) is SWIGLU_GEMV_PARAMS field for field', async () => {
    metal.trace = [];
    try {
      await checkAgainstReference(metal, 'fused_mlp', mlpForwardInputs(mlp(2, { norm: 'norm+res' }), 'f32', 3), {});
      const trace = metal.trace;
      expect(trace.map((d) => d.fn)[0]).toBe(`${FUSED}_f32`);
      const { checked, problems } = checkMslParams(trace);
      expect(problems).toEqual([]);
      expect([...checked].some((c) => c.includes('SwigluGemvParams'))).toBe(true);
    } finally {
      metal.trace = undefined;
    }
  });

  it.each(CASES)('%s, %s: exactly 2 dispatches (gemv_swiglu, the down GEMV), every output within the bound', async (_name, dt, def) => {
    const { checked, fns } = await record(def, dt);
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(outputs(def));
    expect(fns).toEqual([`${FUSED}_${dt}`, `gemv_${dt}_${dt}`]);
  });

  it.each([
    ['bf16, T = 3, norm without residual, lead [3, 1]', { ...mlp(3, { norm: 'norm', eps: 1e-5 }), lead: [3, 1] }, 'bf16'],
    ['f16, T = 16 as [2, 8], K = 8 (one run), I = 1', { lead: [2, 8], k: 8, i: 1, n: 5, ranks: {}, norm: 'norm+res', recompute: false }, 'f16'],
    ['f32, T = 2, K = 7 (a tail alone), I = 9', { lead: [2], k: 7, i: 9, ranks: {}, norm: 'norm+res' }, 'f32'],
    ['f16, T = 1, K = 1100 (rms_norm\'s 256 threads a row; one chunk of n)', mlp(1, { k: 1100, norm: 'norm+res', recompute: false }), 'f16'],
    ['bf16, T = 8, K = 1100, norm + residual (3 chunks)', mlp(8, { k: 1100, norm: 'norm+res' }), 'bf16'],
  ] as [string, MlpDef, FloatDType][])('%s: 2 dispatches, within the bound', async (_name, def, dt) => {
    const { checked, fns } = await record(def, dt);
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(outputs(def));
    expect(fns).toEqual([`${FUSED}_${dt}`, `gemv_${dt}_${dt}`]);
  });

  it.each(['f32', 'f16'] as const)('a down adapter (%s): gemv_swiglu, then the down projection through fused_lora\'s launches; within the bound', async (dt) => {
    const def = mlp(4, { ranks: { down: 4 }, norm: 'norm+res', dropout: 0.25, seed: 3 });
    const { checked, fns } = await record(def, dt);
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(outputs(def));
    expect(fns[0]).toBe(`${FUSED}_${dt}`);
    expect(fns.filter((f) => f.startsWith(FUSED))).toHaveLength(1);
    expect(fns.some((f) => f.startsWith('swiglu_'))).toBe(false);
  });

  it.each([
    ['gate LoRA', mlp(4, { ranks: { gate: 4 }, norm: 'norm+res' })],
    ['up LoRA', mlp(1, { ranks: { up: 2 } })],
  ] as const)('%s keeps the separate plan (rms_norm, the projections, swiglu, the down GEMV): within the bound', async (_name, def) => {
    const { checked, fns } = await record(def, 'f16');
    expect(checked.bad).toEqual([]);
    expect(fns.some((f) => f.startsWith(FUSED))).toBe(false);
    expect(fns.filter((f) => f === 'swiglu_f16')).toHaveLength(1);
    if (def.norm) expect(fns[0]).toBe('rms_norm_f16');
    expect(fns.at(-1)).toBe('gemv_f16_f16');
  });

  it.each(['f32', 'f16'] as const)('T = 17 (past the cap: the products are gemm.metal tiles) keeps the separate plan (%s): rms_norm, two gemms, swiglu, the down gemm; within the bound', async (dt) => {
    const { checked, fns } = await record(mlp(17, { norm: 'norm+res', recompute: false }), dt);
    expect(checked.bad).toEqual([]);
    expect(fns.some((f) => f.startsWith(FUSED))).toBe(false);
    expect(fns).toHaveLength(5);
    expect(fns[0]).toBe(`rms_norm_${dt}`);
    expect(fns[3]).toBe(`swiglu_${dt}`);
    for (const j of [1, 2, 4]) expect(fns[j].startsWith(`gemm_nt_${dt}_${dt}_`)).toBe(true);
  });

  it('PMETAL_METAL_DECODE_FUSED=0 keeps T = 1 on the separate plan (rms_norm, the projections, swiglu, the down GEMV)', async () => {
    process.env.PMETAL_METAL_DECODE_FUSED = '0';
    try {
      const { checked, fns } = await record(mlp(1, { norm: 'norm+res' }), 'f16');
      expect(checked.bad).toEqual([]);
      expect(fns.some((f) => f.startsWith(FUSED))).toBe(false);
      expect(fns[0]).toBe('rms_norm_f16');
      expect(fns.filter((f) => f === 'swiglu_f16')).toHaveLength(1);
    } finally {
      delete process.env.PMETAL_METAL_DECODE_FUSED;
    }
  });

  it('metal4 tier: the fused kernel where K is off the MPP slices (the products would be GEMVs), MPP products where K % 32 == 0', async () => {
    const ragged = await record(mlp(2, { norm: 'norm+res' }), 'f16', 'metal4');
    expect(ragged.checked.bad).toEqual([]);
    expect(ragged.fns[0]).toBe(`${FUSED}_f16`);
    expect(ragged.fns).toHaveLength(2);
    const whole = await record(mlp(2, { k: 64, norm: 'norm+res' }), 'f16', 'metal4');
    expect(whole.checked.bad).toEqual([]);
    expect(whole.fns.some((f) => f.startsWith(FUSED))).toBe(false);
    expect(whole.fns.filter((f) => f.startsWith('gemm_mpp_'))).toHaveLength(2);
  });

  it.each([
    ['T = 16, f32, norm + residual (two chunks of n), K with a tail', mlp(16, { norm: 'norm+res', recompute: false }), 'f32'],
    ['T = 3, f16, no norm, K = 1100', mlp(3, { k: 1100, recompute: false }), 'f16'],
    ['T = 8, bf16, norm + residual, K = 1100 (three chunks)', mlp(8, { k: 1100, norm: 'norm+res', recompute: false }), 'bf16'],
  ] as [string, MlpDef, FloatDType][])('%s: bit for bit the separate ops (rms_norm, gemm on metal3, swiglu, gemm)', async (_name, def, dt) => {
    const host = mlpForwardInputs(def, dt, 11);
    const own: Tensor[] = [];
    const keep = <X extends Tensor>(x: X): X => {
      own.push(x);
      return x;
    };
    const ins = Object.fromEntries(Object.keys(host).map((k) => [k, keep(metal.tensor(host[k].data, host[k].shape, host[k].dtype))]));
    metal.setTier('fused_mlp', 'metal3');
    metal.trace = [];
    const fused = metal.fusedMlp(ins as never, mlpOptions(def, false));
    const fns = metal.trace.map((d) => d.fn);
    metal.trace = undefined;
    metal.setTier('fused_mlp', undefined);
    expect(fns).toEqual([`${FUSED}_${dt}`, `gemv_${dt}_${dt}`]);
    Object.values(fused).forEach(keep);
    // The separate ops.
    let a: Tensor = ins.x;
    let nr: Record<string, Tensor> | undefined;
    if (def.norm) {
      nr = metal.rmsNorm({ x: ins.x, weight: ins.normWeight, residual: ins.residual }, { eps: 1e-6 });
      Object.values(nr).forEach(keep);
      a = nr.y;
    }
    const proj = (x: Tensor, w: string) => keep(metal.gemm({ a: x, b: ins[w] }, { transB: true }, { tier: 'metal3' }).y);
    const g = proj(a, 'wGate');
    const u = proj(a, 'wUp');
    const h = keep(metal.swiglu({ gate: g, up: u }).y);
    const y = proj(h, 'wDown');
    // The tensors' bytes (Buffer.from of a typed array alone would take each element mod 256).
    const bytes = async (t: Tensor) => {
      const d = await metal.read(t);
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    };
    const same = async (p: Tensor, q: Tensor) => expect(await bytes(p)).toEqual(await bytes(q));
    await same(fused.gate!, g);
    await same(fused.up!, u);
    await same(fused.y, y);
    if (nr) {
      await same(fused.rstd!, nr.rstd);
      if (def.norm === 'norm+res') await same(fused.residualOut!, nr.residual!);
    }
    for (const x of new Set(own)) if (!x.disposed) x.dispose();
  });
});
