import type { FloatDType } from '../../dtype.js';
import { loraBackwardErrors, loraBackwardRef } from '../fused_lora_backward/reference.js';
import type { LoraOpts } from '../fused_lora_forward/reference.js';
import { normalised, normOperandError } from '../fused_norm_lora/reference.js';
import { rmsNormBackwardRef } from '../rms_norm_backward/reference.js';
import { U32, toDtype } from '../tolerance.js';
import type { RefTensor } from '../types.js';

export interface NormLoraBackwardInputs {
  dy: RefTensor;
  x: RefTensor;
  gamma: RefTensor;
  weight: RefTensor;
  loraA: RefTensor;
  loraB: RefTensor;
  rstd: RefTensor;
  xa: RefTensor;
  dAIn?: RefTensor;
  dBIn?: RefTensor;
}

/**
 * Float64, from the saved rstd and xa: n = x·rstd·γ (recomputed), then fused_lora_backward
 * on n — dA, dB and dn = dy·W + s·((dy·B)·A) ⊙ mask/(1−p) — then RMSNorm's backward of dn:
 *   dx = rstd·γ⊙dn − x·rstd³/K·Σ dn·γ·x,   dγ = Σ_rows dn·x·rstd.
 */
export function normLoraBackwardRef(i: NormLoraBackwardInputs, o: LoraOpts) {
  const n = normalised(i.x, i.gamma, i.rstd.data);
  const l = loraBackwardRef({ dy: i.dy, x: n, weight: i.weight, loraA: i.loraA, loraB: i.loraB, xa: i.xa, dAIn: i.dAIn, dBIn: i.dBIn }, o);
  const dn: RefTensor = { dtype: i.x.dtype, shape: i.x.shape, data: l.dx };
  const nb = rmsNormBackwardRef(dn, i.x, i.gamma, i.rstd.data);
  return { l, n, dn, nb, dx: nb.dx, dGamma: nb.dw, dA: l.dA, dB: l.dB, dims: l.dims };
}

/**
 * Bounds before the rounding to each output's dtype. The launch: fused_lora_backward's five
 * products on n (dA reads n as the forward's products do, from x, the saved rstd and γ:
 * normOperandError with ρ = 0), dn rounded to the dtype (E_dn' = toDtype(dn, E_dn)), then
 * rms_norm_backward with the saved rstd (its bound with rErr = 1: k_x = (K + 9)·u,
 * k_w = (T + 3)·u) on dn', whose error propagates to first order:
 *   E_dx = k_x·|dx|ₘ + (1 + k_x)·(rstd·|γ|·E_dn' + |x|·rstd³/K·Σ E_dn'·|γ·x|)
 *   E_dγ = k_w·|dγ|ₘ + (1 + k_w)·Σ_rows E_dn'·|x|·rstd
 * (|·|ₘ: the same sums over absolute values).
 */
export function normLoraBackwardErrors(i: NormLoraBackwardInputs, o: LoraOpts) {
  const b = normLoraBackwardRef(i, o);
  const { k, t } = b.dims;
  const dt = i.x.dtype as FloatDType;
  const e = loraBackwardErrors({ dy: i.dy, x: b.n, weight: i.weight, loraA: i.loraA, loraB: i.loraB, xa: i.xa, dAIn: i.dAIn, dBIn: i.dBIn }, o, undefined, normOperandError(dt, k, false));
  const eDn = b.l.dx.map((v, q) => toDtype(dt, v, e.eDX[q]));
  const kx = (k + 9) * U32;
  const kw = (t + 3) * U32;
  const r = i.rstd.data;
  const g = i.gamma.data;
  const x = i.x.data;
  const eDX = new Float64Array(t * k);
  const eDG = new Float64Array(k);
  for (let row = 0; row < t; row++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += eDn[row * k + j] * Math.abs(g[j] * x[row * k + j]);
    const c = (r[row] ** 3 / k) * s;
    for (let j = 0; j < k; j++) {
      const q = row * k + j;
      eDX[q] = kx * b.nb.dxMag[q] + (1 + kx) * (r[row] * Math.abs(g[j]) * eDn[q] + Math.abs(x[q]) * c);
      eDG[j] += (1 + kw) * eDn[q] * Math.abs(x[q]) * r[row];
    }
  }
  for (let j = 0; j < k; j++) eDG[j] += kw * b.nb.dwMag[j];
  return { b, eDX, eDG, eDA: e.eDA, eDB: e.eDB };
}
