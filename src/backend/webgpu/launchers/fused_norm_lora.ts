import { BYTES, type DType } from '../../../dtype.js';
import { dropThreshold, mix32 } from '../../../ops/fused_lora_forward/dropout.js';
import { loraDims, loraScale, type LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import type { NormLoraOpts } from '../../../ops/fused_norm_lora/reference.js';
import { gemmOptions, type GemmOptions } from '../../../ops/gemm/spec.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { reshapeOwned, viewAs } from '../../view.js';
import { dtCode } from '../pipelines.js';
import { grid, reductionTiers, rowChunks, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';
import { loraElementwise } from './fused_lora.js';
import { gemmLauncher } from './gemm.js';
import { normGemm, type NormOperand } from './norm_gemm.js';
import { RMS_NORM_PARAMS } from './rms_norm.js';
import { rmsNormBackwardLauncher } from './rms_norm_backward.js';

/** rstd of each row of x [t, k] by norm/rms_norm.wgsl with RSTD_ONLY (one workgroup a row; subgroup sums on that tier). */
function rstdPass(ctx: LaunchContext, tier: WebGpuTier, x: Tensor, eps: number, rstd: Tensor, t: number, k: number) {
  const wg = k >= 1024 ? 256 : k >= 256 ? 128 : 64;
  for (const [r0, r1] of rowChunks(ctx, t, k * BYTES[x.dtype])) {
    const xw = windowOf(ctx, x, 0, r0 * k, (r1 - r0) * k);
    const sw = windowOf(ctx, rstd, 3, r0, r1 - r0);
    const g = grid(ctx, r1 - r0);
    ctx.rt.dispatch({
      pipeline: { shader: 'norm/rms_norm.wgsl', defines: { X_DT: dtCode(x.dtype), RESIDUAL: false, SUBGROUPS: tier === 'subgroups', RSTD_ONLY: true }, overrides: { WG: wg } },
      bindings: [xw.b, sw.b],
      params: { binding: 6, data: packParams(RMS_NORM_PARAMS, { rows: r1 - r0, n: k, groups_x: g.groupsX, x_base: xw.base, y_base: 0, res_base: 0, h_base: 0, rstd_base: sw.base, eps }) },
      workgroups: g.workgroups,
    });
  }
}

/**
 * The op's tiers: 'subgroup-matrix' for f16 x where gemm has it (an adapter with subgroup
 * matrices: gemmLauncher.tiers), then the reduction tiers (the row passes' subgroup sums).
 */
const normLoraTiers: Launcher['tiers'] = (d, f, adapter) => (d === 'f16' && gemmLauncher.tiers(d, f, adapter).includes('subgroup-matrix') ? ['subgroup-matrix', ...reductionTiers(f)] : reductionTiers(f));

/** The tier of the row passes (rstd, rms_norm_backward): the subgroup-matrix tier has subgroups. */
const rowTier = (tier: WebGpuTier): WebGpuTier => (tier === 'subgroup-matrix' ? 'subgroups' : tier);
/** The tier of the products through the gemm launcher: its subgroup-matrix tier, else its portable one. */
const gemmTier = (tier: WebGpuTier): WebGpuTier => (tier === 'subgroup-matrix' ? tier : 'portable');

/** A product of the LoRA path through the gemm launcher. */
function gemm(ctx: LaunchContext, tier: WebGpuTier, inputs: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }, o: GemmOptions, dtype: DType, shape: number[]): Tensor {
  const given = Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) as Record<string, Tensor>;
  return gemmLauncher.launch(ctx, gemmTier(tier), given, gemmOptions.parse({ ...o, outDtype: dtype }), { y: { dtype, shape } }).y;
}

const normOf = (which: 'a' | 'b', rs: Tensor, g: Tensor, o: LoraOpts, drop: boolean): NormOperand => ({
  which,
  rs,
  g,
  thr: drop ? dropThreshold(o.dropout) : 0,
  seedMix: drop ? mix32(o.seed >>> 0) : 0,
});

/**
 * rstd per row (one row pass), then fused_lora_forward's three products with x read
 * normalised by the two that take it (NORM_A: (x·rstd)·γ formed between the fetch and the
 * workgroup stash, the dropout mask applied there for xa; gemm_tiled keeps n in f32, the
 * subgroup-matrix tier's gemm_sgmat_vec rounds it to f16 for the matrix units): xa =
 * drop(n)·Aᵀ/(1−p) in f32, t = s·xa'·Bᵀ (xa' = xa in the dtype), y = n·Wᵀ + t + bias. n
 * never goes to memory.
 */
