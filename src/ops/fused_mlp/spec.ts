import { z } from 'zod';
import { BYTES, FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { positiveNormalF32 } from '../check.js';
import { loraCommonOptions } from '../fused_lora_forward/spec.js';
import { U32, boundsOf } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { MLP_BENCH, MLP_CASES } from './cases.js';
import { checkMlp, checkMlpNorm } from './check.js';
import { mlpForwardFuzz } from './fuzz.js';
import { PROJS, mlpForwardErrors, mlpForwardRef, mlpNormErrors, mlpNormRef, type MlpInputs, type MlpOpts, type Proj } from './reference.js';

/**
 * fused_lora's alpha / dropout / seed, shared by the adapters (s = alpha/r per adapter; each
 * adapter's mask has its own seed, reference.ts projSeed), and `recompute`, which the pair
 * shares: true (the default), the forward saves only the adapters' xa and the backward
 * recomputes g and u from x; false, the forward also returns g and u and the backward reads
 * them. Recomputing is the default because saved g and u cost 2·T·I elements per layer — for
 * Llama-3-8B (T = 4096, I = 14336) 235 MB in f16 per layer, 7.5 GB over 32 layers, several
 * times the LoRA weights and optimizer state — while recomputing costs one more pair of
 * T×I×K products in the backward (about a third more MLP flops in the training step: the
 * forward's three products plus the backward's three — W is frozen, so no weight gradients —
 * now five in the backward, eight in all). `eps`: the norm prologue's (with normWeight), the
 * rms_norm op's option and default.
 */
const { format: _f, groupSize: _g, ...loraOpts } = loraCommonOptions;
export const fusedMlpOptions = z.object({ ...loraOpts, recompute: z.boolean().default(true), eps: positiveNormalF32().default(1e-6) }).strict();
export type FusedMlpOptions = z.input<typeof fusedMlpOptions>;

const OP = 'fused_mlp';

/** Each adapter's inputs: A [r, in], B [out, r]. */
export const ADAPTER_INPUTS = PROJS.flatMap((p) => [
  { name: `${p}A`, optional: true, doc: `[r, ${p === 'down' ? 'I' : 'K'}]: the ${p} projection's LoRA A` },
  { name: `${p}B`, optional: true, doc: `[${p === 'down' ? 'N' : 'I'}, r]: its LoRA B` },
]);

const xaInfo = (lead: number[], r: number | undefined): TensorInfo | undefined => (r ? { dtype: 'f32', shape: [...lead, r] } : undefined);

/**
 * The name pair follows fused_norm_lora / fused_norm_lora_backward: `fused_mlp` is the
 * KernelBackend trait's name for the forward, its gradient is `fused_mlp_backward`.
 */
export const fusedMlp = defineOp({
  name: OP,
  summary:
    'SwiGLU MLP with optional LoRA on each projection, W frozen, optionally on the RMSNorm of x (+ residual) (normWeight: n = rms_norm(x + residual)·γ as the rms_norm op, rounded to the dtype, takes the place of x below; returns the sum as residualOut and rstd): g = x·W_gᵀ, u = x·W_uᵀ, h = silu(g)·u, y = h·W_dᵀ, each product + s·(drop(·)·Aᵀ)·Bᵀ when its adapter is given (s = alpha/r, a dropout mask per adapter); returns y, each adapter\'s xa (f32, for the backward) and, with recompute = false, g and u. ' +
    'webgpu: at T ≤ 16 without gate/up LoRA one GEMV dispatch (gemm_gemv_rows SWIGLU_ROWS) writes h, then the down GEMV (with normWeight, at T ≤ 2 by default, that dispatch also computes each row\'s rstd and n itself; elsewhere one rms_norm dispatch comes first); with gate/up LoRA on the SIMT tiers g and u in one pass over x (gemm_tiled\'s SWIGLU variant), only h stored; elsewhere, metal past its GEMV and recompute = false: fused_lora\'s launches (a gemm without adapter) and the swiglu kernel. metal: at T ≤ 16 without gate/up LoRA, wherever the gate/up products would be GEMVs (metal3; metal4 only with K off its 32-slices), one gemm/gemv_swiglu.metal dispatch (a SIMD-group per row of W_g and of W_u; with normWeight every threadgroup computes the rows\' rstd and n itself) writes h, and g and u with recompute = false, then the down GEMV: 2 dispatches.',
  inputs: [
    { name: 'x', doc: '[..., K] f32/f16/bf16' },
    { name: 'wGate', doc: '[I, K], the frozen gate weight (dtype of x)' },
    { name: 'wUp', doc: '[I, K], the frozen up weight' },
    { name: 'wDown', doc: '[N, I], the frozen down weight (N = K in a transformer block)' },
    ...ADAPTER_INPUTS,
    { name: 'normWeight', optional: true, doc: '[K] γ of an RMSNorm applied to x first (dtype of x); the MLP then takes n = rms_norm(x (+ residual))·γ' },
    { name: 'residual', optional: true, doc: '[..., K] (shape and dtype of x), added to x before the norm; only with normWeight' },
  ],
  outputs: [
    { name: 'y', doc: '[..., N], dtype of x' },
    { name: 'gateXa', optional: true, doc: 'f32 [..., r]: drop(x)·A_gᵀ, with the gate adapter' },
    { name: 'upXa', optional: true, doc: 'f32 [..., r]: drop(x)·A_uᵀ, with the up adapter' },
    { name: 'downXa', optional: true, doc: 'f32 [..., r]: drop(h)·A_dᵀ, with the down adapter' },
    { name: 'gate', optional: true, doc: '[..., I], dtype of x: g, with recompute = false' },
    { name: 'up', optional: true, doc: '[..., I], dtype of x: u, with recompute = false' },
    { name: 'residualOut', optional: true, doc: '[..., K], dtype of x: x + residual (the new residual stream), with residual' },
    { name: 'rstd', optional: true, doc: 'f32 [...]: 1/rms of each row of x (+ residual), with normWeight (rms_norm\'s rstd)' },
  ],
  options: fusedMlpOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const { x, k, inter, n, lead, ranks } = checkMlp(OP, i);
    const nm = checkMlpNorm(OP, i, x, k);
    const out: Record<string, TensorInfo | undefined> = { y: { dtype: x.dtype, shape: [...lead, n] } };
    if (nm.residual) out.residualOut = { dtype: x.dtype, shape: x.shape };
    if (nm.norm) out.rstd = { dtype: 'f32', shape: lead };
    for (const p of PROJS) out[`${p}Xa`] = xaInfo(lead, ranks[p]);
    if (!o.recompute) {
      out.gate = { dtype: x.dtype, shape: [...lead, inter] };
      out.up = { dtype: x.dtype, shape: [...lead, inter] };
    }
    return Object.fromEntries(Object.entries(out).filter(([, v]) => v)) as Record<string, TensorInfo>;
  },
  reference(i, o) {
    const x = i.x!;
    const lead = x.shape.slice(0, -1);
    const nr = i.normWeight ? mlpNormRef(x, i.normWeight, i.residual, o.eps) : undefined;
    const f = mlpForwardRef({ ...i, x: nr ? nr.n : x } as MlpInputs, o as MlpOpts);
    const out: Record<string, { dtype: string; shape: number[]; data: Float64Array }> = { y: { dtype: x.dtype, shape: [...lead, i.wDown!.shape[0]], data: f.y } };
    if (nr && i.residual) out.residualOut = { dtype: x.dtype, shape: [...x.shape], data: nr.s };
    if (nr) out.rstd = { dtype: 'f32', shape: lead, data: nr.rstd };
    for (const p of PROJS) {
      const xa = f.xa[p];
      if (xa) out[`${p}Xa`] = { dtype: 'f32', shape: [...lead, i[`${p}A`]!.shape[0]], data: xa };
    }
    if (!o.recompute) {
      out.gate = { dtype: x.dtype, shape: [...f.h.shape], data: f.g };
      out.up = { dtype: x.dtype, shape: [...f.h.shape], data: f.u };
    }
    return out as never;
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (mlpForwardErrors): fused_lora_forward's bound (or gemm's, for
    // a projection without adapter) for g and u; their rounding to the dtype carried through
    // silu(g)·u (silu is 1.1-Lipschitz) with swiglu's own evaluation bound; h's error as a
    // per-element operand error of the down projection. With normWeight the MLP's x is n,
    // whose error (rms_norm's bound, then n's rounding to the dtype: mlpNormErrors) is an
    // operand error of the gate and up projections; residualOut is one f32 add, then its
    // rounding; rstd has rms_norm's bound.
    const x = i.x!;
    const dt = x.dtype;
    const k = x.shape[x.shape.length - 1];
    const nr = i.normWeight ? mlpNormRef(x, i.normWeight, i.residual, o.eps) : undefined;
    const ne = nr ? mlpNormErrors(dt as FloatDType, nr.n.data, k) : undefined;
    const e = mlpForwardErrors({ ...i, x: nr ? nr.n : x } as MlpInputs, o as MlpOpts, ne ? { rel: 0, abs: ne.nErr } : undefined);
    const out: Record<string, Float64Array> = { y: boundsOf(dt, ref.y!.data, (q) => e.eY[q]) };
    if (ref.residualOut) out.residualOut = boundsOf(dt, ref.residualOut.data, (q) => U32 * Math.abs(ref.residualOut!.data[q]));
    if (ref.rstd && ne) out.rstd = boundsOf('f32', ref.rstd.data, (q) => ne.rel * ref.rstd!.data[q]);
    for (const p of PROJS) {
      const ex = e.eXa[p as Proj];
      const r = ref[`${p}Xa` as 'y'];
      if (ex && r) out[`${p}Xa`] = boundsOf('f32', r.data, (q) => ex[q]);
    }
    if (ref.gate) out.gate = boundsOf(dt, ref.gate.data, (q) => e.eG[q]);
    if (ref.up) out.up = boundsOf(dt, ref.up.data, (q) => e.eU[q]);
    return out as never;
  },
  cases: MLP_CASES,
  bench: MLP_BENCH,
  cost(i, o) {
    const x = i.x!;
    const k = x.shape[x.shape.length - 1];
    const t = x.shape.reduce((a, b) => a * b, 1) / k;
    const inter = i.wGate!.shape[0];
    const n = i.wDown!.shape[0];
    const e = BYTES[x.dtype];
    let flops = 2 * t * inter * k * 2 + 2 * t * n * inter + 6 * t * inter;
    let bytes = e * (t * k + 2 * inter * k + n * inter + t * n) + (o.recompute ? 0 : 2 * e * t * inter);
    // The norm prologue: γ, and the residual in and the sum out; rstd.
    if (i.normWeight) bytes += e * k + 4 * t + (i.residual ? 2 * e * t * k : 0);
    for (const p of PROJS) {
      const a = i[`${p}A`];
      if (!a) continue;
      const r = a.shape[0];
      const [out, inp] = p === 'down' ? [n, inter] : [inter, k];
      flops += 2 * t * r * inp + 2 * t * out * r;
      bytes += e * (r * inp + out * r) + 4 * t * r;
    }
    // Bytes that must move at least once: h stays on chip only in a fused kernel; this
    // composition writes and reads it (and g, u) once more, which the roofline does not count.
    return { flops, bytes };
  },
  fuzz: mlpForwardFuzz,
});
