import { rowsCols } from '../check.js';
import { ULP, U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { logMixture, rowLogs, type DistillOpts } from '../fused_distill_loss/reference.js';

const u = U32;
const FLUSH = 2 ** -126;
const expErr = (x: number) => ULP.exp(x) * u;

/**
 * Gradient of the distillation loss w.r.t. the student logits z (teacher frozen), from the
 * forward's lse of s = z/τ and t = w/τ (log q = s − lse_s, log p = t − lse_t) and the upstream
 * gradient g of each row's loss (dloss[row] for 'none', dloss[0] for 'sum', dloss[0]/T for
 * 'mean'). With the loss = τ²·D, dz_j = g·τ·G_j:
 *   kl, soft_ce  G_j = q_j − p_j
 *   reverse_kl   G_j = q_j·(d_j − R), d = log q − log p, R = Σ q·d
 *   js           G_j = q_j·(h_j − H), h = ½(log q − log m), m = (p + q)/2, H = Σ q·h
 * Also returns each element's kernel error (before the rounding to the dtype):
 *   log q, log p: fl(fl(z·fl(1/τ)) − lse): 2u·|s| + u·|log q| (the lse's are inputs: exact);
 *   q = exp(log q): ε_q = e_lq + ULP.exp(|log q|)·u, an absolute 2^-126 flushed;
 *   kl/soft_ce: q·ε_q + p·ε_p + u·|G| + 2^-126;
 *   reverse_kl: E_R = Σ [q·(e_lq + e_lp + u|d|) + |q·d|·(ε_q + u) + 2^-126·|d|] + γ_V·Σ|q·d|, then
 *     q·(e_lq + e_lp + u|d| + E_R + u|d − R|) + |G|·(ε_q + u) + 2^-126·|d − R|;
 *   js: the same with h (e_h = ½(e_lq + e_lm + u|log q − log m|), e_lm as the forward's
 *     logMixture) and H;
 *   c = fl(g·fl(τ)) (mean: g = fl(dloss / T), 2.5 ulp): ε_c = 2u (+ 5u); dz = fl(c·G): |c|·ΔG + |dz|·(ε_c + u).
 */
export function distillBackward(student: RefTensor, teacher: RefTensor, lseS: RefTensor, lseT: RefTensor, dloss: RefTensor, o: DistillOpts) {
  const [rows, v] = rowsCols(student.shape);
  const tau = o.temperature;
  const dz = new Float64Array(rows * v);
  const err = new Float64Array(rows * v);
  for (let r = 0; r < rows; r++) {
    const off = r * v;
    const g = o.reduction === 'none' ? dloss.data[r] : o.reduction === 'sum' ? dloss.data[0] : dloss.data[0] / rows;
    const c = g * tau;
    const epsC = 2 * u + (o.reduction === 'mean' ? ULP.div * u : 0);
    const L = rowLogs(student.data, teacher.data, off, v, tau, lseS.data[r], lseT.data[r], 0, 0);
    const q = L.lq.map(Math.exp);
    const p = L.lp.map(Math.exp);
    const eq = L.lq.map((l, j) => L.elq[j] + expErr(Math.abs(l)));
    const ep = L.lp.map((l, j) => L.elp[j] + expErr(Math.abs(l)));
    // The per-element factor h_j whose q-weighted mean is subtracted (reverse_kl: d; js: h), with its error.
    let h: Float64Array | undefined;
    let eh: Float64Array | undefined;
    if (o.loss === 'reverse_kl') {
      h = L.lq.map((x, j) => x - L.lp[j]);
      eh = h.map((d, j) => L.elq[j] + L.elp[j] + u * Math.abs(d));
    } else if (o.loss === 'js') {
      h = new Float64Array(v);
      eh = new Float64Array(v);
      for (let j = 0; j < v; j++) {
        const m = logMixture(L.lp[j], L.lq[j], L.elp[j], L.elq[j]);
        h[j] = 0.5 * (L.lq[j] - m.lm);
        eh[j] = 0.5 * (L.elq[j] + m.e + u * Math.abs(L.lq[j] - m.lm));
      }
    }
    let H = 0;
    let eH = 0;
    if (h && eh) {
      let mag = 0;
      for (let j = 0; j < v; j++) {
        const t = q[j] * h[j];
        H += t;
        mag += Math.abs(t);
        eH += q[j] * eh[j] + Math.abs(t) * (eq[j] + u) + FLUSH * Math.abs(h[j]);
      }
      eH += gamma(v) * mag;
    }
    for (let j = 0; j < v; j++) {
      let G: number;
      let eG: number;
      if (h && eh) {
        G = q[j] * (h[j] - H);
        eG = q[j] * (eh[j] + eH + u * Math.abs(h[j] - H)) + Math.abs(G) * (eq[j] + u) + FLUSH * Math.abs(h[j] - H);
      } else {
        G = q[j] - p[j];
        eG = q[j] * eq[j] + p[j] * ep[j] + u * Math.abs(G) + FLUSH;
      }
      dz[off + j] = c * G;
      err[off + j] = Math.abs(c) * eG + Math.abs(c * G) * (epsC + u);
    }
  }
  return { dz, err };
}
