import { unitRoundoff, type FloatDType } from '../../dtype.js';
import { FLUSH, softcapError } from '../cross_entropy/reference.js';
import { U32, ULP, boundsOf, gamma } from '../tolerance.js';
import type { AttnDims } from '../flash_attention_forward/dims.js';
import { defaultScale, type AttentionOptions } from '../flash_attention_forward/options.js';
import type { AttnLayout } from '../flash_attention_forward/reference.js';
import { rowTerms, type BwdInputs } from './reference.js';

/**
 * Per-element bounds of dq, dk, dv and dsinks for the backward kernels (f32 arithmetic, sums
 * in any order, FMA or not; u = 2^-24; the inputs — q, k, v, o, dO, the f32 lse and sinks —
 * reach the kernel exactly). Per (row, key) term:
 *   x = fl(s·fl(q·k)):  δx = |s|·γ_D·A·(1+u) + 2u·|x|  (A = Σ|q_d k_d|; the f32 scale's rounding)
 *   z (softcap):        δz = sech²·δx + dz(x) (softcapError), else δz = δx
 *   P = exp(fl(z − lse)), relative  ρP = expm1(δz) + u·|z − lse| + ULP.exp(z − lse)·u
 *   D = fl(dO·o), dP = fl(dO·v): absolute γ_Dv·C and γ_Dv·B (C = Σ|dO·o|, B = Σ|dO·v|)
 *   t = dP − D:         δt = γ_Dv·(B + C) + u·|t|
 *   dZ = P·t:           E_dZ = |P|·(δt + u·|t|) + ρP·|P·t|
 *   dX = dZ·s (softcap: s = sech² from the kernel's softcap, relative sRel + sAbs, and moved by
 *        its argument's error: |ds/dx| ≤ 2s/cap):  E_dX = s·E_dZ + |dZ|·(s·sRel + sAbs + 2s·δx/cap)
 *        + u·|dX|; without a softcap E_dX = E_dZ.
 * Sums: dq_i = s·Σ_j dX·k_j over the row's n keys, dk_j = s·Σ_i dX·q_i over the m rows that
 * see key j (every head of its group): |Δ| ≤ |s|·Σ (E_dX·|k| + γ_{n+1}·|dX·k|) + u·|result| (the
 * scale). dv_j = Σ_i P·dO_i: Σ (ρP·|P·dO| + γ_{m+1}·|P·dO|). dsink_h = −Σ_rows P_s·D with
 * P_s = exp(sink − lse): Σ (|P_s|·(ρ_s·|D| + γ_Dv·C) + γ_{R+1}·|P_s·D|). Results below 2^-126
 * may flush (WGSL): 4·FLUSH per term, times the other factor's magnitude. Then one rounding to
 * the output dtype. Malformed cu_seqlens give NaN, which must be matched exactly.
 * f16 (the subgroup-matrix tier, wgsl/attention/fa_bwd_*_sgmat.wgsl, and the Metal 4 tier,
 * msl/attention/fa_bwd_*_mpp.metal, which rounds P and dS to f16 the same way): the dots q·k and dO·v run
 * on matrix units that truncate (γ_2D, γ_2Dv, as gemm's bound), P and dX are rounded to f16
 * before their products by WGSL's conversion, which may round to either neighbour: 2·u_f16
 * relative, or < 2^-24 absolute below 2^-14 (E_dX += 2u16·|dX| + 2^-24 in dq/dk; dv:
 * ρP += 2u16 and 2^-24·|dO| per term), and the three sums accumulate there too (γ_{2n+2}
 * for γ_{n+1}).
 */
