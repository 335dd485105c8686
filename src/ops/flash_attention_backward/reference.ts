import type { RefTensor } from '../types.js';
import type { AttnDims } from '../flash_attention_forward/dims.js';
import { defaultScale, type AttentionOptions } from '../flash_attention_forward/options.js';
import { attnLayout, capped, rawScore, type AttnRow } from '../flash_attention_forward/reference.js';

export interface BwdInputs {
  q: RefTensor;
  k: RefTensor;
  v: RefTensor;
  o: RefTensor;
  dO: RefTensor;
  lse: RefTensor;
  sinks?: RefTensor;
  cuSeqlensQ?: RefTensor;
  cuSeqlensK?: RefTensor;
}

/** One (row, key) term of the backward, from the forward's lse (FlashAttention-2 recompute). */
export interface BwdTerm {
  /** Key position in the sequence and its element offsets in k and v. */
  j: number;
  k: number;
  v: number;
  x: number;
  z: number;
  /** P = exp(z − lse), dP = dO·v_j, dZ = P·(dP − D), dX = dZ·∂z/∂x. */
  p: number;
  dp: number;
  dz: number;
  dx: number;
  /** ∂z/∂x: sech²(x/cap) with a softcap, else 1. */
  s: number;
  /** Σ_d |q_d k_jd| and Σ_c |dO_c v_jc| (for the bounds). */
  absQK: number;
  absDOV: number;
}

/** The terms of one row and its D = dO·o. */
export function rowTerms(i: BwdInputs, row: AttnRow, dm: AttnDims, scale: number, o: AttentionOptions) {
  let dd = 0;
  let absD = 0;
  for (let c = 0; c < dm.dv; c++) {
    const t = i.dO.data[row.o + c] * i.o.data[row.o + c];
    dd += t;
    absD += Math.abs(t);
  }
  const lse = i.lse.data[row.lse];
  const terms: BwdTerm[] = [];
  for (let j = row.lo; j <= row.hi; j++) {
    const r = rawScore(i.q.data, i.k.data, row, j, dm.d, dm.k.s);
    const x = scale * r.t;
    const z = capped(x, o.softcap);
    const s = o.softcap === undefined ? 1 : 1 - Math.tanh(x / o.softcap) ** 2;
    const p = Math.exp(z - lse);
    const vo = row.v0 + j * dm.v.s;
    let dp = 0;
    let absDOV = 0;
    for (let c = 0; c < dm.dv; c++) {
      const t = i.dO.data[row.o + c] * i.v.data[vo + c];
      dp += t;
      absDOV += Math.abs(t);
    }
    const dz = p * (dp - dd);
    terms.push({ j, k: row.k0 + j * dm.k.s, v: vo, x, z, p, dp, dz, dx: dz * s, s, absQK: r.abs, absDOV });
  }
  return { d: dd, absD, lse, terms };
}

/**
 * The gradients of attention in float64, a plain loop per query row and visible key, from the
 * forward's o and lse (as the kernels: P = exp(z − lse), D = dO·o):
 *   dv_j += P·dO,  dZ = P·(dO·v_j − D),  dX = dZ·∂z/∂x,  dq += scale·dX·k_j,  dk_j += scale·dX·q,
 *   dsink_h = −Σ_rows exp(sink_h − lse)·D.
 * Malformed cu_seqlens: every element of every output is NaN.
 */
export function attentionBackwardRef(i: BwdInputs, o: AttentionOptions, dm: AttnDims) {
  const lay = attnLayout(dm, o, i.cuSeqlensQ?.data, i.cuSeqlensK?.data);
  const dq = new Float64Array(i.q.data.length);
  const dk = new Float64Array(i.k.data.length);
  const dv = new Float64Array(i.v.data.length);
  const dsinks = i.sinks ? new Float64Array(dm.hq) : undefined;
  if (!lay.valid) {
    for (const a of [dq, dk, dv, dsinks]) a?.fill(NaN);
    return { dq, dk, dv, dsinks, lay };
  }
  const scale = defaultScale(o, dm.d);
  for (const row of lay.rows) {
    const r = rowTerms(i, row, dm, scale, o);
    if (dsinks) dsinks[row.h] -= Math.exp(i.sinks!.data[row.h] - r.lse) * r.d;
    for (const t of r.terms) {
      for (let x = 0; x < dm.d; x++) {
        dq[row.q + x] += scale * t.dx * i.k.data[t.k + x];
        dk[t.k + x] += scale * t.dx * i.q.data[row.q + x];
      }
      for (let c = 0; c < dm.dv; c++) dv[t.v + c] += t.p * i.dO.data[row.o + c];
    }
  }
  return { dq, dk, dv, dsinks, lay };
}
