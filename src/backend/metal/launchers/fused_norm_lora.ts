import type { DType } from '../../../dtype.js';
import { dropThreshold, mix32 } from '../../../ops/fused_lora_forward/dropout.js';
import { loraDims, loraScale, type LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import type { NormLoraOpts } from '../../../ops/fused_norm_lora/reference.js';
import { gemmDims } from '../../../ops/gemm/dims.js';
import type { GemmOptions } from '../../../ops/gemm/spec.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { MetalContext, MetalLauncher } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';
import { loraElementwise } from './fused_lora.js';
import { GEMM_CONSTANTS, GEMM_PARAMS, METAL3_TILES, metal3Tile } from './gemm.js';
import { gemmOn } from './gemm_call.js';
import { RMS_NORM_PARAMS } from './rms_norm.js';
import { rmsNormBackwardLauncher } from './rms_norm_backward.js';

/** GemmNormParams in msl/gemm/norm_operand.h. */
export const NORM_PARAMS = defineParams([
  ['cols', 'u32'],
  ['thr', 'u32'],
  ['seed_mix', 'u32'],
]);

interface Norm {
  which: 'a' | 'b';
  rs: Tensor;
  g: Tensor;
  thr: number;
  seedMix: number;
}

const normOf = (which: 'a' | 'b', rs: Tensor, g: Tensor, o: LoraOpts, drop: boolean): Norm => ({ which, rs, g, thr: drop ? dropThreshold(o.dropout) : 0, seedMix: drop ? mix32(o.seed >>> 0) : 0 });

/**
 * gemm_norm_* (msl/gemm/gemm_norm.metal): y = alpha·op(a)·op(b) (+ beta·c + bias) with the
 * normalised operand staged as (x·rs[row])·g[col] (masked where thr ≠ 0): operand a
 * untransposed with b transposed ("nt"), or operand b untransposed with a transposed ("tn").
 */
function normGemm(ctx: MetalContext, i: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }, o: { alpha: number; beta: number }, norm: Norm, yDtype: DType, shape: number[]): Tensor {
  const transA = norm.which === 'b';
  const transB = norm.which === 'a';
  const { m, n, k } = gemmDims(i.a.shape, i.b.shape, transA, transB);
  const y = ctx.output({ dtype: yDtype, shape });
  if (m * n === 0) return y;
  const t = METAL3_TILES[metal3Tile(m, n)];
  const x = norm.which === 'a' ? i.a : i.b;
  const cols = x.shape[x.shape.length - 1];
  ctx.dispatch({
    library: 'gemm/gemm_norm.metal',
    fn: `gemm_norm_${norm.which}_${transA ? 't' : 'n'}${transB ? 't' : 'n'}_${dtSuffix(i.a.dtype)}_${dtSuffix(yDtype)}_bm${t.BM}_bn${t.BN}_bk${t.BK}`,
    constants: [
      { index: GEMM_CONSTANTS.hasC, type: 'bool', value: !!i.c },
      { index: GEMM_CONSTANTS.hasBias, type: 'bool', value: !!i.bias },
      { index: GEMM_CONSTANTS.useAlpha, type: 'bool', value: o.alpha !== 1 },
    ],
    buffers: [
      { index: 0, tensor: i.a },
      { index: 1, tensor: i.b },
      ...(i.c ? [{ index: 2, tensor: i.c }] : []),
      ...(i.bias ? [{ index: 3, tensor: i.bias }] : []),
      { index: 4, tensor: y },
      { index: 6, tensor: norm.rs },
      { index: 7, tensor: norm.g },
    ],
    bytes: [
      { index: 5, data: packParams(GEMM_PARAMS, { m, n, k, a_bstride: 0, b_bstride: 0, alpha: o.alpha, beta: o.beta }) },
      { index: 8, data: packParams(NORM_PARAMS, { cols, thr: norm.thr, seed_mix: norm.seedMix }) },
    ],
    grid: [Math.ceil(n / t.BN), Math.ceil(m / t.BM), 1],
    threadgroup: [t.threads, 1, 1],
  });
  return y;
}

/** A LoRA-path product on metal3 (the normalised products have no metal4 kernel, so neither tier is mixed in). */
const gemm = (ctx: MetalContext, k: number, inputs: { a: Tensor; b: Tensor; c?: Tensor }, o: Partial<GemmOptions>, dtype: DType, shape: number[]) =>
  gemmOn(ctx, 'metal3', k, inputs, { ...o, outDtype: dtype as 'f32' } as GemmOptions, { dtype, shape });

/**
 * rstd per row (rms_norm_rstd_*), then fused_lora_forward's three products with x staged
 * normalised by the two that read it (gemm_norm_a_nt_*): xa = drop(n)·Aᵀ/(1−p) in f32,
 * t = s·xa'·Bᵀ, y = n·Wᵀ + t + bias. n never goes to memory. metal3 only: no MPP variant.
 */
