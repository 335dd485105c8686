import { minSubnormal, unitRoundoff, type FloatDType } from '../../dtype.js';
import { U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { abs, accGamma, loraDims, loraScale, maskedX, mm, operandAbsShare, type LoraOpts, type OperandError } from '../fused_lora_forward/reference.js';

export interface LoraBackwardInputs {
  dy: RefTensor;
  x: RefTensor;
  weight: RefTensor;
  loraA: RefTensor;
  loraB: RefTensor;
  xa: RefTensor;
  dAIn?: RefTensor;
  dBIn?: RefTensor;
}

/**
 * LoRA backward in float64, from the forward's saved xa = drop(x)·Aᵀ and the regenerated
 * dropout mask (D = mask / (1 − p)):
 *   g = dy·B,  dB = s·dyᵀ·xa (+ dBIn),  dA = s·gᵀ·(x ⊙ D) (+ dAIn),  dx = dy·W + s·(g·A) ⊙ D.
 */
export function loraBackwardRef(i: LoraBackwardInputs, o: LoraOpts) {
  const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
  const s = loraScale(o, r);
  const inv = 1 / (1 - o.dropout);
  const { xm, keep } = maskedX(i.x, o);
  const g = mm(i.dy.data, false, i.loraB.data, false, t, r, n);
  const dB = mm(i.dy.data, true, i.xa.data, false, n, r, t).map((v, q) => s * v + (i.dBIn ? i.dBIn.data[q] : 0));
  const dA = mm(g, true, xm, false, r, k, t).map((v, q) => s * inv * v + (i.dAIn ? i.dAIn.data[q] : 0));
  const base = mm(i.dy.data, false, i.weight.data, false, t, k, n);
  const h = mm(g, false, i.loraA.data, false, t, k, r);
  const dx = base.map((v, q) => v + (keep[q] ? s * inv * h[q] : 0));
  return { dx, dA, dB, g, h, xm, keep, dims: { k, t, r, n, s, inv } };
}

/**
 * Per-element error bounds of the backward's kernels (before the rounding to each output's
 * dtype). The launch, in gemm's error model (gemm/spec.ts; u for each f32-rounded α):
 *   xa' = xa rounded to the dtype (exact for f32): each term off by u_d·|xa| + σ_d
 *   dB  = gemm(dyᵀ, xa', α = fl(s), c = dBIn):  s·Σ_t|dy|·(u_d|xa| + σ_d) + s·S·(γ_T(1+u)³ + γ_3 + u) + γ_3·|dBIn|
 *   g'  = gemm(dy, B) rounded to the dtype:     E_g = γ_N·Sg·(1+u)³ + γ_3·Sg + u_d·|g| + σ_d (u_d = u for f32)
 *   dA  = gemm(g'ᵀ, mask(x), α = fl(s/(1−p)), c = dAIn): s·inv·(Σ_t E_g·|xm| + (S + Σ_t E_g·|xm|)·(γ_T(1+u)³ + γ_3 + u)) + γ_3·|dAIn|
 *   h   = gemm(g', A, α = fl(s/(1−p))) rounded to the dtype, then masked (exact):
 *         E_h = s·inv·(Σ_j E_g·|A| + (S + Σ_j E_g·|A|)·(γ_r(1+u)³ + γ_3 + u)) + u_d·|h| + σ_d
 *   dx  = gemm(dy, W, c = mask(h), β = 1):       γ_N·S·(1+u)³ + γ_3·(S + |h| + E_h) + E_h (kept elements)
 * A quantized W (QLoRA) reaches the gemm as W' with |W' − W| ≤ wErr (fused_lora_forward/
 * qweight.ts): S takes |W| + wErr for |W'|, and dx gains Σ_n |dy|·wErr.
 * Without dropout webgpu may take another launch for dx (lora_gemm.ts): g in f32 (E_g32 = E_g
 * less u_d·|g| + σ_d), gs = fl(s/(1−p))·g rounded to the dtype,
 *   E_gs = s·inv·E_g32 + ((1+u)² − 1 + u_d·(1+u)²)·s·inv·(|g| + E_g32) + σ_d,
 * and dx = dy·W + gs·A as one (N + r)-term f32 sum:
 *   γ_{N+r}·(S + S4)·(1+u)³ + γ_3·(S + S4) + Σ_j E_gs·|A|,  S4 = Σ_j (s·inv·|g| + E_gs)·|A|;
 * dx's bound is then the larger of the two models per element.
 */
export function loraBackwardErrors(i: LoraBackwardInputs, o: LoraOpts, wErr?: Float64Array, xErr?: OperandError) {
  const b = loraBackwardRef(i, o);
  const { k, t, r, n, s, inv } = b.dims;
  const dt = i.x.dtype as FloatDType;
  const u = U32;
  const ud = unitRoundoff(dt);
  const sd = dt === 'f32' ? 0 : minSubnormal(dt);
  const uxa = dt === 'f32' ? 0 : ud;
  const g3 = gamma(3);
  const absDy = abs(i.dy.data);
  const xaMag = abs(i.xa.data);
  const xaErr = i.xa.data.map((v) => uxa * Math.abs(v) + (dt === 'f32' ? 0 : sd));
  const sDb = mm(absDy, true, xaMag.map((v, q) => v + xaErr[q]), false, n, r, t);
  const eDbIn = mm(absDy, true, xaErr, false, n, r, t);
  const eDB = sDb.map((v, q) => s * eDbIn[q] + s * v * (accGamma(dt, t) * (1 + u) ** 3 + g3 + u) + g3 * (i.dBIn ? Math.abs(i.dBIn.data[q]) : 0));
  const sG = mm(absDy, false, abs(i.loraB.data), false, t, r, n);
  const eG = sG.map((v, q) => accGamma(dt, n) * v * (1 + u) ** 3 + g3 * v + ud * Math.abs(b.g[q]) + sd);
  const gMag = b.g.map((v, q) => Math.abs(v) + eG[q]);
  const absXm = abs(b.xm);
  const sDa = mm(gMag, true, absXm, false, r, k, t);
  const eDaIn = mm(eG, true, absXm, false, r, k, t);
  const eDA = sDa.map((v, q) => s * inv * (eDaIn[q] + v * (accGamma(dt, t) * (1 + u) ** 3 + g3 + u)) + g3 * (i.dAIn ? Math.abs(i.dAIn.data[q]) : 0));
  if (xErr) {
    // x' = x + δ (see OperandError): δ's first-order share of dA, grown by its rounding factor.
    const kG = operandAbsShare(xErr, b.keep, gMag, true, r, k, t, false);
    for (let q = 0; q < r * k; q++) eDA[q] += s * inv * (xErr.rel * sDa[q] + kG[q]) * (1 + accGamma(dt, t) * (1 + u) ** 3 + g3 + u);
  }
  const absA = abs(i.loraA.data);
  const sH = mm(gMag, false, absA, false, t, k, r);
  const eHIn = mm(eG, false, absA, false, t, k, r);
  // W grown by its dequantization error (QLoRA), whose own share of dx is eW.
  const sDx = mm(absDy, false, wErr ? i.weight.data.map((v, q) => Math.abs(v) + wErr[q]) : abs(i.weight.data), false, t, k, n);
  const eW = wErr ? mm(absDy, false, wErr, false, t, k, n) : undefined;
  const eDX = new Float64Array(t * k);
  for (let q = 0; q < t * k; q++) {
    const hv = b.keep[q] ? Math.abs(s * inv * b.h[q]) : 0;
    const eH = b.keep[q] ? s * inv * (eHIn[q] + sH[q] * (accGamma(dt, r) * (1 + u) ** 3 + g3 + u)) + ud * hv + sd : 0;
    eDX[q] = accGamma(dt, n) * sDx[q] * (1 + u) ** 3 + g3 * (sDx[q] + hv + eH) + eH + (eW ? eW[q] : 0);
  }
  if (o.dropout === 0) {
    // The webgpu K-loop launch (lora_gemm.ts): g in f32 (E_g less its rounding to the dtype),
    // gs = fl(s/(1−p))·g in f32 rounded to the dtype, dx = dy·W + gs·A as one (N + r)-term sum.
    const eGs = eG.map((e, q) => {
      const e32 = e - ud * Math.abs(b.g[q]) - sd;
      return s * inv * e32 + ((1 + u) ** 2 - 1 + (dt === 'f32' ? 0 : ud) * (1 + u) ** 2) * s * inv * (Math.abs(b.g[q]) + e32) + sd;
    });
    const sGs = mm(eGs, false, absA, false, t, k, r);
    const S4 = mm(b.g.map((v, q) => s * inv * Math.abs(v) + eGs[q]), false, absA, false, t, k, r);
    for (let q = 0; q < t * k; q++) {
      const fused = accGamma(dt, n + r) * (sDx[q] + S4[q]) * (1 + u) ** 3 + g3 * (sDx[q] + S4[q]) + sGs[q] + (eW ? eW[q] : 0);
      eDX[q] = Math.max(eDX[q], fused);
    }
  }
  return { b, eDX, eDA, eDB };
}
