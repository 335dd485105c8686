import { BYTES, type DType } from '../../../dtype.js';
import { dropThreshold, mix32 } from '../../../ops/fused_lora_forward/dropout.js';
import { weightRows, type LoraWeightOpts } from '../../../ops/fused_lora_forward/qweight.js';
import { loraDims, loraScale, type LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { MetalContext, MetalLauncher, MetalTier } from '../launch.js';
import { dtSuffix } from './common.js';
import { dequantizeMetalLauncher } from './dequantize.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';

/** LoraElementwiseParams in msl/lora/lora.metal. */
export const LORA_ELEMENTWISE_PARAMS = defineParams([
  ['count', 'u32'],
  ['thr', 'u32'],
  ['seed_mix', 'u32'],
]);

const LIB = 'lora/lora.metal';
const TG = 256;

/** lora_mask_* (cast false: the dropout mask, bits copied) or lora_cast_* (f32 → dtype) into a new tensor. */
export function loraElementwise(ctx: MetalContext, src: Tensor, dtype: DType, cast: boolean, o: LoraOpts): Tensor {
  const dst = ctx.output({ dtype, shape: src.shape });
  const count = src.size;
  ctx.dispatch({
    library: LIB,
    fn: cast ? `lora_cast_${dtSuffix(dtype)}` : `lora_mask_b${8 * BYTES[dtype]}`,
    buffers: [
      { index: 0, tensor: src },
      { index: 1, tensor: dst },
    ],
    bytes: [{ index: 2, data: packParams(LORA_ELEMENTWISE_PARAMS, { count, thr: dropThreshold(o.dropout), seed_mix: mix32(o.seed >>> 0) }) }],
    grid: [Math.ceil(count / TG), 1, 1],
    threadgroup: [TG, 1, 1],
  });
  return dst;
}

/**
 * W as the gemm launches take it: the dense weight, or (QLoRA) the quantized one dequantized
 * into the dtype of x by dequantize_* (msl/quant/decode.h), a temporary the caller disposes.
 */
function denseWeight(ctx: MetalContext, i: Record<string, Tensor>, o: LoraWeightOpts, n: number, k: number): Tensor {
  if (!o.format) return i.weight;
  const q = Object.fromEntries(['w', 'scales', 'biases'].filter((name) => i[name]).map((name) => [name, i[name]]));
  return dequantizeMetalLauncher.launch(ctx, 'metal3', q, { format: o.format, groupSize: o.groupSize }, { y: { dtype: i.x.dtype, shape: [n, k] } }).y;
}

/**
 * y = x·Wᵀ + bias + s·(drop(x)·Aᵀ)·Bᵀ as three gemm launches, as on webgpu (xa in f32, kept;
 * xa rounded to the dtype for t = s·xa·Bᵀ; y = x·Wᵀ + t + bias). metal4 (MPP, as PMetal's
 * mpp_fused_lora) takes the products whose reduction length is a multiple of 32. A quantized W
 * (QLoRA) is dequantized first (denseWeight).
 */
export const fusedLoraForwardLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & LoraWeightOpts;
    const { k, t, r, n } = loraDims(i.x, i.loraA, weightRows(i));
    const dt = i.x.dtype;
    const x2 = viewAs(i.x, [t, k]);
    const xm = o.dropout > 0 ? loraElementwise(ctx, x2, dt, false, o) : x2;
    const xa = gemmOn(ctx, tier, k, { a: xm, b: i.loraA }, { transB: true, alpha: 1 / (1 - o.dropout), outDtype: 'f32' }, { dtype: 'f32', shape: [t, r] });
    const xad = dt === 'f32' ? xa : loraElementwise(ctx, xa, dt, true, o);
    const tt = gemmOn(ctx, tier, r, { a: xad, b: i.loraB }, { transB: true, alpha: loraScale(o, r), outDtype: dt as 'f32' }, { dtype: dt, shape: [t, n] });
    const w = denseWeight(ctx, i, o, n, k);
    const y = gemmOn(ctx, tier, k, { a: x2, b: w, c: tt, bias: i.bias }, { transB: true, beta: 1, outDtype: dt as 'f32' }, { dtype: dt, shape: [t, n] });
    if (w !== i.weight) w.dispose();
    if (xm !== x2) xm.dispose();
    if (xad !== xa) xad.dispose();
    tt.dispose();
    return { y: reshapeOwned(y, outs.y.shape), xa: reshapeOwned(xa, outs.xa.shape) };
  },
};

