import { rowsCols } from '../check.js';
import { ULP, U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { lseError as onlineLseError, onlineSumError, onlineTermError } from '../cross_entropy/reference.js';

export type DistillLoss = 'kl' | 'reverse_kl' | 'js' | 'soft_ce';

/** The parsed options both distillation ops share (see spec.ts). */
export interface DistillOpts {
  loss: DistillLoss;
  temperature: number;
  reduction: 'mean' | 'sum' | 'none';
}

/** The smallest normal f32: WGSL may flush anything below it to zero. */
const FLUSH = 2 ** -126;
/** WGSL log's absolute error on [0.5, 2] (3 ulp = 6u relative elsewhere). */
const LOG_ABS = 2 ** -21;
const u = U32;
const expErr = (x: number) => ULP.exp(x) * u;

/** lse of one row of x/τ in float64, and its kernel error bound (see distillRowErrors). */
function lseRow(x: Float64Array, off: number, v: number, tau: number) {
  let m = -Infinity;
  for (let j = 0; j < v; j++) m = Math.max(m, x[off + j] / tau);
  let s = 0;
  for (let j = 0; j < v; j++) s += Math.exp(x[off + j] / tau - m);
  return m + Math.log(s);
}

/**
 * metal's two-pass lse of s = z/τ (pass 1 the max M of x_j = fl(z_j·fl(1/τ)), pass 2
 * S = Σ exp(fl(x_j − M)), then fl(M + log S)), against the true log Σ exp(s_j):
 *   x_j errs by ex_j = 2u·|s_j| (1/τ's rounding and the product); shifting by any M is exact
 *   in the math, so term j carries ρ_j = ex_j + u·|d_j| (the subtraction) + ULP.exp(|d_j|)·u
 *   relative, d_j = s_j − M; S: Σ_j w_j·ρ_j + γ_V + V·2^-126 (flushed terms, S ≥ 1) with
 *   w_j = softmax_j; log S: ρ_S/(1 − ρ_S) + max(2^-21, 6u·|log S|); the final add u·|lse|.
 */
function twoPassLseError(x: Float64Array, off: number, v: number, tau: number, lse: number): number {
  let m = -Infinity;
  for (let j = 0; j < v; j++) m = Math.max(m, x[off + j] / tau);
  let rho = 0;
  for (let j = 0; j < v; j++) {
    const s = x[off + j] / tau;
    const d = Math.abs(s - m);
    rho += Math.exp(s - lse) * (2 * u * Math.abs(s) + u * d + expErr(d));
  }
  rho += gamma(v) + v * FLUSH;
  const logS = lse - m;
  return rho / (1 - rho) + Math.max(LOG_ABS, ULP.log * u * Math.abs(logS)) + u * Math.abs(lse);
}

/**
 * The lse bound of both kernels' arithmetic, the larger of the two models: metal's two passes
 * (twoPassLseError) and WGSL's one online log2-domain pass (loss/distill.wgsl through
 * loss/lse_online.wgsl: cross_entropy's lseError, its logits being x_j = fl(z_j·fl(1/τ)),
 * whose error against s_j = z_j/τ is ≤ (2u + u²)|s_j| — 1/τ's rounding and the product).
 */
function lseError(x: Float64Array, off: number, v: number, tau: number, lse: number): number {
  const s = new Float64Array(v);
  const ds = new Float64Array(v);
  for (let j = 0; j < v; j++) {
    s[j] = x[off + j] / tau;
    ds[j] = (2 * u + u * u) * Math.abs(s[j]);
  }
  return Math.max(twoPassLseError(x, off, v, tau, lse), onlineLseError(s, ds, 0, v, lse));
}

/** Per element: the exact log-probabilities and their kernel errors e = ex + E_lse + u·|log p| (fl(x − lse)). */
interface RowLogs {
  lq: Float64Array;
  lp: Float64Array;
  elq: Float64Array;
  elp: Float64Array;
}

function rowLogs(s: Float64Array, t: Float64Array, off: number, v: number, tau: number, lseS: number, lseT: number, eLseS: number, eLseT: number): RowLogs {
  const r: RowLogs = { lq: new Float64Array(v), lp: new Float64Array(v), elq: new Float64Array(v), elp: new Float64Array(v) };
  for (let j = 0; j < v; j++) {
    const xs = s[off + j] / tau;
    const xt = t[off + j] / tau;
    r.lq[j] = xs - lseS;
    r.lp[j] = xt - lseT;
    r.elq[j] = 2 * u * Math.abs(xs) + eLseS + u * Math.abs(r.lq[j]);
    r.elp[j] = 2 * u * Math.abs(xt) + eLseT + u * Math.abs(r.lp[j]);
  }
  return r;
}

/** exp of a log-probability with error e: relative e + exp's own (and an absolute flush of 2^-126). */
const probErr = (l: number, e: number) => e + expErr(Math.abs(l));

/**
 * JS's log m = log((p + q)/2) as the kernels form it: a = max(lp, lq), b = min;
 * lm = fl(a + log(fl(0.5 + 0.5·exp(fl(b − a))))) — the log's argument in [0.5, 1], where
 * WGSL's log errs by 2^-21 absolutely. Error: e_a + (0.5e/w)·(ε_exp + e_a + e_b + u|b − a|)
 * + u (the add inside) + 2^-21 + u·|lm|.
 */
export function logMixture(lp: number, lq: number, elp: number, elq: number): { lm: number; e: number } {
  const [a, ea, b, eb] = lp >= lq ? [lp, elp, lq, elq] : [lq, elq, lp, elp];
  const ex = Math.exp(b - a);
  const w = 0.5 + 0.5 * ex;
  const lm = a + Math.log(w);
  const e = ea + ((0.5 * ex) / w) * (expErr(a - b) + ea + eb + u * (a - b)) + u + 0.5 * FLUSH / w + LOG_ABS + u * Math.abs(lm);
  return { lm, e };
}

/**
 * One row's divergence in float64 (before τ²) with its kernel error, from the exact lse's
 * and the logs' errors (rowLogs):
 *   kl      Σ p·(lp − lq)          term error p·(e_lp + e_lq + u|lp − lq|) + |term|·(ε_p + u) + 2^-126·|lp − lq|
 *   reverse Σ q·(lq − lp)          the same with p and q swapped
 *   soft_ce −Σ p·lq                p·e_lq + |term|·(ε_p + u) + 2^-126·|lq|
 *   js      ½Σ p(lp − lm) + q(lq − lm), lm = log((p+q)/2) (logMixture), plus the inner add's u
 * and the V-term sum γ_V·Σ|terms|.
 */
export function distillRow(loss: DistillLoss, g: RowLogs, v: number) {
  let val = 0;
  let mag = 0;
  let err = 0;
  for (let j = 0; j < v; j++) {
    const { lp, lq, elp, elq } = { lp: g.lp[j], lq: g.lq[j], elp: g.elp[j], elq: g.elq[j] };
    const p = Math.exp(lp);
    const q = Math.exp(lq);
    let term = 0;
    let e = 0;
    if (loss === 'kl' || loss === 'reverse_kl') {
      const [w, lw, ew] = loss === 'kl' ? [p, lp, elp] : [q, lq, elq];
      const d = loss === 'kl' ? lp - lq : lq - lp;
      term = w * d;
      e = w * (elp + elq + u * Math.abs(d)) + Math.abs(term) * (probErr(lw, ew) + u) + FLUSH * Math.abs(d);
    } else if (loss === 'soft_ce') {
      term = -p * lq;
      e = p * elq + Math.abs(term) * (probErr(lp, elp) + u) + FLUSH * Math.abs(lq);
    } else {
      const m = logMixture(lp, lq, elp, elq);
      const a = lp - m.lm;
      const b = lq - m.lm;
      const t1 = p * a;
      const t2 = q * b;
      term = 0.5 * (t1 + t2);
      const e1 = p * (elp + m.e + u * Math.abs(a)) + Math.abs(t1) * (probErr(lp, elp) + u) + FLUSH * Math.abs(a);
      const e2 = q * (elq + m.e + u * Math.abs(b)) + Math.abs(t2) * (probErr(lq, elq) + u) + FLUSH * Math.abs(b);
      e = 0.5 * (e1 + e2 + u * Math.abs(t1 + t2));
    }
    val += term;
    mag += Math.abs(term);
    err += e;
  }
  return { val, err: err + gamma(v) * mag };
}

/**
 * WGSL's one-pass divergence (loss/distill.wgsl; kl, reverse_kl, soft_ce), D before τ²: under
 * the weighting side w (t for kl and soft_ce, s for reverse_kl) with p_j = softmax(w)_j,
 * E = A/S with S = Σ e_j, A = Σ e_j·d_j, e_j = 2^(fl(x_w,j·log2e) − m) (m an integer running
 * maximum, rescales exact), d = t − s (kl), s − t (reverse), s (soft_ce); then
 * D = fl(E + fl(lse_o − lse_w)) (kl, reverse) or fl(lse_s − E) (soft_ce). Error:
 *   e_j relative ρ_j: cross_entropy's term model (lseError there) with the logit error
 *     ex_w = (2u + u²)|w_j|: ρ_j = ex_w + 2u|w_j| + ln2·u·W_j + ULP.exp(W_j)·u,
 *     W_j = (max w − w_j)·log2e + 1;
 *   d̂_j: ex_a + ex_b + u|d_j| (a subtraction of two rounded x), or ex_s (soft_ce);
 *   A: Σ p_j·(|d_j|·(ρ_j + u) + ed_j) (relative to S; the product's u), γ_V·Σ p_j|d_j| (V
 *     terms of either sign, any order), and whatever flushes below 2^-126 — a term, a product
 *     or a rescale, (3V + 1024) of them, each < 2^-126·(1 + max|d|) against S ≥ 1/2;
 *   E = Â/Ŝ: that over (1 − r_S), plus |E|·(r_S/(1 − r_S) + 2.5u) (WGSL's division),
 *     r_S = Σ p_j ρ_j + γ_V + (2V + 1024)·2^-125 (S's relative error, as in lseError);
 *   D: + the lse errors it uses, u·|lse_o − lse_w| (their difference), u·|D| (the last add).
 */
function onePassRowError(loss: DistillLoss, s: Float64Array, t: Float64Array, off: number, v: number, tau: number, lseS: number, lseT: number, eLseS: number, eLseT: number, val: number): number {
  const [w, lw, o] = loss === 'reverse_kl' ? [s, lseS, t] : [t, lseT, s];
  let mw = -Infinity;
  let maxD = 0;
  for (let j = 0; j < v; j++) mw = Math.max(mw, w[off + j] / tau);
  let num = 0;
  let rS = 0;
  let mag = 0;
  let e = 0;
  for (let j = 0; j < v; j++) {
    const xw = w[off + j] / tau;
    const xo = o[off + j] / tau;
    const pj = Math.exp(xw - lw);
    const exw = (2 * u + u * u) * Math.abs(xw);
    const exo = (2 * u + u * u) * Math.abs(xo);
    const rho = onlineTermError(xw, exw, mw);
    // d and its error: soft_ce's d is x_s (the other side), kl's / reverse's x_w − x_o.
    const d = loss === 'soft_ce' ? xo : xw - xo;
    const ed = loss === 'soft_ce' ? exo : exw + exo + u * Math.abs(d);
    maxD = Math.max(maxD, Math.abs(d));
    num += pj * (Math.abs(d) * (rho + u) + ed);
    mag += pj * Math.abs(d);
    rS += pj * rho;
    e += pj * d;
  }
  rS += onlineSumError(v);
  num += gamma(v) * mag + (3 * v + 1024) * 2 * FLUSH * (1 + maxD);
  const eE = num / (1 - rS) + Math.abs(e) * (rS / (1 - rS) + ULP.div * u);
  const lseErr = loss === 'soft_ce' ? eLseS : eLseS + eLseT;
  const diff = loss === 'soft_ce' ? 0 : u * Math.abs(lseS - lseT);
  return eE + lseErr + diff + u * Math.abs(val);
}

/** Forward in float64: per-row divergence·τ², both lse's, the reduction; with every output's error bound. */
export function distillForward(student: RefTensor, teacher: RefTensor, o: DistillOpts) {
  const [rows, v] = rowsCols(student.shape);
  const tau = o.temperature;
  const lseS = new Float64Array(rows);
  const lseT = new Float64Array(rows);
  const eLseS = new Float64Array(rows);
  const eLseT = new Float64Array(rows);
  const rowLoss = new Float64Array(rows);
  const eRow = new Float64Array(rows);
  const t2 = tau * tau;
  for (let r = 0; r < rows; r++) {
    const off = r * v;
    lseS[r] = lseRow(student.data, off, v, tau);
    lseT[r] = lseRow(teacher.data, off, v, tau);
    eLseS[r] = lseError(student.data, off, v, tau, lseS[r]);
    eLseT[r] = lseError(teacher.data, off, v, tau, lseT[r]);
    const g = rowLogs(student.data, teacher.data, off, v, tau, lseS[r], lseT[r], eLseS[r], eLseT[r]);
    const d = distillRow(o.loss, g, v);
    // Both kernels' arithmetic: metal's terms (distillRow), and WGSL's one pass where it has one.
    if (o.loss !== 'js') d.err = Math.max(d.err, onePassRowError(o.loss, student.data, teacher.data, off, v, tau, lseS[r], lseT[r], eLseS[r], eLseT[r], d.val));
    rowLoss[r] = d.val * t2;
    // fl(τ²) from the host (u), the product (u).
    eRow[r] = d.err * t2 + 2 * u * Math.abs(rowLoss[r]);
  }
  let total = 0;
  let mag = 0;
  let eSum = 0;
  for (let r = 0; r < rows; r++) {
    total += rowLoss[r];
    mag += Math.abs(rowLoss[r]);
    eSum += eRow[r];
  }
  let loss: Float64Array;
  let eLoss: Float64Array;
  if (o.reduction === 'none') {
    loss = rowLoss;
    eLoss = eRow;
  } else {
    const e = eSum + gamma(rows) * mag;
    // mean: the sum over T (an exact f32 count), WGSL's division: 2.5 ulp.
    loss = Float64Array.of(o.reduction === 'sum' ? total : total / rows);
    eLoss = Float64Array.of(o.reduction === 'sum' ? e : e / rows + ULP.div * u * Math.abs(loss[0]));
  }
  return { loss, eLoss, lseS, lseT, eLseS, eLseT, rows, v };
}

export { rowLogs, lseRow };
