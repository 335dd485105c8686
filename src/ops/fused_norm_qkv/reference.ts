import type { FloatDType } from '../../dtype.js';
import { projErrors } from '../fused_mlp/reference.js';
import { mm } from '../fused_lora_forward/reference.js';
import { rmsNormRef } from '../rms_norm/reference.js';
import { ropeApply } from '../rope/apply.js';
import { ropeOptions } from '../rope/options.js';
import { U32, toDtype } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { QKV, type NormQkvDims } from './check.js';
import type { NormQkvOpts } from './options.js';

export type NormQkvInputs = Record<string, RefTensor | undefined> & { x: RefTensor; gamma: RefTensor; wq: RefTensor; wk: RefTensor; wv: RefTensor };

/** The head layout of a call with positions (check.ts resolved it; here from the inputs again). */
function ropeHeads(i: NormQkvInputs, o: NormQkvOpts): NormQkvDims['rope'] {
  if (!i.positions || !o.heads) return undefined;
  return { hq: o.heads.q, hkv: o.heads.kv, d: i.wq.shape[0] / o.heads.q };
}

/**
 * Float64, the separate ops' composition without their roundings: s = x (+ residual),
 * n = rms_norm(s)·γ, q/k/v = n·Wᵀ (+ b), then q and k rotated by the rope op's rotation at
 * `positions` (as [T, heads, D]).
 */
export function normQkvRef(i: NormQkvInputs, o: NormQkvOpts) {
  const [t, k] = i.x.shape;
  const { h, y: n } = rmsNormRef(i.x, i.gamma, i.residual, o.eps);
  const heads = ropeHeads(i, o);
  const ropeO = o.rope ?? ropeOptions.parse({});
  const out: Record<'q' | 'k' | 'v', Float64Array> = { q: new Float64Array(0), k: new Float64Array(0), v: new Float64Array(0) };
  for (const p of QKV) {
    const w = i[p.w]!;
    const cols = w.shape[0];
    let y = mm(n, false, w.data, true, t, cols, k);
    const b = i[p.b];
    if (b) for (let e = 0; e < y.length; e++) y[e] += b.data[e % cols];
    if (heads && p.y !== 'v') {
      const hh = p.y === 'q' ? heads.hq : heads.hkv;
      y = ropeApply({ dtype: i.x.dtype, shape: [t, hh, heads.d], data: y }, i.positions, ropeO, 1).out;
    }
    out[p.y] = y;
  }
  return { h, n, ...out };
}

/**
 * The launches' rounding points are those of the separate ops (rms_norm, gemm, rope), and so
 * is the bound, stage by stage:
 *  - residualOut: the f32 add, then the dtype (rms_norm's bound);
 *  - n: rms_norm's f32 bound (K/2 + 10)·U32·|n|, then the rounding to the dtype (toDtype): the
 *    products' operand error, per element;
 *  - q/k/v before rope: gemm's bound (projErrors: γ_K, or γ_2K for f16, of S = Σ|n·W|, the
 *    operand error's share Σ|δ|·|W|, the epilogue's γ_3) plus u·|bias| (the bias add's one
 *    rounding), then the dtype;
 *  - with positions, q and k: the rope op's bound taken on those rounded values as its input
 *    (ropeApply's inErr: the rotation's own error on |q| + E, plus the rotated input error),
 *    then the dtype. v is the product alone.
 * The webgpu GEMV kernel rounds at the same points (n to the dtype before the products, q/k to
 * the dtype before the rotation), so this one bound covers every plan.
 */
export function normQkvErrors(i: NormQkvInputs, o: NormQkvOpts) {
  const f = normQkvRef(i, o);
  const dt = i.x.dtype as FloatDType;
  const [t, k] = i.x.shape;
  const kn = (k / 2 + 10) * U32;
  const nErr = f.n.map((v) => toDtype(dt, v, kn * Math.abs(v)));
  const nT: RefTensor = { dtype: dt, shape: [t, k], data: f.n };
  const heads = ropeHeads(i, o);
  const ropeO = o.rope ?? ropeOptions.parse({});
  const lora = { alpha: undefined, dropout: 0, seed: 0 };
  const errs: Record<'q' | 'k' | 'v', Float64Array> = { q: new Float64Array(0), k: new Float64Array(0), v: new Float64Array(0) };
  for (const p of QKV) {
    const w = i[p.w]!;
    const cols = w.shape[0];
    const e = projErrors(nT, w, undefined, undefined, lora, { rel: 0, abs: nErr }).eY;
    const b = i[p.b];
    if (b) for (let q = 0; q < e.length; q++) e[q] += U32 * Math.abs(b.data[q % cols]);
    if (heads && p.y !== 'v') {
      // The product as the rope reads it: exact value (without the rotation) and its bound after rounding.
      let y = mm(f.n, false, w.data, true, t, cols, k);
      if (b) y = y.map((v, q) => v + b.data[q % cols]);
      const inErr = y.map((v, q) => toDtype(dt, v, e[q]));
      const hh = p.y === 'q' ? heads.hq : heads.hkv;
      errs[p.y] = ropeApply({ dtype: dt, shape: [t, hh, heads.d], data: y }, i.positions, ropeO, 1, dt, inErr).bound!;
    } else {
      errs[p.y] = f[p.y].map((v, q) => toDtype(dt, v, e[q]));
    }
  }
  const residualOut = i.residual ? f.h.map((v) => toDtype(dt, v, U32 * Math.abs(v))) : undefined;
  return { f, errs, residualOut };
}