export const fusedNormLoraLauncher: Launcher = {
  tiers: normLoraTiers,
  launch(ctx, tier, i, opts, outs) {
    const o = opts as NormLoraOpts;
    const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
    const dt = i.x.dtype;
    const rstd = ctx.output(outs.rstd);
    if (t === 0) return { y: ctx.output(outs.y), rstd, xa: ctx.output(outs.xa) };
    const x2 = viewAs(i.x, [t, k]);
    rstdPass(ctx, rowTier(tier), x2, o.eps, rstd, t, k);
    const xa = normGemm(ctx, tier, { a: x2, b: i.loraA }, { transA: false, transB: true, alpha: 1 / (1 - o.dropout), beta: 0 }, normOf('a', rstd, i.gamma, o, true), 'f32', [t, r]);
    const xad = dt === 'f32' ? xa : loraElementwise(ctx, xa, dt, true, o);
    const tt = gemm(ctx, tier, { a: xad, b: i.loraB }, { transB: true, alpha: loraScale(o, r) }, dt, [t, n]);
    const y = normGemm(ctx, tier, { a: x2, b: i.weight, c: tt, bias: i.bias }, { transA: false, transB: true, alpha: 1, beta: 1 }, normOf('a', rstd, i.gamma, o, false), dt, [t, n]);
    if (xad !== xa) xad.dispose();
    tt.dispose();
    return { y: reshapeOwned(y, outs.y.shape), rstd, xa: reshapeOwned(xa, outs.xa.shape) };
  },
};

/**
 * fused_lora_backward's five products on n — dA reads x normalised (NORM_B, masked; on the
 * subgroup-matrix tier gemm_sgmat_vec, the other four through gemm's subgroup-matrix tier)
 * — giving dn = dy·W + mask(s/(1−p)·(dy·B)·A) in the dtype, then rms_norm_backward on dn
 * with the saved rstd: dx and dγ.
 */
export const fusedNormLoraBackwardLauncher: Launcher = {
  tiers: normLoraTiers,
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts;
    const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
    const dt = i.x.dtype;
    const s = loraScale(o, r);
    const sInv = s / (1 - o.dropout);
    const acc = o.accumulate ? 1 : 0;
    if (t === 0) {
      // Reached with accumulate only (spec.emptyResult takes the rest): the inputs pass through.
      const out = { dx: ctx.output(outs.dx), dGamma: ctx.output(outs.dGamma), dA: ctx.output(outs.dA), dB: ctx.output(outs.dB) };
      ctx.rt.clear(ctx.buffer(out.dGamma), 0, 4 * k);
      ctx.rt.copy(ctx.buffer(i.dAIn), 0, ctx.buffer(out.dA), 0, 4 * r * k);
      ctx.rt.copy(ctx.buffer(i.dBIn), 0, ctx.buffer(out.dB), 0, 4 * n * r);
      return out;
    }
    const dy2 = viewAs(i.dy, [t, n]);
    const x2 = viewAs(i.x, [t, k]);
    const xa2 = viewAs(i.xa, [t, r]);
    const rs = viewAs(i.rstd, [t]);
    const xad = dt === 'f32' ? xa2 : loraElementwise(ctx, xa2, dt, true, o);
    const dB = gemm(ctx, tier, { a: dy2, b: xad, c: i.dBIn }, { transA: true, alpha: s, beta: acc }, 'f32', [n, r]);
    const g = gemm(ctx, tier, { a: dy2, b: i.loraB }, {}, dt, [t, r]);
    const dA = normGemm(ctx, tier, { a: g, b: x2, c: i.dAIn }, { transA: true, transB: false, alpha: sInv, beta: acc }, normOf('b', rs, i.gamma, o, true), 'f32', [r, k]);
    const h = gemm(ctx, tier, { a: g, b: i.loraA }, { alpha: sInv }, dt, [t, k]);
    const hm = o.dropout > 0 ? loraElementwise(ctx, h, dt, false, o) : h;
    const dn = gemm(ctx, tier, { a: dy2, b: i.weight, c: hm }, { beta: 1 }, dt, [t, k]);
    const nb = rmsNormBackwardLauncher.launch(ctx, rowTier(tier), { dy: dn, x: x2, weight: i.gamma, rstd: rs }, { eps: 1e-6 }, { dx: { dtype: dt, shape: [t, k] }, dw: outs.dGamma });
    if (xad !== xa2) xad.dispose();
    if (hm !== h) hm.dispose();
    g.dispose();
    h.dispose();
    dn.dispose();
    return { dx: reshapeOwned(nb.dx, outs.dx.shape), dGamma: nb.dw, dA, dB };
  },
};