/** dst = add + mask(src) (lora_mask_add_<dt>), all of src's dtype: a second projection's x-gradient summed under its own dropout mask (fused_mlp's backward). */
export function loraMaskAdd(ctx: MetalContext, src: Tensor, add: Tensor, o: LoraOpts): Tensor {
  const dst = ctx.output({ dtype: src.dtype, shape: src.shape });
  const count = src.size;
  ctx.dispatch({
    library: LIB,
    fn: `lora_mask_add_${dtSuffix(src.dtype)}`,
    buffers: [
      { index: 0, tensor: src },
      { index: 1, tensor: dst },
      { index: 3, tensor: add },
    ],
    bytes: [{ index: 2, data: packParams(LORA_ELEMENTWISE_PARAMS, { count, thr: dropThreshold(o.dropout), seed_mix: mix32(o.seed >>> 0) }) }],
    grid: [Math.ceil(count / TG), 1, 1],
    threadgroup: [TG, 1, 1],
  });
  return dst;
}

/** The backward as five gemm launches and the regenerated mask, as on webgpu (dxIn: fused_mlp's second projection, added under the mask's pass). */
export function loraBackward(ctx: MetalContext, tier: MetalTier, i: Record<string, Tensor>, o: LoraOpts & LoraWeightOpts, dxIn?: Tensor): { dx: Tensor; dA: Tensor; dB: Tensor } {
  const { k, t, r, n } = loraDims(i.x, i.loraA, weightRows(i));
  const dt = i.x.dtype as 'f32';
  const s = loraScale(o, r);
  const sInv = s / (1 - o.dropout);
  const acc = o.accumulate ? 1 : 0;
  const dy2 = viewAs(i.dy, [t, n]);
  const x2 = viewAs(i.x, [t, k]);
  const xa2 = viewAs(i.xa, [t, r]);
  const xad = dt === 'f32' ? xa2 : loraElementwise(ctx, xa2, dt, true, o);
  const dB = gemmOn(ctx, tier, t, { a: dy2, b: xad, c: i.dBIn }, { transA: true, alpha: s, beta: acc, outDtype: 'f32' }, { dtype: 'f32', shape: [n, r] });
  const g = gemmOn(ctx, tier, n, { a: dy2, b: i.loraB }, { outDtype: dt }, { dtype: dt, shape: [t, r] });
  const xm = o.dropout > 0 ? loraElementwise(ctx, x2, dt, false, o) : x2;
  const dA = gemmOn(ctx, tier, t, { a: g, b: xm, c: i.dAIn }, { transA: true, alpha: sInv, beta: acc, outDtype: 'f32' }, { dtype: 'f32', shape: [r, k] });
  const h = gemmOn(ctx, tier, r, { a: g, b: i.loraA }, { alpha: sInv, outDtype: dt }, { dtype: dt, shape: [t, k] });
  const hm = dxIn ? loraMaskAdd(ctx, h, viewAs(dxIn, [t, k]), o) : o.dropout > 0 ? loraElementwise(ctx, h, dt, false, o) : h;
  // Dequantized only now, so the copy of W is not alive during the other products.
  const w = denseWeight(ctx, i, o, n, k);
  const dx = gemmOn(ctx, tier, n, { a: dy2, b: w, c: hm }, { beta: 1, outDtype: dt }, { dtype: dt, shape: [t, k] });
  if (w !== i.weight) w.dispose();
  if (xad !== xa2) xad.dispose();
  if (xm !== x2) xm.dispose();
  if (hm !== h) hm.dispose();
  g.dispose();
  h.dispose();
  return { dx, dA, dB };
}

export const fusedLoraBackwardLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts, outs) {
    const b = loraBackward(ctx, tier, i, opts as LoraOpts & LoraWeightOpts);
    return { dx: reshapeOwned(b.dx, outs.dx.shape), dA: b.dA, dB: b.dB };
  },
};
