import { ULP, U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';

/** The parsed options (see spec.ts for the schema and the PyTorch formulas they follow). */
export interface AdamwOpts {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  maxGradNorm?: number;
  /** Update params/m/v/master in their own storage (spec.ts); the arithmetic is the same. */
  inPlace?: boolean;
}

/** Bits of the `flag` output; any of them skips the step (every output equals its input). */
export const FLAG_NONFINITE = 1;
export const FLAG_BAD_SEGMENTS = 2;
export const FLAG_BAD_SCALARS = 4;
/** Largest step a device `scalars` tensor may carry (integers are exact in f32 up to 2^24). */
export const MAX_DEVICE_STEP = 2 ** 24;
/** PyTorch's clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_EPS = 1e-6;

export interface AdamwInputs {
  params: RefTensor;
  grads: RefTensor;
  m: RefTensor;
  v: RefTensor;
  master?: RefTensor;
  segments?: RefTensor;
  groups?: RefTensor;
  scalars?: RefTensor;
  /** Flags of earlier calls, OR-ed into the flag output. */
  flag?: RefTensor;
  /** Σg² of the whole list when this call updates part of it: the norm (and clip factor) come from it. */
  normSq?: RefTensor;
}

/** Segment of element e: the largest g in [0, n) with offsets[g] ≤ e (empty segments are skipped over). */
export function segmentOf(offsets: Float64Array, n: number, e: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** What the step uses: the learning rate, the step, the flags that skip it, the clip factor. */
export function adamwSetup(i: AdamwInputs, o: AdamwOpts) {
  const P = i.params.data.length;
  const g = i.grads.data;
  let flags = 0;
  let S = 0;
  for (let e = 0; e < P; e++) {
    if (!Number.isFinite(g[e])) flags |= FLAG_NONFINITE;
    S += g[e] * g[e];
  }
  const n = i.segments ? i.segments.data.length - 1 : 1;
  if (i.segments) {
    const off = i.segments.data;
    let ok = off[0] === 0 && off[n] === P;
    for (let k = 0; k < n; k++) ok &&= off[k] <= off[k + 1];
    for (const s of i.groups!.data) ok &&= Number.isFinite(s);
    if (!ok) flags |= FLAG_BAD_SEGMENTS;
  }
  let lr = o.lr;
  let step = o.step;
  if (i.scalars) {
    [lr, step] = i.scalars.data;
    if (!(Number.isFinite(lr) && lr >= 0 && Number.isInteger(step) && step >= 1 && step <= MAX_DEVICE_STEP)) flags |= FLAG_BAD_SCALARS;
  }
  if (i.normSq) {
    // The list's Σg² as given (a list split across calls: every call clips by the same norm).
    S = i.normSq.data[0];
    if (!Number.isFinite(S)) flags |= FLAG_NONFINITE;
  }
  const norm = Math.sqrt(S);
  const clip = o.maxGradNorm === undefined ? 1 : Math.min(o.maxGradNorm / (norm + CLIP_EPS), 1);
  return { P, n, flags, S, norm, clip, lr, step };
}

/**
 * One AdamW step in float64, PyTorch's torch.optim.AdamW (2.5 docs; the fused/foreach
 * implementations' operation order), per element with g clipped by clip_grad_norm_'s factor:
 *   p ← p·(1 − lr_g·wd_g)
 *   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr_g / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps)
 * lr_g = lr·lrScale and wd_g = weightDecay·wdScale of the element's segment (1 without
 * segments). p is the f32 master (or the f32 params). A flag skips the step: every output is
 * its input (params = master rounded, with master weights).
 */
export function adamwRef(i: AdamwInputs, o: AdamwOpts) {
  const s = adamwSetup(i, o);
  const src = (i.master ?? i.params).data;
  const P = s.P;
  const p = new Float64Array(src);
  const m = new Float64Array(i.m.data);
  const v = new Float64Array(i.v.data);
  if (s.flags) return { ...s, p, m, v };
  const bc1 = 1 - o.beta1 ** s.step;
  const bc2s = Math.sqrt(1 - o.beta2 ** s.step);
  for (let e = 0; e < P; e++) {
    const [ls, ws] = groupScales(i, s.n, e);
    const lrg = s.lr * ls;
    const g = i.grads.data[e] * s.clip;
    const pd = src[e] * (1 - lrg * (o.weightDecay * ws));
    m[e] = o.beta1 * i.m.data[e] + (1 - o.beta1) * g;
    v[e] = o.beta2 * i.v.data[e] + (1 - o.beta2) * g * g;
    const den = Math.sqrt(v[e]) / bc2s + o.eps;
    p[e] = pd - ((lrg / bc1) * m[e]) / den;
  }
  return { ...s, p, m, v };
}

function groupScales(i: AdamwInputs, n: number, e: number): [number, number] {
  if (!i.segments) return [1, 1];
  const g = segmentOf(i.segments.data, n, e);
  return [i.groups!.data[2 * g], i.groups!.data[2 * g + 1]];
}

/**
 * Relative error of β^t computed on the GPU from a device step by square-and-multiply in f32:
 * β's rounding to f32 contributes t·u, the ≤ 2·log2(t) products at most (t − 1)·u more
 * (binary powering of an exact base errs by ≤ (t−1)·u to first order); 2^-7 covers the
 * second-order terms (t·u ≤ 2^24·2^-24 = 1).
 */
export const powError = (t: number) => (2 * t + 1) * U32 * (1 + 2 ** -7);

/**
 * Per-element error bounds of the kernels' f32 arithmetic (first-order terms; every bound is
 * scaled by 1 + 2^-7 for the neglected products of ε's, all far below 2^-7 here). u = 2^-24.
 * Host constants reach the kernel as f32: β1, 1−β1, β2, 1−β2, eps, weightDecay, maxGradNorm,
 * and (without scalars) lr, 1 − β1^t, √(1 − β2^t), each within u. With scalars the GPU forms
 * 1 − β^t by square-and-multiply (powError) and the square root (ULP.sqrt).
 *   S = Σg² (P terms, any order): γ_P·S, + P·2^-126 for squares of bf16 values that
 *     underflow f32; norm = √S: ε_n = ½ε_S + 9u (WGSL sqrt).
 *   clip = min(maxNorm / (norm + 1e-6), 1): ε_c = ε_n + u (+1e-6) + u (1e-6 in f32) + u
 *     (maxNorm) + 5u (division); g' = g·clip: ε_g = ε_c + u = ε_n + 9u (0 without clipping:
 *     the kernels multiply by an exact 1).
 *   per segment: a = lr·ls (ε_lr + u), sz = a / bc1 (ε_sz = ε_lr + u + ε_bc1 + 5u),
 *     dec = 1 − a·(wd·ws): |Δdec| = |a·w|·(ε_lr + 4u) + u·|dec|.
 *   pd = p·dec: |p|·|Δdec| + u·|pd|.
 *   m' = β1·m + c1·g': 2u·|β1·m| + (2u + ε_g)·|c1·g'| + u·|m'|.
 *   v' = β2·v + c2·g'²: 2u·β2·v + (3u + 2ε_g)·c2·g'² + u·v'.
 *   den = √v' / bc2s + eps: ε_q = ½ε_v + 9u + ε_bc2s + 5u on q; |Δden| = q·ε_q + u·eps + u·den.
 *   a2 = sz·m': sz·E_m + |a2|·(ε_sz + u); r = a2 / den: |Δa2|/den + |r|·(ε_den + 5u).
 *   p' = pd − r: |Δpd| + |Δr| + u·|p'|.
 */
export function adamwErrors(i: AdamwInputs, o: AdamwOpts) {
  const r = adamwRef(i, o);
  const u = U32;
  const P = r.P;
  const zero = () => new Float64Array(P);
  const out = { p: zero(), m: zero(), v: zero(), norm: 0 };
  // A given Σg² (normSq) is an input: exact; only its square root rounds.
  const epsS = i.normSq ? 0 : gamma(P) + (r.S > 0 ? (P * 2 ** -126) / r.S : 0);
  const epsN = epsS / 2 + ULP.sqrt * u;
  out.norm = epsN * r.norm;
  if (r.flags) return { r, err: out };
  const device = !!i.scalars;
  const epsLr = device ? 0 : u;
  const b1t = o.beta1 ** r.step;
  const b2t = o.beta2 ** r.step;
  const bc1 = 1 - b1t;
  const bc2 = 1 - b2t;
  const bc2s = Math.sqrt(bc2);
  const epsBc1 = device ? (b1t * powError(r.step) + u * bc1) / bc1 : u;
  const epsBc2s = device ? ((b2t * powError(r.step) + u * bc2) / bc2) / 2 + ULP.sqrt * u : u;
  const clipping = o.maxGradNorm !== undefined;
  const epsG = clipping ? epsN + 4 * u + ULP.div * u : 0;
  const c1 = 1 - o.beta1;
  const c2 = 1 - o.beta2;
  const src = (i.master ?? i.params).data;
  const k = 1 + 2 ** -7;
  for (let e = 0; e < P; e++) {
    const [ls, ws] = groupScales(i, r.n, e);
    const a = r.lr * ls;
    const w = o.weightDecay * ws;
    const sz = a / bc1;
    const epsSz = epsLr + u + epsBc1 + ULP.div * u;
    const dec = 1 - a * w;
    const dDec = Math.abs(a * w) * (epsLr + 4 * u) + u * Math.abs(dec);
    const pd = src[e] * dec;
    const dPd = Math.abs(src[e]) * dDec + u * Math.abs(pd);
    const g = i.grads.data[e] * r.clip;
    const mNew = r.m[e];
    const eM = 2 * u * Math.abs(o.beta1 * i.m.data[e]) + (2 * u + epsG) * Math.abs(c1 * g) + u * Math.abs(mNew);
    const vNew = r.v[e];
    const eV = 2 * u * o.beta2 * i.v.data[e] + (3 * u + 2 * epsG) * c2 * g * g + u * vNew;
    const epsV = vNew > 0 ? eV / vNew : 0;
    const q = Math.sqrt(vNew) / bc2s;
    const epsQ = epsV / 2 + ULP.sqrt * u + epsBc2s + ULP.div * u;
    const den = q + o.eps;
    const epsDen = (q * epsQ + u * o.eps + u * den) / den;
    const a2 = sz * mNew;
    const dA2 = sz * eM + Math.abs(a2) * (epsSz + u);
    const rr = a2 / den;
    const dR = dA2 / den + Math.abs(rr) * (epsDen + ULP.div * u);
    out.p[e] = k * (dPd + dR + u * Math.abs(r.p[e]));
    out.m[e] = k * eM;
    out.v[e] = k * eV;
  }
  return { r, err: out };
}
