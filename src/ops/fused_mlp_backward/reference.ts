import { minSubnormal, unitRoundoff, type FloatDType } from '../../dtype.js';
import { loraBackwardErrors, loraBackwardRef } from '../fused_lora_backward/reference.js';
import { abs, accGamma, loraScale, maskedX, mm, type LoraOpts } from '../fused_lora_forward/reference.js';
import { hError, mlpForwardErrors, mlpForwardRef, projOpts, SILU_LIP, weightName, type MlpInputs, type MlpOpts, type Proj } from '../fused_mlp/reference.js';
import { sigmoid, swigluBackwardRef, swigluRef } from '../swiglu/reference.js';
import { U32, ULP, gamma, toDtype } from '../tolerance.js';
import type { RefTensor } from '../types.js';

/** max |silu''(z)| over all z (at z = 0): silu'' = σ(1 − σ)·(2 + z·(1 − 2σ)). */
const SILU2_LIP = 0.5;

export type MlpBackwardInputs = MlpInputs & { dy: RefTensor };

const shaped = (like: RefTensor, shape: readonly number[], data: Float64Array): RefTensor => ({ dtype: like.dtype, shape: [...shape], data });

/**
 * One projection's backward in float64: fused_lora_backward's (dx, dA, dB from the saved xa)
 * with its adapter, else dx = dy·W.
 */
function projBackwardRef(i: MlpBackwardInputs, p: Proj, dy: RefTensor, x: RefTensor, o: LoraOpts) {
  const w = i[weightName(p)]!;
  const a = i[`${p}A`];
  if (!a) {
    const t = dy.data.length / w.shape[0];
    return { dx: mm(dy.data, false, w.data, false, t, w.shape[1], w.shape[0]) };
  }
  const b = loraBackwardRef({ dy, x, weight: w, loraA: a, loraB: i[`${p}B`]!, xa: i[`${p}Xa`]!, dAIn: i[`${p}DAIn`], dBIn: i[`${p}DBIn`] }, o);
  return { dx: b.dx, dA: b.dA, dB: b.dB };
}

/** g and u: the saved ones (recompute = false) or the forward's, from x. */
function gateUp(i: MlpBackwardInputs, o: MlpOpts) {
  if (!o.recompute) return { g: i.gate!.data, u: i.up!.data, f: undefined };
  const f = mlpForwardRef(i, o);
  return { g: f.g, u: f.u, f };
}

/**
 * Float64: g, u (recomputed or saved), h = silu(g)·u; the down projection's backward gives
 * dh (and its dA, dB, from the saved xa of h); swiglu's backward gives dg, du; the gate and
 * up projections' backward give their dA, dB and dx = dx_gate + dx_up.
 */
export function mlpBackwardRef(i: MlpBackwardInputs, o: MlpOpts) {
  const { g, u } = gateUp(i, o);
  const inter = i.wGate.shape[0];
  const k = i.x.shape[i.x.shape.length - 1];
  const lead = i.x.shape.slice(0, -1);
  const h = shaped(i.x, [...lead, inter], swigluRef(g, u));
  const d = projBackwardRef(i, 'down', i.dy, h, projOpts(o, 'down'));
  const sw = swigluBackwardRef(d.dx, g, u);
  const gb = projBackwardRef(i, 'gate', shaped(i.x, h.shape, sw.dgate), i.x, projOpts(o, 'gate'));
  const ub = projBackwardRef(i, 'up', shaped(i.x, h.shape, sw.dup), i.x, projOpts(o, 'up'));
  const dx = gb.dx.map((v, q) => v + ub.dx[q]);
  return { dx, g, u, h, dh: d.dx, dg: sw.dgate, du: sw.dup, grads: { gate: gb, up: ub, down: d }, dims: { k, inter } };
}

/** The f32 model's factor of one gemm product of length l plus its epilogue and an f32-rounded α: 1 + γ_l(1+u)³ + γ_3 + u. */
const prodFactor = (dt: FloatDType, l: number) => 1 + accGamma(dt, l) * (1 + U32) ** 3 + gamma(3) + U32;

/**
 * First-order share of an error eDy in a projection's upstream gradient dy (swiglu's
 * backward output, or h's): its exact propagation through each product (dx: |δ|·|W| and
 * s/(1−p)·(|δ|·|B|)·|A| on kept elements; dA: s/(1−p)·(|δ|·|B|)ᵀ·|drop(x)|; dB: s·|δ|ᵀ·|xa|),
 * grown by two chained products' rounding factors (g = dy·B is rounded to the dtype, u_d,
 * before its product with A or x).
 */
