import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { defineOp, type TensorInfo } from '../types.js';
import { NORM_QKV_BENCH, NORM_QKV_CASES } from './cases.js';
import { OP, QKV, checkNormQkv } from './check.js';
import { normQkvFuzz } from './fuzz.js';
import { fusedNormQkvOptions, type NormQkvOpts } from './options.js';
import { normQkvErrors, normQkvRef, type NormQkvInputs } from './reference.js';

export { fusedNormQkvOptions, type FusedNormQkvOptions } from './options.js';

/**
 * A decoder layer's attention input as one op: s = x (+ residual), n = rms_norm(s)·γ,
 * q/k/v = n·Wᵀ (+ b), q and k rotated at `positions` as the rope op rotates them. The rounding
 * points are the separate ops' (n, q, k, v in x's dtype; the rope reads the rounded q and k),
 * so the result is theirs within one derived bound (reference.ts).
 */
export const fusedNormQkv = defineOp({
  name: OP,
  summary:
    'RMSNorm (+ residual add) then the q, k, v projections (+ biases) and rope on q and k: a decoder layer\'s attention input. ' +
    'webgpu: at T ≤ 4 one GEMV dispatch (gemm/gemv_norm_qkv.wgsl: each workgroup normalises the T rows itself and streams 4 weight rows of one of W_q, W_k, W_v; rope pairs in one workgroup, rotated in registers); larger T, metal and cpu: rms_norm, three gemms, rope.',
  inputs: [
    { name: 'x', doc: '[T, K] f32/f16/bf16' },
    { name: 'residual', optional: true, doc: '[T, K] added to x first; the sum is returned as residualOut' },
    { name: 'gamma', doc: '[K], the RMSNorm weight (dtype of x)' },
    { name: 'wq', doc: '[Nq, K], Nq = heads.q · D with positions' },
    { name: 'wk', doc: '[Nk, K], Nk = heads.kv · D with positions' },
    { name: 'wv', doc: '[Nv, K]' },
    { name: 'bq', optional: true, doc: '[Nq] (Qwen2)' },
    { name: 'bk', optional: true, doc: '[Nk]' },
    { name: 'bv', optional: true, doc: '[Nv]' },
    { name: 'positions', optional: true, doc: 'i32 [T]: rotate q and k (options `rope`, `heads`)' },
  ],
  outputs: [
    { name: 'q', doc: '[T, Nq], dtype of x' },
    { name: 'k', doc: '[T, Nk]' },
    { name: 'v', doc: '[T, Nv]' },
    { name: 'residualOut', optional: true, doc: '[T, K]: x + residual, produced when residual is given' },
  ],
  options: fusedNormQkvOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const d = checkNormQkv(i, o as NormQkvOpts);
    const dt = i.x!.dtype;
    const out: Record<string, TensorInfo> = { q: { dtype: dt, shape: [d.t, d.nq] }, k: { dtype: dt, shape: [d.t, d.nk] }, v: { dtype: dt, shape: [d.t, d.nv] } };
    if (i.residual) out.residualOut = { dtype: dt, shape: [d.t, d.k] };
    return out as { q: TensorInfo; k: TensorInfo; v: TensorInfo; residualOut?: TensorInfo };
  },
  reference(i, o) {
    const f = normQkvRef(i as NormQkvInputs, o as NormQkvOpts);
    const x = i.x!;
    const t = x.shape[0];
    const of = (name: 'q' | 'k' | 'v', w: 'wq' | 'wk' | 'wv') => ({ dtype: x.dtype, shape: [t, i[w]!.shape[0]], data: f[name] });
    return {
      q: of('q', 'wq'),
      k: of('k', 'wk'),
      v: of('v', 'wv'),
      ...(i.residual ? { residualOut: { dtype: x.dtype, shape: x.shape, data: f.h } } : {}),
    };
  },
  bounds(i, o) {
    // Derived in reference.ts (normQkvErrors): rms_norm's bound for n, gemm's for the products
    // with n's error as an operand error, the rope op's on the rounded q and k.
    const e = normQkvErrors(i as NormQkvInputs, o as NormQkvOpts);
    // Each is already the final bound of an output element (after its rounding to the dtype).
    return {
      q: e.errs.q,
      k: e.errs.k,
      v: e.errs.v,
      ...(e.residualOut ? { residualOut: e.residualOut } : {}),
    };
  },
  cases: NORM_QKV_CASES,
  bench: NORM_QKV_BENCH,
  cost(i) {
    const x = i.x!;
    const [t, k] = x.shape;
    const e = BYTES[x.dtype];
    const n = QKV.reduce((s, p) => s + i[p.w]!.shape[0], 0);
    const biases = QKV.reduce((s, p) => s + (i[p.b] ? i[p.b]!.shape[0] : 0), 0);
    // Weights once, x (and residual in/out) once, q/k/v out; the norm and rope flops are small beside 2·T·N·K.
    const bytes = e * (n * k + k + biases + t * k * (i.residual ? 3 : 1) + t * n) + (i.positions ? 4 * t : 0);
    return { flops: 2 * t * n * k + 4 * t * k, bytes };
  },
  fuzz: normQkvFuzz,
});
