import { unitRoundoff, type FloatDType } from '../../dtype.js';
import { FLUSH, softcapError } from '../cross_entropy/reference.js';
import { U32, ULP, boundsOf, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import type { AttnDims } from './dims.js';
import { defaultScale, type AttentionOptions } from './options.js';
import { rowLogits, type AttnLayout } from './reference.js';

/**
 * The kernels' online softmax rescales lazily: the running max m moves only when a block of
 * keys has a logit above m + RESCALE_SLACK (natural log units), so every weight exp(z − m)
 * stays ≤ e^8 (fits f32 sums, and f16 when P feeds matrix units) and a row rescales at most
 * 1 + (range of its logits)/RESCALE_SLACK times, whatever the block size. The kernels use
 * this constant (ATTN_TAU in WGSL and MSL).
 */
export const RESCALE_SLACK = 8;

/**
 * Per-element bounds of o and lse for the forward kernels (any block sizes, any order of the
 * sums, FMA or not). u = 2^-24; the inputs reach the kernel exactly (16-bit → f32 is exact).
 *
 * 1. Logits. t̂_j = fl(q·k_j): |t̂ − t| ≤ γ·A_j with A_j = Σ_d |q_d k_jd|, γ = γ_D (f32 SIMT
 *    sums round to nearest; 16-bit products are exact) or γ_2D for f16 (the subgroup-matrix
 *    tier accumulates in matrix units that truncate, as gemm's bound). x̂ = fl(s·t̂) with the
 *    f32 scale s (one rounding of the host's scale, one of the product):
 *        δx_j = |s|·γ·A_j·(1+u) + 2u·|x_j|
 *    With a softcap z = c·tanh(x/c) (wgsl/loss/softcap.wgsl, error model softcapError):
 *        δz_j = sech²(x_j/c)·δx_j + dz(x_j)            else δz_j = δx_j.
 * 2. Weights. A weight enters as exp(ẑ_j − m_t) at the running max of its block and is then
 *    multiplied by α = exp(m_old − m_new) at each later rescale; the arguments telescope to
 *    ẑ_j − m_final, and with the lazy rescale their |·| sum to W_j ≤ |z_j − m| + 3τ + 2δ
 *    (m: the true row max over keys and sink, τ = RESCALE_SLACK, δ = max δz). Each exp costs
 *    ULP.exp(arg) = (6 + 4|arg|)u, each subtraction u·|arg|; with R rescales,
 *        R ≤ 1 + (max z − min z + 2δ)/τ  (z over the visible keys and the sink),
 *    weight j carries the relative error  ρ_j = expm1(δz_j) + (6 + 6R + 5·W_j)·u. The same α
 *    multiplies the numerator and the denominator, so these errors perturb the softmax
 *    weights consistently: o' − o = Σ_j p_j ρ_j (v_j − o') / (1 + Σ p_j ρ_j), i.e.
 *        |Δo_c| ≤ (Σ_j p_j ρ_j |v_jc − o_c| + p_sink ρ_sink |o_c|) / (1 − max ρ)
 *    (the sink is a key with v = 0 that joins the denominator only).
 * 3. Sums. Numerator Σ_j ŵ_j v_jc: γ_{n+1} (a product and an n-term sum; f16: γ_{2n+2}, the
 *    matrix units) plus u per rescale (the product by α) plus, for f16, one rounding of each
 *    weight to f16 before the matrix units: relative (γ + R·u + u_P)·Σ_j p_j |v_jc|. That
 *    rounding is WGSL's f32→f16 conversion, which may round to either neighbour (faithful):
 *    u_P = 2·u_f16 relative for normal weights, and a weight below 2^-14 is off by < 2^-24
 *    absolutely — over l ≥ 1 (the weight of the logit that set the final max is 1) that adds
 *    2^-24·Σ_j |v_jc| to o_c.
 *    Denominator l = Σ ŵ_j (+ the sink): γ_{n+1} + R·u; the division 2.5 ulp (ULP.div):
 *    relative (γ_{n+1} + R·u + ULP.div·u)·|o_c|. Results below 2^-126 may flush to zero
 *    (WGSL): 2(n+1)·FLUSH·(1 + max|v|) absolutely.
 * 4. lse = m + log(l): Σ p_j ρ_j + p_sink ρ_sink (log(1+r) ≤ r) + γ_{n+1} + R·u (l's sums)
 *    + log's error (absolute 2^-21 for l in [0.5, 2], else 3 ulp of |log l| ≤ log(n+1) + τ:
 *    the larger of the two) + u·|lse| (the add).
 * Then one rounding to the output dtype (toDtype). A row that sees no key (and has no sink)
 * is exactly o = 0, lse = −∞; NaN outputs (malformed cu_seqlens) must match NaN.
 * `splitCombine` (decode_attention: the keys split over workgroups, partial (m, l, acc)
 * combined by a second pass): one more rescale per weight (exp(m_s − M), the same factor on
 * a split's numerator and denominator) and sums over up to n + 1 partials: R + 1 and every
 * γ_{n+1} becomes γ_{2n+2}.
 */
export function attentionForwardBounds(
  i: { q: RefTensor; k: RefTensor; v: RefTensor; sinks?: RefTensor },
  o: AttentionOptions,
  dm: AttnDims,
  lay: AttnLayout,
  ref: { o: Float64Array; lse: Float64Array },
  splitCombine = false,
) {
  const dtype = i.q.dtype as FloatDType;
  const f16 = dtype === 'f16';
  const u = U32;
  const tau = RESCALE_SLACK;
  const scale = defaultScale(o, dm.d);
  const gDot = f16 ? gamma(2 * dm.d) : gamma(dm.d);
  const uP = f16 ? 2 * unitRoundoff('f16') : 0;
  const aP = f16 ? 2 ** -24 : 0;
  const eo = new Float64Array(ref.o.length);
  const el = new Float64Array(ref.lse.length);
  const v = i.v.data;
  for (const row of lay.rows) {
    const sink = i.sinks?.data[row.h];
    const r = rowLogits(i.q.data, i.k.data, row, dm, scale, o, sink);
    if (r.l === 0) continue; // o = 0, lse = −∞ exactly
    const n = r.n;
    const dz = new Float64Array(n);
    let dmax = 0;
    let zmin = sink ?? Infinity;
    let zmax = sink ?? -Infinity;
    for (let j = 0; j < n; j++) {
      const dx = Math.abs(scale) * gDot * r.absDot[j] * (1 + u) + 2 * u * Math.abs(r.x[j]);
      if (o.softcap === undefined) dz[j] = dx;
      else {
        const sech2 = 1 - Math.tanh(r.x[j] / o.softcap) ** 2;
        dz[j] = sech2 * dx + softcapError(r.x[j], o.softcap).dz;
      }
      dmax = Math.max(dmax, dz[j]);
      zmin = Math.min(zmin, r.z[j]);
      zmax = Math.max(zmax, r.z[j]);
    }
    const R = 1 + Math.floor((zmax - zmin + 2 * dmax) / tau) + (splitCombine ? 1 : 0);
    // Terms of the sums: the n weights (and the sink), or as many again partials to combine.
    const terms = splitCombine ? 2 * n + 2 : n + 1;
    const rhoOf = (z: number, d: number) => Math.expm1(d) + (6 + 6 * R + 5 * (Math.abs(z - r.m) + 3 * tau + 2 * dmax)) * u;
    const p = new Float64Array(n);
    const rho = new Float64Array(n);
    let rhoMax = 0;
    let consistent = 0; // Σ p_j ρ_j (+ the sink's)
    for (let j = 0; j < n; j++) {
      p[j] = Math.exp(r.z[j] - r.m) / r.l;
      rho[j] = rhoOf(r.z[j], dz[j]);
      rhoMax = Math.max(rhoMax, rho[j]);
      consistent += p[j] * rho[j];
    }
    const pSink = sink === undefined ? 0 : Math.exp(sink - r.m) / r.l;
    const rhoSink = sink === undefined ? 0 : rhoOf(sink, 0);
    rhoMax = Math.max(rhoMax, rhoSink);
    consistent += pSink * rhoSink;
    const gNum = (f16 ? gamma(2 * terms) : gamma(terms)) + R * u + uP;
    const gDen = gamma(terms) + R * u;
    let vmax = 0;
    for (let c = 0; c < dm.dv; c++) {
      const oc = ref.o[row.o + c];
      let spread = pSink * rhoSink * Math.abs(oc);
      let mag = 0;
      let vsum = 0;
      for (let j = 0; j < n; j++) {
        const vj = v[row.v0 + (row.lo + j) * dm.v.s + c];
        spread += p[j] * rho[j] * Math.abs(vj - oc);
        mag += p[j] * Math.abs(vj);
        vsum += Math.abs(vj);
        vmax = Math.max(vmax, Math.abs(vj));
      }
      eo[row.o + c] = spread / (1 - rhoMax) + gNum * mag + aP * vsum + (gDen + ULP.div * u) * Math.abs(oc);
    }
    const flush = 2 * (n + 1) * FLUSH * (1 + vmax);
    for (let c = 0; c < dm.dv; c++) eo[row.o + c] += flush;
    const logErr = Math.max(2 ** -21, ULP.log * u * (Math.log(terms) + tau));
    el[row.lse] = consistent / (1 - rhoMax) + gDen + logErr + u * Math.abs(ref.lse[row.lse]) + 2 * (n + 1) * FLUSH;
  }
  return { o: exactWhereInfinite(boundsOf(dtype, ref.o, (j) => eo[j]), ref.o), lse: exactWhereInfinite(boundsOf('f32', ref.lse, (j) => el[j]), ref.lse) };
}

/** −∞ (a row that sees nothing) and NaN (malformed cu_seqlens) must be matched exactly: bound 0, not u·∞. */
function exactWhereInfinite(bound: Float64Array, ref: Float64Array): Float64Array {
  for (let j = 0; j < ref.length; j++) if (!Number.isFinite(ref[j])) bound[j] = 0;
  return bound;
}