function dyShare(i: MlpBackwardInputs, p: Proj, eDy: Float64Array, x: RefTensor, o: LoraOpts) {
  const w = i[weightName(p)]!;
  const [n, kin] = w.shape;
  const t = eDy.length / n;
  const dt = x.dtype as FloatDType;
  const ud = dt === 'f32' ? U32 : unitRoundoff(dt);
  const F = (prodFactor(dt, Math.max(n, t)) + ud) * prodFactor(dt, Math.max(t, kin, 1));
  const dx = mm(eDy, false, abs(w.data), false, t, kin, n);
  const a = i[`${p}A`];
  if (!a) return { dx: dx.map((v) => v * F) };
  const r = a.shape[0];
  const si = loraScale(o, r) / (1 - o.dropout);
  const { keep } = maskedX(x, o);
  const eg = mm(eDy, false, abs(i[`${p}B`]!.data), false, t, r, n);
  const hA = mm(eg, false, abs(a.data), false, t, kin, r);
  for (let q = 0; q < dx.length; q++) dx[q] = (dx[q] + (keep[q] ? si * hA[q] : 0)) * F;
  const xm = abs(x.data).map((v, q) => (keep[q] ? v : 0));
  const dA = mm(eg, true, xm, false, r, kin, t).map((v) => si * v * F);
  const dB = mm(eDy, true, abs(i[`${p}Xa`]!.data), false, n, r, t).map((v) => loraScale(o, r) * v * F);
  return { dx, dA, dB };
}

/**
 * A projection's backward bound before the rounding of dx to the dtype: fused_lora_backward's
 * (loraBackwardErrors, x's own error as an OperandError) or, without adapter, gemm's for
 * dx = dy·W (+ c: dxIn, the gate's dx rounded, with error eIn); then dy's error (dyShare).
 * With an adapter and dxIn, dxIn is added to the masked LoRA term in f32 and rounded to the
 * dtype before it enters dx's gemm as c: one f32 and one dtype rounding of M = |dxIn| + eIn +
 * |s/(1−p)·g·A| + E, and γ_3 of M in the gemm's epilogue, on top of eIn itself.
 */
function projBackwardErrors(i: MlpBackwardInputs, p: Proj, dy: RefTensor, eDy: Float64Array, x: RefTensor, xAbs: Float64Array | undefined, o: LoraOpts, dxIn?: { v: Float64Array; e: Float64Array }) {
  const w = i[weightName(p)]!;
  const [n, kin] = w.shape;
  const t = dy.data.length / n;
  const dt = x.dtype as FloatDType;
  const ud = dt === 'f32' ? 0 : unitRoundoff(dt);
  const sd = dt === 'f32' ? 0 : minSubnormal(dt);
  const g3 = gamma(3);
  const share = dyShare(i, p, eDy, x, o);
  const a = i[`${p}A`];
  let eDX: Float64Array;
  let eDA: Float64Array | undefined;
  let eDB: Float64Array | undefined;
  if (a) {
    const e = loraBackwardErrors({ dy, x, weight: w, loraA: a, loraB: i[`${p}B`]!, xa: i[`${p}Xa`]!, dAIn: i[`${p}DAIn`], dBIn: i[`${p}DBIn`] }, o, undefined, xAbs ? { rel: 0, abs: xAbs } : undefined);
    const si = loraScale(o, a.shape[0]) / (1 - o.dropout);
    eDX = e.eDX.map((v, q) => v + share.dx[q]);
    if (dxIn) {
      for (let q = 0; q < eDX.length; q++) {
        const M = Math.abs(dxIn.v[q]) + dxIn.e[q] + (e.b.keep[q] ? Math.abs(si * e.b.h[q]) : 0) + eDX[q];
        eDX[q] += dxIn.e[q] + (U32 + ud + g3) * (1 + U32) * M + sd * (1 + g3);
      }
    }
    eDA = e.eDA.map((v, q) => v + share.dA![q]);
    eDB = e.eDB.map((v, q) => v + share.dB![q]);
  } else {
    const S = mm(abs(dy.data), false, abs(w.data), false, t, kin, n);
    const f = accGamma(dt, n) * (1 + U32) ** 3;
    eDX = S.map((v, q) => f * v + g3 * (v + (dxIn ? Math.abs(dxIn.v[q]) + dxIn.e[q] : 0)) + (dxIn ? dxIn.e[q] : 0) + share.dx[q]);
  }
  return { eDX, eDA, eDB };
}

