import { FLOAT_DTYPES } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectIndexable, expectNonEmptyAxis, expectRank, expectSameDtype, expectShape, fmt, required } from '../check.js';
import { ropeCheck, ropeOptions } from '../rope/options.js';
import type { TensorInfo } from '../types.js';
import type { NormQkvOpts } from './options.js';

export const OP = 'fused_norm_qkv';

/** The three projections, in output order: weight, bias and output names. */
export const QKV = [
  { w: 'wq', b: 'bq', y: 'q' },
  { w: 'wk', b: 'bk', y: 'k' },
  { w: 'wv', b: 'bv', y: 'v' },
] as const;

/** The sizes a call resolves to; `d` (the head dim) only with rope. */
export interface NormQkvDims {
  t: number;
  k: number;
  nq: number;
  nk: number;
  nv: number;
  /** Head layout of q and k, with positions: heads.q · d = Nq, heads.kv · d = Nk. */
  rope?: { hq: number; hkv: number; d: number };
}

/**
 * x [T, K] f32/f16/bf16; residual [T, K], gamma [K], W_q [Nq, K], W_k [Nk, K], W_v [Nv, K] and
 * the biases [N] in x's dtype; positions i32 [T]. K is the norm's mean and the products'
 * reduction length, so it must not be empty. With positions, `heads` says how the Nq and Nk
 * output columns split into heads of one head dim D (Nq = heads.q·D, Nk = heads.kv·D) and
 * the rope options are checked as the rope op checks them on q [T, heads.q, D]. Options that
 * would be ignored (rope or heads without positions) are errors.
 */
export function checkNormQkv(i: Record<string, TensorInfo | undefined>, o: NormQkvOpts): NormQkvDims {
  const x = required(OP, 'x', i.x);
  expectRank(OP, 'x', x, [2], '[T, K]');
  expectDtype(OP, 'x', x, FLOAT_DTYPES);
  expectNonEmptyAxis(OP, 'x', x, 1, 'the hidden size K');
  const [t, k] = x.shape;
  if (i.residual) {
    expectSameDtype(OP, 'residual', i.residual, x, 'x');
    expectShape(OP, 'residual', i.residual, [t, k]);
  }
  expectShape(OP, 'gamma', required(OP, 'gamma', i.gamma), [k], x.dtype);
  const n: number[] = [];
  for (const p of QKV) {
    const w = required(OP, p.w, i[p.w]);
    expectRank(OP, p.w, w, [2], `${x.dtype}[N, ${k}]`);
    expectShape(OP, p.w, w, [w.shape[0], k], x.dtype);
    const b = i[p.b];
    if (b) expectShape(OP, p.b, b, [w.shape[0]], x.dtype);
    n.push(w.shape[0]);
  }
  const [nq, nk, nv] = n;
  for (const [name, tt] of Object.entries(i)) if (tt) expectIndexable(OP, name, tt);
  const dims: NormQkvDims = { t, k, nq, nk, nv };
  if (!i.positions) {
    if (o.rope) throw new OptionsError(`[${OP}] rope: given without positions (it would be ignored); expected rope options only with a positions tensor`);
    if (o.heads) throw new OptionsError(`[${OP}] heads: given without positions (only the rope reads the head layout); expected heads only with a positions tensor`);
    return dims;
  }
  expectShape(OP, 'positions', i.positions, [t], 'i32');
  if (!o.heads) throw new OptionsError(`[${OP}] heads: expected { q, kv } (the head counts of q and k, for the rope) with positions, got none`);
  const { q: hq, kv: hkv } = o.heads;
  const d = nq / hq;
  if (!Number.isInteger(d) || d < 1) throw new ShapeError(`[${OP}] wq: expected heads.q · D rows (heads.q = ${hq}, some head dim D ≥ 1), got ${fmt(i.wq!)}`);
  if (nk !== hkv * d) throw new ShapeError(`[${OP}] wk: expected heads.kv · D = ${hkv} · ${d} = ${hkv * d} rows (D = ${d} from wq), got ${fmt(i.wk!)}`);
  ropeCheck(OP, 'q', { dtype: x.dtype, shape: [t, hq, d] }, i.positions, o.rope ?? ropeOptions.parse({}));
  return { ...dims, rope: { hq, hkv, d } };
}
