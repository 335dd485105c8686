import type { RefTensor } from '../types.js';
import type { AttnDims } from './dims.js';
import { cuValid, defaultScale, visibleRange, type AttentionOptions } from './options.js';

/** One query row of one head: where its q, o and lse live and which keys it sees. */
export interface AttnRow {
  /** Query head and its kv head. */
  readonly h: number;
  readonly kvh: number;
  /** Element offsets of the q row and the o row. */
  readonly q: number;
  readonly o: number;
  /** Index into lse. */
  readonly lse: number;
  /** Element offsets of key 0 of the row's sequence and kv head in k and v (key j at + j·stride). */
  readonly k0: number;
  readonly v0: number;
  /** Visible keys [lo, hi] (positions in the sequence); none when lo > hi. */
  readonly lo: number;
  readonly hi: number;
}

export interface AttnLayout {
  /** Every query row with a sequence (empty when the cu_seqlens are invalid). */
  readonly rows: AttnRow[];
  /** o rows and lse entries of packed tokens past cuSeqlensQ[B]: o = 0, lse = −∞. */
  readonly padding: { o: number; lse: number }[];
  /** False when a cu_seqlens array is malformed: every output is NaN. */
  readonly valid: boolean;
}

/**
 * The rows of an attention problem in a fixed order (batch, head, position). Varlen: the
 * sequence boundaries come from cuQ/cuK (already checked with cuValid, else no rows).
 */
export function attnLayout(dm: AttnDims, o: AttentionOptions, cuQ?: ArrayLike<number>, cuK?: ArrayLike<number>): AttnLayout {
  const rows: AttnRow[] = [];
  const padding: { o: number; lse: number }[] = [];
  if (dm.varlen && (!cuValid(cuQ!, dm.sq) || !cuValid(cuK!, dm.sk))) return { rows, padding, valid: false };
  for (let b = 0; b < dm.batch; b++) {
    const q0 = dm.varlen ? cuQ![b] : 0;
    const kk0 = dm.varlen ? cuK![b] : 0;
    const sq = dm.varlen ? cuQ![b + 1] - q0 : dm.sq;
    const sk = dm.varlen ? cuK![b + 1] - kk0 : dm.sk;
    for (let h = 0; h < dm.hq; h++) {
      const kvh = Math.floor(h / dm.group);
      for (let i = 0; i < sq; i++) {
        const t = q0 + i;
        const [lo, hi] = visibleRange(o, i, sq, sk);
        rows.push({
          h,
          kvh,
          q: b * dm.q.b + t * dm.q.s + h * dm.q.h,
          o: b * dm.o.b + t * dm.o.s + h * dm.o.h,
          lse: dm.varlen ? h * dm.sq + t : (b * dm.hq + h) * dm.sq + t,
          k0: b * dm.k.b + kk0 * dm.k.s + kvh * dm.k.h,
          v0: b * dm.v.b + kk0 * dm.v.s + kvh * dm.v.h,
          lo: Math.max(lo, 0),
          hi: Math.min(hi, sk - 1),
        });
      }
    }
  }
  if (dm.varlen) {
    for (let h = 0; h < dm.hq; h++) for (let t = cuQ![dm.batch]; t < dm.sq; t++) padding.push({ o: t * dm.o.s + h * dm.o.h, lse: h * dm.sq + t });
  }
  return { rows, padding, valid: true };
}

/** Score of a row against key j, before the softcap: scale·(q·k_j), and Σ|q_d·k_jd| (for the bounds). */
export function rawScore(q: Float64Array, k: Float64Array, row: AttnRow, j: number, d: number, kStride: number): { t: number; abs: number } {
  let t = 0;
  let abs = 0;
  const ko = row.k0 + j * kStride;
  for (let x = 0; x < d; x++) {
    const p = q[row.q + x] * k[ko + x];
    t += p;
    abs += Math.abs(p);
  }
  return { t, abs };
}

export const capped = (x: number, cap: number | undefined): number => (cap === undefined ? x : cap * Math.tanh(x / cap));

/**
 * The row's logits z_j = softcap(scale·q·k_j) for its visible keys (index j − lo), the row max
 * m over them and the sink, and l = Σ exp(z_j − m) + exp(sink − m).
 */
export function rowLogits(q: Float64Array, k: Float64Array, row: AttnRow, dm: AttnDims, scale: number, o: AttentionOptions, sink: number | undefined) {
  const n = Math.max(0, row.hi - row.lo + 1);
  const z = new Float64Array(n);
  const x = new Float64Array(n);
  const absDot = new Float64Array(n);
  let m = sink ?? -Infinity;
  for (let j = 0; j < n; j++) {
    const r = rawScore(q, k, row, row.lo + j, dm.d, dm.k.s);
    x[j] = scale * r.t;
    absDot[j] = r.abs;
    z[j] = capped(x[j], o.softcap);
    m = Math.max(m, z[j]);
  }
  let l = sink === undefined ? 0 : Math.exp(sink - m);
  for (let j = 0; j < n; j++) l += Math.exp(z[j] - m);
  return { n, z, x, absDot, m, l };
}

/**
 * Attention in float64, a plain loop per query row (no tiling, no online softmax):
 *   o = Σ_j p_j·v_j,  p_j = exp(z_j) / (Σ_j exp(z_j) + exp(sink)),  lse = log(Σ_j exp(z_j) + exp(sink))
 * over the keys the row sees (causal / window). A row that sees no key: o = 0 and lse = −∞
 * (lse = sink with a sink). Malformed cu_seqlens: every element of o and lse is NaN.
 */
export function attentionForwardRef(i: { q: RefTensor; k: RefTensor; v: RefTensor; sinks?: RefTensor; cuSeqlensQ?: RefTensor; cuSeqlensK?: RefTensor }, o: AttentionOptions, dm: AttnDims) {
  const lay = attnLayout(dm, o, i.cuSeqlensQ?.data, i.cuSeqlensK?.data);
  const out = new Float64Array(i.q.data.length / dm.d * dm.dv);
  const lse = new Float64Array(dm.lseShape.reduce((a, b) => a * b, 1));
  if (!lay.valid) {
    out.fill(NaN);
    lse.fill(NaN);
    return { o: out, lse, lay };
  }
  const scale = defaultScale(o, dm.d);
  const v = i.v.data;
  for (const row of lay.rows) {
    const sink = i.sinks?.data[row.h];
    const r = rowLogits(i.q.data, i.k.data, row, dm, scale, o, sink);
    if (r.l === 0) {
      lse[row.lse] = -Infinity;
      continue;
    }
    lse[row.lse] = r.m + Math.log(r.l);
    for (let j = 0; j < r.n; j++) {
      const p = Math.exp(r.z[j] - r.m) / r.l;
      const vo = row.v0 + (row.lo + j) * dm.v.s;
      for (let c = 0; c < dm.dv; c++) out[row.o + c] += p * v[vo + c];
    }
  }
  for (const pad of lay.padding) lse[pad.lse] = -Infinity;
  return { o: out, lse, lay };
}
