import { gemmOptions } from '../../../ops/gemm/spec.js';
import { normQkvCacheDims } from '../../../ops/fused_norm_qkv/cache.js';
import { QKV } from '../../../ops/fused_norm_qkv/check.js';
import type { NormQkvOpts } from '../../../ops/fused_norm_qkv/options.js';
import { ropeOptions } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { cacheCopyInputs } from '../../compose/norm_qkv_cache.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { LaunchContext, Launcher, WebGpuTier } from '../launch.js';
import { gemmLauncher } from './gemm.js';
import { kvCacheCopyLauncher } from './kv_cache_copy.js';
import { normQkvCacheFits, normQkvGemv, normQkvPlan, type NormQkvRope } from './norm_qkv_gemv.js';
import { qkvGemm, qkvGemmFits } from './qkv_gemm.js';
import { rmsNormLauncher } from './rms_norm.js';
import { ropeForwardLauncher } from './rope.js';

/** The rope layout of a call with positions (the op's check resolved heads and D). */
export function normQkvRope(i: Record<string, Tensor | undefined>, o: NormQkvOpts): NormQkvRope | undefined {
  if (!i.positions || !o.heads) return undefined;
  return { hq: o.heads.q, hkv: o.heads.kv, d: i.wq!.shape[0] / o.heads.q, o: o.rope ?? ropeOptions.parse({}) };
}

/** rms_norm of x (+ residual) on the op's tier's reduction tier: n, and the sum when residual is given (rstd dropped). */
function normLaunch(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, o: NormQkvOpts): { y: Tensor; residual?: Tensor } {
  const x = i.x;
  const [t, k] = x.shape;
  // rms_norm's tiers are subgroups/portable; the op's subgroup-matrix tier is gemm's.
  const rmsTier: WebGpuTier = tier === 'subgroup-matrix' ? (ctx.features.has('subgroups') ? 'subgroups' : 'portable') : tier;
  const info = { dtype: x.dtype, shape: [t, k] };
  const nr = rmsNormLauncher.launch(ctx, rmsTier, { x, weight: i.gamma, ...(i.residual ? { residual: i.residual } : {}) }, { eps: o.eps }, { y: info, rstd: { dtype: 'f32', shape: [t] }, ...(i.residual ? { residual: info } : {}) });
  nr.rstd.dispose();
  return { y: nr.y, ...(nr.residual ? { residual: nr.residual } : {}) };
}

/**
 * The separate ops' launches: rms_norm (its rstd dropped), a gemm per projection (the bias as
 * gemm's bias), then one rope over q and k. What the op records past the GEMV's range, and
 * exactly the kernels the model recorded before this op existed — except that with
 * PMETAL_QKV_GEMM=1 the subgroup-matrix tier takes the three products in one dispatch where
 * qkvGemmFits (qkv_gemm.ts; the same products and stores).
 */
export function normQkvComposed(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, o: NormQkvOpts, r: NormQkvRope | undefined): Record<string, Tensor> {
  const x = i.x;
  const [t] = x.shape;
  const dt = x.dtype;
  const nr = normLaunch(ctx, tier, i, o);
  const out: Record<string, Tensor> = {};
  if (tier === 'subgroup-matrix' && qkvGemmFits(ctx, nr.y, i)) Object.assign(out, qkvGemm(ctx, nr.y, i.wq, i.wk, i.wv));
  else for (const p of QKV) {
    const w = i[p.w];
    const bias = i[p.b];
    const y = { dtype: dt, shape: [t, w.shape[0]] };
    // An empty weight gives an empty output: nothing to launch.
    out[p.y] = w.shape[0] === 0 ? ctx.output(y) : gemmLauncher.launch(ctx, tier, { a: nr.y, b: w, ...(bias ? { bias } : {}) }, gemmOptions.parse({ transB: true }), { y }).y;
  }
  nr.y.dispose();
  if (nr.residual) out.residualOut = nr.residual;
  if (r && i.positions) {
    const q3 = viewAs(out.q, [t, r.hq, r.d]);
    const k3 = viewAs(out.k, [t, r.hkv, r.d]);
    const rot = ropeForwardLauncher.launch(ctx, 'portable', { x: q3, k: k3, positions: i.positions }, r.o, { y: { dtype: dt, shape: q3.shape }, yk: { dtype: dt, shape: k3.shape } });
    out.q.dispose();
    out.k.dispose();
    out.q = reshapeOwned(rot.y, [t, r.hq * r.d]);
    out.k = reshapeOwned(rot.yk, [t, r.hkv * r.d]);
  }
  return out;
}

/**
 * fused_norm_qkv on every webgpu tier: decode sizes (T ≤ 4, K on 16-byte words; see
 * normQkvPlan) one gemv_norm_qkv dispatch, the same kernel on every tier (a GEMV gains
 * nothing from matrix units or subgroup reductions at these sizes); 4 < T ≤ 16 rms_norm and
 * that GEMV on its output; otherwise the separate ops' launches on the tier (gemm's
 * subgroup-matrix kernels included).
 * PMETAL_NORM_QKV_VARIANT (norm_qkv_gemv.ts) moves the boundary for the bench. A cache write
 * goes into the GEMV's epilogue where its bindings fit (normQkvCacheFits), else it is one
 * kv_cache_copy launch after.
 */
export const fusedNormQkvLauncher: Launcher = {
  tiers: (d, f, a) => gemmLauncher.tiers(d, f, a),
  launch(ctx, tier, i, opts) {
    const o = opts as NormQkvOpts;
    const r = normQkvRope(i, o);
    const dm = normQkvCacheDims(i, o);
    const plan = normQkvPlan(ctx, i);
    let out: Record<string, Tensor>;
    let fused = false;
    if (plan === 'composed') {
      out = normQkvComposed(ctx, tier, i, o, r);
    } else {
      // norm-gemv: n from rms_norm, then the GEMV folds it as it is (no gamma, no residual).
      const nr = plan === 'norm-gemv' ? normLaunch(ctx, tier, i, o) : undefined;
      const { gamma: _g, residual: _r, ...rest } = i;
      const gi = nr ? { ...rest, x: nr.y } : i;
      fused = dm !== undefined && normQkvCacheFits(ctx, gi, dm);
      out = normQkvGemv(ctx, gi, o.eps, r, fused ? dm : undefined);
      if (nr) {
        nr.y.dispose();
        if (nr.residual) out.residualOut = nr.residual;
      }
    }
    if (!dm) return out;
    // The GEMV did not write the caches: kv_cache_copy's kernel on k and v.
    if (!fused) kvCacheCopyLauncher.launch(ctx, 'portable', cacheCopyInputs(i, dm, out.k, out.v), {}, {});
    return { ...out, kCache: i.kCache, vCache: i.vCache };
  },
};
