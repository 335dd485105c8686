import { BYTES, type DType } from '../../../dtype.js';
import { dropThreshold, mix32 } from '../../../ops/fused_lora_forward/dropout.js';
import { weightRows, type LoraWeightOpts } from '../../../ops/fused_lora_forward/qweight.js';
import { loraDims, loraScale, type LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { gemmOptions, type GemmOptions } from '../../../ops/gemm/spec.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { reshapeOwned, viewAs } from '../../view.js';
import { dtCode } from '../pipelines.js';
import { grid, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';
import { dequantizedWeight } from './dequantize.js';
import { gemmLauncher } from './gemm.js';
import { loraGemm, loraGemmPlan } from './lora_gemm.js';
import { loraXaByGemv, transposeF32 } from './lora_xa.js';
import { flatChunks } from './swiglu.js';

/** lora/lora_elementwise.wgsl. */
export const LORA_ELEMENTWISE_PARAMS = defineParams([
  ['count', 'u32'],
  ['groups_x', 'u32'],
  ['e0', 'u32'],
  ['thr', 'u32'],
  ['seed_mix', 'u32'],
  ['scale', 'f32'],
]);

const WG = 256;

/** One pass of lora_elementwise.wgsl from `src` into a new tensor of `dtype` (CAST: scale·f32 → dtype; else the dropout mask). */
export function loraElementwise(ctx: LaunchContext, src: Tensor, dtype: DType, cast: boolean, o: LoraOpts, scale = 1): Tensor {
  const dst = ctx.output({ dtype, shape: src.shape });
  const count = src.size;
  for (const [a, b] of flatChunks(ctx, count, Math.max(BYTES[src.dtype], BYTES[dtype]))) {
    const sw = windowOf(ctx, src, 0, a, b - a);
    const dw = windowOf(ctx, dst, 1, a, b - a);
    if (sw.base !== 0 || dw.base !== 0) throw new Error(`[lora] internal: chunk at ${a} does not start its bindings`);
    const g = grid(ctx, Math.ceil((b - a) / 2 / WG));
    ctx.rt.dispatch({
      pipeline: { shader: 'lora/lora_elementwise.wgsl', defines: { X_DT: dtCode(dtype), CAST: cast }, overrides: { WG } },
      bindings: [sw.b, dw.b],
      params: { binding: 2, data: packParams(LORA_ELEMENTWISE_PARAMS, { count: b - a, groups_x: g.groupsX, e0: a >>> 0, thr: dropThreshold(o.dropout), seed_mix: mix32(o.seed >>> 0), scale }) },
      workgroups: g.workgroups,
    });
  }
  return dst;
}

/** A product through the gemm launcher (the op's tier): y = alpha·op(a)·op(b) (+ beta·c + bias), of `shape` and `dtype`. */
function gemm(ctx: LaunchContext, tier: WebGpuTier, inputs: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }, o: GemmOptions, dtype: DType, shape: number[]): Tensor {
  const given = Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) as Record<string, Tensor>;
  return gemmLauncher.launch(ctx, tier, given, gemmOptions.parse({ ...o, outDtype: dtype }), { y: { dtype, shape } }).y;
}

/**
 * W as the gemm launches take it: the dense weight, or (QLoRA) the quantized one dequantized
 * into the dtype of x by the dequantize kernel (quant/decode.wgsl), a temporary the caller
 * disposes.
 */
function denseWeight(ctx: LaunchContext, i: Record<string, Tensor>, o: LoraWeightOpts, n: number, k: number): Tensor {
  if (!o.format) return i.weight;
  return dequantizedWeight(ctx, i, { format: o.format, groupSize: o.groupSize }, i.x.dtype, n, k);
}

/**
 * xa = mask(x2)·Aᵀ·(1/(1−p)) in f32 [T, r]: the saved output of the forward. With
 * PMETAL_LORA_XA_VARIANT=gemv (r ≤ 16): xaᵀ = A·mask(x2)ᵀ through the decode GEMV, then
 * transposed (lora_xa.ts).
 */
function loraXa(ctx: LaunchContext, tier: WebGpuTier, x2: Tensor, loraA: Tensor, o: LoraOpts): Tensor {
  const xm = o.dropout > 0 ? loraElementwise(ctx, x2, x2.dtype, false, o) : x2;
  const [t, r] = [x2.shape[0], loraA.shape[0]];
  const opts = { transB: true, alpha: 1 / (1 - o.dropout) };
  let xa: Tensor;
  if (loraXaByGemv(ctx, t, r)) {
    const xat = gemm(ctx, tier, { a: loraA, b: xm }, opts, 'f32', [r, t]);
    xa = transposeF32(ctx, xat);
    xat.dispose();
  } else {
    xa = gemm(ctx, tier, { a: xm, b: loraA }, opts, 'f32', [t, r]);
  }
  if (xm !== x2) xm.dispose();
  return xa;
}