/**
 * The launch (src/backend/{webgpu,metal}/launchers/fused_mlp_backward.ts), each step's bound
 * from the functions of the ops it reuses:
 *   g', u': recomputed by the forward's launches (mlpForwardErrors' bounds, rounded to the
 *     dtype) or the saved inputs (exact); h' = swiglu(g', u') rounded (hError);
 *   dh' = the down projection's backward dx on h' (its error an OperandError of x), rounded;
 *   dg', du' = swiglu_backward(dh', g', u'): with E the rounded errors, telescoping
 *     dg' − dg = δdh·u'·S(g') + dh·δu·S(g') + dh·u·(S(g') − S(g)), S = silu' (|S| ≤ 1.1,
 *     1/2-Lipschitz), du' − du = δdh·silu(g') + dh·(silu(g') − silu(g)) (silu 1.1-Lipschitz),
 *     plus swiglu_backward's own evaluation bounds at the perturbed magnitudes
 *     (σ(1 + |g(1−σ)|) ≤ 1.1), then the rounding to the dtype;
 *   the gate and up projections' backward on dg', du' (projBackwardErrors), the up one
 *     summing the gate's dx (rounded) into its own.
 */
export function mlpBackwardErrors(i: MlpBackwardInputs, o: MlpOpts) {
  const b = mlpBackwardRef(i, o);
  const dt = i.x.dtype as FloatDType;
  const T = b.h.data.length;
  const zero = new Float64Array(T);
  let eG = zero;
  let eU = zero;
  if (o.recompute) {
    const fe = mlpForwardErrors(i, o);
    eG = fe.eG;
    eU = fe.eU;
  }
  // Saved g, u are exact inputs: no rounding of them happens (toDtype(·, 0) would add one).
  const Eg = o.recompute ? b.g.map((v, q) => toDtype(dt, v, eG[q])) : zero;
  const Eu = o.recompute ? b.u.map((v, q) => toDtype(dt, v, eU[q])) : zero;
  const hAbs = hError(dt, b.g, b.u, b.h.data, eG, eU, !o.recompute);
  const dn = projBackwardErrors(i, 'down', i.dy, new Float64Array(i.dy.data.length), b.h, hAbs, projOpts(o, 'down'));
  const Edh = b.dh.map((v, q) => toDtype(dt, v, dn.eDX[q]));
  const Edg = new Float64Array(T);
  const Edu = new Float64Array(T);
  for (let q = 0; q < T; q++) {
    const g = b.g[q];
    const u = b.u[q];
    const dh = b.dh[q];
    const k = ULP.exp(Math.abs(g) + Eg[q]) + ULP.div + 2;
    const propG = Edh[q] * (Math.abs(u) + Eu[q]) * SILU_LIP + Math.abs(dh) * Eu[q] * SILU_LIP + Math.abs(dh * u) * SILU2_LIP * Eg[q];
    const evalG = (2 * k + 6) * U32 * (Math.abs(dh) + Edh[q]) * (Math.abs(u) + Eu[q]) * SILU_LIP;
    Edg[q] = toDtype(dt, b.dg[q], propG + evalG);
    const silu = Math.abs(g * sigmoid(g));
    const propU = Edh[q] * (silu + SILU_LIP * Eg[q]) + Math.abs(dh) * SILU_LIP * Eg[q];
    const evalU = (k + 3) * U32 * (Math.abs(b.du[q]) + propU);
    Edu[q] = toDtype(dt, b.du[q], propU + evalU);
  }
  const dyOf = (v: Float64Array): RefTensor => ({ dtype: i.x.dtype, shape: b.h.shape, data: v });
  const ge = projBackwardErrors(i, 'gate', dyOf(b.dg), Edg, i.x, undefined, projOpts(o, 'gate'));
  const dxg = b.grads.gate.dx;
  const Edxg = dxg.map((v, q) => toDtype(dt, v, ge.eDX[q]));
  const ue = projBackwardErrors(i, 'up', dyOf(b.du), Edu, i.x, undefined, projOpts(o, 'up'), { v: dxg, e: Edxg });
  return { b, eDX: ue.eDX, eDA: { gate: ge.eDA, up: ue.eDA, down: dn.eDA }, eDB: { gate: ge.eDB, up: ue.eDB, down: dn.eDB } };
}