export const fusedNormLoraLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, opts, outs) {
    const o = opts as NormLoraOpts;
    const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
    const dt = i.x.dtype;
    const rstd = ctx.output(outs.rstd);
    if (t === 0) return { y: ctx.output(outs.y), rstd, xa: ctx.output(outs.xa) };
    const x2 = viewAs(i.x, [t, k]);
    ctx.dispatch({
      library: 'norm/rms_norm.metal',
      fn: `rms_norm_rstd_${dtSuffix(dt)}`,
      buffers: [
        { index: 0, tensor: x2 },
        { index: 3, tensor: rstd },
      ],
      bytes: [{ index: 6, data: packParams(RMS_NORM_PARAMS, { rows: t, n: k, eps: o.eps }) }],
      grid: [t, 1, 1],
      threadgroup: [rowThreads(k), 1, 1],
    });
    const xa = normGemm(ctx, { a: x2, b: i.loraA }, { alpha: 1 / (1 - o.dropout), beta: 0 }, normOf('a', rstd, i.gamma, o, true), 'f32', [t, r]);
    const xad = dt === 'f32' ? xa : loraElementwise(ctx, xa, dt, true, o);
    const tt = gemm(ctx, r, { a: xad, b: i.loraB }, { transB: true, alpha: loraScale(o, r) }, dt, [t, n]);
    const y = normGemm(ctx, { a: x2, b: i.weight, c: tt, bias: i.bias }, { alpha: 1, beta: 1 }, normOf('a', rstd, i.gamma, o, false), dt, [t, n]);
    if (xad !== xa) xad.dispose();
    tt.dispose();
    return { y: reshapeOwned(y, outs.y.shape), rstd, xa: reshapeOwned(xa, outs.xa.shape) };
  },
};

/** As on webgpu: fused_lora_backward's products on n (dA through gemm_norm_b_tn_*), then rms_norm_backward on dn. */
export const fusedNormLoraBackwardLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts;
    const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
    const dt = i.x.dtype;
    const s = loraScale(o, r);
    const sInv = s / (1 - o.dropout);
    const acc = o.accumulate ? 1 : 0;
    if (t === 0) {
      // Reached with accumulate only (spec.emptyResult takes the rest): K = 0 products give
      // dAIn / dBIn; dγ is the zero-filled output.
      const z = (cols: number) => ctx.output({ dtype: 'f32', shape: [0, cols] });
      const dA = gemm(ctx, 0, { a: z(r), b: z(k), c: i.dAIn }, { transA: true, beta: 1 }, 'f32', [r, k]);
      const dB = gemm(ctx, 0, { a: z(n), b: z(r), c: i.dBIn }, { transA: true, beta: 1 }, 'f32', [n, r]);
      return { dx: ctx.output(outs.dx), dGamma: ctx.output(outs.dGamma), dA, dB };
    }
    const dy2 = viewAs(i.dy, [t, n]);
    const x2 = viewAs(i.x, [t, k]);
    const xa2 = viewAs(i.xa, [t, r]);
    const rs = viewAs(i.rstd, [t]);
    const xad = dt === 'f32' ? xa2 : loraElementwise(ctx, xa2, dt, true, o);
    const dB = gemm(ctx, t, { a: dy2, b: xad, c: i.dBIn }, { transA: true, alpha: s, beta: acc }, 'f32', [n, r]);
    const g = gemm(ctx, n, { a: dy2, b: i.loraB }, {}, dt, [t, r]);
    const dA = normGemm(ctx, { a: g, b: x2, c: i.dAIn }, { alpha: sInv, beta: acc }, normOf('b', rs, i.gamma, o, true), 'f32', [r, k]);
    const h = gemm(ctx, r, { a: g, b: i.loraA }, { alpha: sInv }, dt, [t, k]);
    const hm = o.dropout > 0 ? loraElementwise(ctx, h, dt, false, o) : h;
    const dn = gemm(ctx, n, { a: dy2, b: i.weight, c: hm }, { beta: 1 }, dt, [t, k]);
    const nb = rmsNormBackwardLauncher.launch(ctx, tier, { dy: dn, x: x2, weight: i.gamma, rstd: rs }, { eps: 1e-6 }, { dx: { dtype: dt, shape: [t, k] }, dw: outs.dGamma });
    if (xad !== xa2) xad.dispose();
    if (hm !== h) hm.dispose();
    g.dispose();
    h.dispose();
    dn.dispose();
    return { dx: reshapeOwned(nb.dx, outs.dx.shape), dGamma: nb.dw, dA, dB };
  },
};