/**
 * The LoRA side of a projection of x2 [T, K]: xa (loraXa) and t = s·xa'·Bᵀ in the dtype
 * (xa' = xa rounded to it), the term the base product takes as its c.
 */
export function loraSide(ctx: LaunchContext, tier: WebGpuTier, x2: Tensor, loraA: Tensor, loraB: Tensor, o: LoraOpts): { xa: Tensor; tt: Tensor } {
  const r = loraA.shape[0];
  const dt = x2.dtype;
  const xa = loraXa(ctx, tier, x2, loraA, o);
  const xad = dt === 'f32' ? xa : loraElementwise(ctx, xa, dt, true, o);
  const tt = gemm(ctx, tier, { a: xad, b: loraB }, { transB: true, alpha: loraScale(o, r) }, dt, [x2.shape[0], loraB.shape[0]]);
  if (xad !== xa) xad.dispose();
  return { xa, tt };
}

/**
 * y = x·Wᵀ + bias + s·(drop(x)·Aᵀ)·Bᵀ. Where lora_gemm.ts applies (prefill and training
 * sizes on gemm_tiled; gemm_sgmat_vec with PMETAL_LORA_GEMM_VARIANT=fused): xa =
 * mask(x)·Aᵀ·(1/(1−p)) in f32 (the saved output), xs = s·xa rounded to x's dtype
 * (lora_elementwise's CAST), then one dispatch adds xs·Bᵀ as r more K columns of x·Wᵀ.
 * Elsewhere three gemm launches: xa, t = s·xa'·Bᵀ in the
 * dtype (xa' = xa rounded to it, as the gemm kernels take one operand dtype), y = x·Wᵀ + t +
 * bias (t enters as the gemm's c). The tiers are gemm's. A quantized W (QLoRA) is dequantized
 * first (denseWeight).
 */
export const fusedLoraForwardLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & LoraWeightOpts;
    const { k, t, n } = loraDims(i.x, i.loraA, weightRows(i));
    const w = denseWeight(ctx, i, o, n, k);
    const x2 = viewAs(i.x, [t, k]);
    let y: Tensor;
    let xa: Tensor;
    const plan = loraGemmPlan(ctx, tier, x2, w, i.loraB, true, !!i.bias);
    if (plan) {
      xa = loraXa(ctx, tier, x2, i.loraA, o);
      const xs = loraElementwise(ctx, xa, i.x.dtype, true, o, loraScale(o, i.loraA.shape[0]));
      y = loraGemm(ctx, plan, x2, w, xs, i.loraB, true, i.bias);
      xs.dispose();
    } else {
      const side = loraSide(ctx, tier, x2, i.loraA, i.loraB, o);
      xa = side.xa;
      y = gemm(ctx, tier, { a: x2, b: w, c: side.tt, bias: i.bias }, { transB: true, beta: 1 }, i.x.dtype, [t, n]);
      side.tt.dispose();
    }
    if (w !== i.weight) w.dispose();
    return { y: reshapeOwned(y, outs.y.shape), xa: reshapeOwned(xa, outs.xa.shape) };
  },
};

/**
 * dst = add + mask(src) (lora_elementwise.wgsl's MASK_ADD), all of src's dtype: a second
 * projection's x-gradient summed under its own dropout mask (fused_mlp's backward).
 */
export function loraMaskAdd(ctx: LaunchContext, src: Tensor, add: Tensor, o: LoraOpts): Tensor {
  const dtype = src.dtype;
  const dst = ctx.output({ dtype, shape: src.shape });
  const count = src.size;
  for (const [a, b] of flatChunks(ctx, count, BYTES[dtype])) {
    const ws = [windowOf(ctx, src, 0, a, b - a), windowOf(ctx, dst, 1, a, b - a), windowOf(ctx, add, 3, a, b - a)];
    if (ws.some((w) => w.base !== 0)) throw new Error(`[lora] internal: chunk at ${a} does not start its bindings`);
    const g = grid(ctx, Math.ceil((b - a) / 2 / WG));
    ctx.rt.dispatch({
      pipeline: { shader: 'lora/lora_elementwise.wgsl', defines: { X_DT: dtCode(dtype), CAST: false, MASK_ADD: true }, overrides: { WG } },
      bindings: ws.map((w) => w.b),
      params: { binding: 2, data: packParams(LORA_ELEMENTWISE_PARAMS, { count: b - a, groups_x: g.groupsX, e0: a >>> 0, thr: dropThreshold(o.dropout), seed_mix: mix32(o.seed >>> 0), scale: 1 }) },
      workgroups: g.workgroups,
    });
  }
  return dst;
}