export function attentionBackwardBounds(
  i: BwdInputs,
  o: AttentionOptions,
  dm: AttnDims,
  lay: AttnLayout,
  ref: { dq: Float64Array; dk: Float64Array; dv: Float64Array; dsinks?: Float64Array },
) {
  const dtype = i.q.dtype as FloatDType;
  const u = U32;
  const scale = defaultScale(o, dm.d);
  const as = Math.abs(scale);
  const f16 = dtype === 'f16';
  const gD = f16 ? gamma(2 * dm.d) : gamma(dm.d);
  const gDv = f16 ? gamma(2 * dm.dv) : gamma(dm.dv);
  const u16 = f16 ? 2 * unitRoundoff('f16') : 0;
  const a16 = f16 ? 2 ** -24 : 0;
  // Σ of per-term absolute errors and of term magnitudes, per output element; term counts.
  const eq = new Float64Array(ref.dq.length);
  const mq = new Float64Array(ref.dq.length);
  const nq = new Float64Array(ref.dq.length);
  const ek = new Float64Array(ref.dk.length);
  const mk = new Float64Array(ref.dk.length);
  const nk = new Float64Array(ref.dk.length);
  const ev = new Float64Array(ref.dv.length);
  const mv = new Float64Array(ref.dv.length);
  const nv = new Float64Array(ref.dv.length);
  const es = new Float64Array(dm.hq);
  const ms = new Float64Array(dm.hq);
  const ns = new Float64Array(dm.hq);
  if (lay.valid) {
    for (const row of lay.rows) {
      const r = rowTerms(i, row, dm, scale, o);
      if (i.sinks) {
        const sink = i.sinks.data[row.h];
        const ps = Math.exp(sink - r.lse);
        const rho = u * Math.abs(sink - r.lse) + ULP.exp(sink - r.lse) * u;
        es[row.h] += Math.abs(ps) * (rho * Math.abs(r.d) + gDv * r.absD) + 2 * FLUSH * (1 + Math.abs(r.d));
        ms[row.h] += Math.abs(ps * r.d);
        ns[row.h] += 1;
      }
      for (const t of r.terms) {
        const dx = as * gD * t.absQK * (1 + u) + 2 * u * Math.abs(t.x);
        const cap = o.softcap;
        const dz = cap === undefined ? dx : t.s * dx + softcapError(t.x, cap).dz;
        const rhoP = Math.expm1(dz) + u * Math.abs(t.z - r.lse) + ULP.exp(t.z - r.lse) * u;
        const tt = t.dp - r.d;
        const dt = gDv * (t.absDOV + r.absD) + u * Math.abs(tt);
        const eZ = Math.abs(t.p) * (dt + u * Math.abs(tt)) + rhoP * Math.abs(t.p * tt) + FLUSH * (1 + Math.abs(tt));
        let eX = eZ;
        if (cap !== undefined) {
          const se = softcapError(t.x, cap);
          eX = t.s * eZ + Math.abs(t.dz) * (t.s * se.sRel + se.sAbs + (2 * t.s * dx) / cap) + u * Math.abs(t.dx);
        }
        eX += u16 * Math.abs(t.dx) + a16;
        for (let x = 0; x < dm.d; x++) {
          const kx = Math.abs(i.k.data[t.k + x]);
          const qx = Math.abs(i.q.data[row.q + x]);
          eq[row.q + x] += as * (eX * kx + 2 * FLUSH);
          mq[row.q + x] += as * Math.abs(t.dx) * kx;
          nq[row.q + x] += 1;
          ek[t.k + x] += as * (eX * qx + 2 * FLUSH);
          mk[t.k + x] += as * Math.abs(t.dx) * qx;
          nk[t.k + x] += 1;
        }
        for (let c = 0; c < dm.dv; c++) {
          const m = Math.abs(t.p * i.dO.data[row.o + c]);
          ev[t.v + c] += (rhoP + u16) * m + a16 * Math.abs(i.dO.data[row.o + c]) + 2 * FLUSH;
          mv[t.v + c] += m;
          nv[t.v + c] += 1;
        }
      }
    }
  }
  const fin = (e: Float64Array, m: Float64Array, n: Float64Array, refv: Float64Array, extra: number) => (j: number) =>
    e[j] + (f16 ? gamma(2 * n[j] + 2) : gamma(n[j] + 1)) * m[j] + extra * u * Math.abs(refv[j]);
  const exact = (b: Float64Array, refv: Float64Array) => {
    for (let j = 0; j < refv.length; j++) if (!Number.isFinite(refv[j])) b[j] = 0;
    return b;
  };
  return {
    dq: exact(boundsOf(dtype, ref.dq, fin(eq, mq, nq, ref.dq, 1)), ref.dq),
    dk: exact(boundsOf(dtype, ref.dk, fin(ek, mk, nk, ref.dk, 1)), ref.dk),
    dv: exact(boundsOf(dtype, ref.dv, fin(ev, mv, nv, ref.dv, 0)), ref.dv),
    ...(ref.dsinks ? { dsinks: exact(boundsOf('f32', ref.dsinks, fin(es, ms, ns, ref.dsinks, 0)), ref.dsinks) } : {}),
  };
}
