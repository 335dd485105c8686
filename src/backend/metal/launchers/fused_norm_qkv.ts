import { normQkvCacheDims } from '../../../ops/fused_norm_qkv/cache.js';
import { QKV } from '../../../ops/fused_norm_qkv/check.js';
import type { NormQkvOpts } from '../../../ops/fused_norm_qkv/options.js';
import { ropeOptions } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { cacheCopyInputs } from '../../compose/norm_qkv_cache.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { MetalLauncher } from '../launch.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';
import { kvCacheCopyMetalLauncher } from './kv_cache_copy.js';
import { normQkvGemv, normQkvGemvFits } from './norm_qkv_gemv.js';
import { rmsNormLauncher } from './rms_norm.js';
import { ropeMetalLauncher } from './rope.js';

/**
 * fused_norm_qkv on metal. At decode sizes (T ≤ 4, wherever the separate plan's products would
 * run on gemv.metal: normQkvGemvFits) one gemv_norm_qkv.metal dispatch does it all, the cache
 * write included. Otherwise the separate ops' launches: rms_norm (its rstd dropped), one gemm
 * per projection on the op's tier (gemmOn: metal4 where K allows; the bias as gemm's bias),
 * then one rope over q and k, and with a cache write kv_cache_copy's launch on k and v. Both
 * round where the separate ops do, so the op's one bound holds for either.
 */
export const fusedNormQkvLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts) {
    const o = opts as NormQkvOpts;
    if (normQkvGemvFits(tier, i, o)) {
      const cache = normQkvCacheDims(i, o);
      const out = normQkvGemv(ctx, i, o, cache);
      return cache ? { ...out, kCache: i.kCache, vCache: i.vCache } : out;
    }
    const x = i.x;
    const [t, k] = x.shape;
    const dt = x.dtype;
    const info = { dtype: dt, shape: [t, k] };
    const nr = rmsNormLauncher.launch(ctx, 'metal3', { x, weight: i.gamma, ...(i.residual ? { residual: i.residual } : {}) }, { eps: o.eps }, { y: info, rstd: { dtype: 'f32', shape: [t] }, ...(i.residual ? { residual: info } : {}) });
    nr.rstd.dispose();
    const out: Record<string, Tensor> = {};
    for (const p of QKV) {
      const w: Tensor = i[p.w];
      const bias: Tensor | undefined = i[p.b];
      out[p.y] = gemmOn(ctx, tier, k, { a: nr.y, b: w, bias }, { transB: true }, { dtype: dt, shape: [t, w.shape[0]] });
    }
    nr.y.dispose();
    if (nr.residual) out.residualOut = nr.residual;
    if (i.positions && o.heads) {
      const d = out.q.shape[1] / o.heads.q;
      const q3 = viewAs(out.q, [t, o.heads.q, d]);
      const k3 = viewAs(out.k, [t, o.heads.kv, d]);
      const rot = ropeMetalLauncher.launch(ctx, 'metal3', { x: q3, k: k3, positions: i.positions }, o.rope ?? ropeOptions.parse({}), { y: { dtype: dt, shape: q3.shape }, yk: { dtype: dt, shape: k3.shape } });
      out.q.dispose();
      out.k.dispose();
      out.q = reshapeOwned(rot.y, [t, o.heads.q * d]);
      out.k = reshapeOwned(rot.yk, [t, o.heads.kv * d]);
    }
    const dm = normQkvCacheDims(i, o);
    if (!dm) return out;
    kvCacheCopyMetalLauncher.launch(ctx, 'metal3', cacheCopyInputs(i, dm, out.k, out.v), {}, {});
    return { ...out, kCache: i.kCache, vCache: i.vCache };
  },
};