/**
 * The backward as five gemm launches (g = dy·B in the dtype is shared by dA and dx):
 * dB = s·dyᵀ·xa' (+ dBIn), g = dy·B, dA = s/(1−p)·gᵀ·mask(x) (+ dAIn),
 * dx = dy·W + mask(s/(1−p)·g·A) — the mask regenerated from the seed, never stored.
 * dxIn (fused_mlp): added into dx with the masked term, dx = dy·W + (dxIn + mask(…)).
 * Without dropout, dxIn or a quantized W, where lora_gemm.ts applies: g in f32, g' = g rounded
 * to the dtype (what the gemm's own store gives) for dA, gs = s/(1−p)·g rounded to the dtype,
 * and dx = dy·W + gs·A in one LORA_K dispatch — no h = gs·A of [T, K] written and read back.
 */
export function loraBackward(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, o: LoraOpts & LoraWeightOpts, dxIn?: Tensor): { dx: Tensor; dA: Tensor; dB: Tensor } {
  const { k, t, r, n } = loraDims(i.x, i.loraA, weightRows(i));
  const dt = i.x.dtype;
  const s = loraScale(o, r);
  const sInv = s / (1 - o.dropout);
  const acc = o.accumulate ? 1 : 0;
  const dy2 = viewAs(i.dy, [t, n]);
  const x2 = viewAs(i.x, [t, k]);
  const xa2 = viewAs(i.xa, [t, r]);
  const xad = dt === 'f32' ? xa2 : loraElementwise(ctx, xa2, dt, true, o);
  const dB = gemm(ctx, tier, { a: dy2, b: xad, c: i.dBIn }, { transA: true, alpha: s, beta: acc }, 'f32', [n, r]);
  const plan = !dxIn && o.dropout === 0 && !o.format ? loraGemmPlan(ctx, tier, dy2, i.weight, i.loraA, false, false) : undefined;
  const g32 = plan ? gemm(ctx, tier, { a: dy2, b: i.loraB }, {}, 'f32', [t, r]) : undefined;
  const g = g32 ? (dt === 'f32' ? g32 : loraElementwise(ctx, g32, dt, true, o)) : gemm(ctx, tier, { a: dy2, b: i.loraB }, {}, dt, [t, r]);
  const xm = o.dropout > 0 ? loraElementwise(ctx, x2, dt, false, o) : x2;
  const dA = gemm(ctx, tier, { a: g, b: xm, c: i.dAIn }, { transA: true, alpha: sInv, beta: acc }, 'f32', [r, k]);
  if (xm !== x2) xm.dispose();
  let dx: Tensor;
  if (plan && g32) {
    const gs = loraElementwise(ctx, g32, dt, true, o, sInv);
    dx = loraGemm(ctx, plan, dy2, i.weight, gs, i.loraA, false, undefined);
    gs.dispose();
  } else {
    const h = gemm(ctx, tier, { a: g, b: i.loraA }, { alpha: sInv }, dt, [t, k]);
    const hm = dxIn ? loraMaskAdd(ctx, h, viewAs(dxIn, [t, k]), o) : o.dropout > 0 ? loraElementwise(ctx, h, dt, false, o) : h;
    // Dequantized only now, so the copy of W is not alive during the other products.
    const w = denseWeight(ctx, i, o, n, k);
    dx = gemm(ctx, tier, { a: dy2, b: w, c: hm }, { beta: 1 }, dt, [t, k]);
    if (w !== i.weight) w.dispose();
    if (hm !== h) hm.dispose();
    h.dispose();
  }
  if (xad !== xa2) xad.dispose();
  if (g32 && g32 !== g) g32.dispose();
  g.dispose();
  return { dx, dA, dB };
}

export const fusedLoraBackwardLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const b = loraBackward(ctx, tier, i, opts as LoraOpts & LoraWeightOpts);
    return { dx: reshapeOwned(b.dx, outs.dx.shape), dA: b.dA, dB: b.dB };
  },
};
