import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { defineOp, type RefTensor, type TensorInfo } from '../types.js';
import { normQkvCacheBounds, normQkvCacheCheck, normQkvCacheDims, normQkvCacheRef } from './cache.js';
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
    'webgpu: at T ≤ 4 one GEMV dispatch (gemm/gemv_norm_qkv.wgsl: each workgroup normalises the T rows itself and streams 4 weight rows of one of W_q, W_k, W_v; rope pairs in one workgroup, rotated in registers); metal: at T ≤ 4 one dispatch of gemm/gemv_norm_qkv.metal (each SIMD-group 4 weight rows, rope pairs in one SIMD-group) wherever its products would be GEMVs (metal3; metal4 only with K off its 32-slices); larger T and elsewhere, and cpu: rms_norm, three gemms, rope. ' +
    'With kCache, vCache and cachePositions, k and v are also written into a KV cache as kv_cache_copy writes them (the webgpu and metal GEMVs: in their epilogue, no dispatch of its own; otherwise a kv_cache_copy launch after).',
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
    { name: 'kCache', optional: true, doc: "contiguous [B, Hkv, Smax, D] or paged [numBlocks, blockSize, Hkv, D] (with blockTable), any float dtype: k's rows are also written into it as kv_cache_copy writes them (updated in place)" },
    { name: 'vCache', optional: true, doc: "kCache's layout and dtype, head dim Dv (Hkv·Dv = Nv): v's rows are written into it (updated in place)" },
    { name: 'cachePositions', optional: true, doc: 'i32 [B] with the caches: T = B·Snew rows, token s of sequence b (row b·Snew + s) at position cachePositions[b] + s; an invalid sequence writes nothing' },
    { name: 'blockTable', optional: true, doc: "i32 [B, maxBlocks]: a paged cache's table (decode_attention's)" },
  ],
  outputs: [
    { name: 'q', doc: '[T, Nq], dtype of x' },
    { name: 'k', doc: '[T, Nk]' },
    { name: 'v', doc: '[T, Nv]' },
    { name: 'residualOut', optional: true, doc: '[T, K]: x + residual, produced when residual is given' },
    { name: 'kCache', optional: true, doc: 'the kCache input itself, written (with a cache write)' },
    { name: 'vCache', optional: true, doc: 'the vCache input itself, written' },
  ],
  inPlace: (i) => (i.kCache ? { kCache: 'kCache', vCache: 'vCache' } : undefined),
  options: fusedNormQkvOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const d = checkNormQkv(i, o as NormQkvOpts);
    const dt = i.x!.dtype;
    const out: Record<string, TensorInfo> = { q: { dtype: dt, shape: [d.t, d.nq] }, k: { dtype: dt, shape: [d.t, d.nk] }, v: { dtype: dt, shape: [d.t, d.nv] } };
    if (i.residual) out.residualOut = { dtype: dt, shape: [d.t, d.k] };
    if (normQkvCacheCheck(i, o as NormQkvOpts)) {
      out.kCache = { dtype: i.kCache!.dtype, shape: i.kCache!.shape };
      out.vCache = { dtype: i.vCache!.dtype, shape: i.vCache!.shape };
    }
    return out as { q: TensorInfo; k: TensorInfo; v: TensorInfo; residualOut?: TensorInfo; kCache?: TensorInfo; vCache?: TensorInfo };
  },
  reference(i, o) {
    const f = normQkvRef(i as NormQkvInputs, o as NormQkvOpts);
    const x = i.x!;
    const t = x.shape[0];
    const of = (name: 'q' | 'k' | 'v', w: 'wq' | 'wk' | 'wv') => ({ dtype: x.dtype, shape: [t, i[w]!.shape[0]], data: f[name] });
    const dm = normQkvCacheDims(i, o as NormQkvOpts);
    const c = dm && normQkvCacheRef(dm, i, f.k, f.v);
    const cache = (name: 'kCache' | 'vCache', data: Float64Array): RefTensor => ({ dtype: i[name]!.dtype, shape: i[name]!.shape, data });
    return {
      q: of('q', 'wq'),
      k: of('k', 'wk'),
      v: of('v', 'wv'),
      ...(i.residual ? { residualOut: { dtype: x.dtype, shape: x.shape, data: f.h } } : {}),
      ...(c ? { kCache: cache('kCache', c.kCache), vCache: cache('vCache', c.vCache) } : {}),
    };
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (normQkvErrors): rms_norm's bound for n, gemm's for the products
    // with n's error as an operand error, the rope op's on the rounded q and k.
    const e = normQkvErrors(i as NormQkvInputs, o as NormQkvOpts);
    const dm = normQkvCacheDims(i, o as NormQkvOpts);
    // The caches: k's and v's bounds where the op writes (cache.ts), 0 elsewhere.
    const c = dm && normQkvCacheBounds(dm, i, { kCache: ref.kCache!.data, vCache: ref.vCache!.data }, e.errs.k, e.errs.v);
    // Each is already the final bound of an output element (after its rounding to the dtype).
    return {
      q: e.errs.q,
      k: e.errs.k,
      v: e.errs.v,
      ...(e.residualOut ? { residualOut: e.residualOut } : {}),
      ...(c ?? {}),
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
    // With a cache write, k and v are written twice (outputs and caches, in the cache's dtype).
    const cache = i.kCache ? t * (i.wk!.shape[0] + i.wv!.shape[0]) * BYTES[i.kCache.dtype] : 0;
    const bytes = e * (n * k + k + biases + t * k * (i.residual ? 3 : 1) + t * n) + (i.positions ? 4 * t : 0) + cache;
    return { flops: 2 * t * n * k + 4 * t * k, bytes };
  },
  fuzz: normQkvFuzz,
});
