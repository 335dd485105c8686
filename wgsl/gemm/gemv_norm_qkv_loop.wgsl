// The K loop of gemv_norm_qkv.wgsl over weight binding W (its segment's), from word kv on
// (the prefetched steps are done): gemm_gemv_rows' loop with n's words formed by nword()
// (γ's word decoded once per step for every row).
#if MT <= 8
// Two words of each row in flight (8 loads), then the odd one out.
for (; kv + WG < nv; kv = kv + 2u * WG) {
  let x0 = W[w0 + kv];
  let x1 = W[w1 + kv];
  let x2 = W[w2 + kv];
  let x3 = W[w3 + kv];
  let y0 = W[w0 + kv + WG];
  let y1 = W[w1 + kv + WG];
  let y2 = W[w2 + kv + WG];
  let y3 = W[w3 + kv + WG];
  {
    let w = decode(x0, x1, x2, x3);
    let kw = kv;
    let gw = gam[kw];
    let gl = dec_lo(gw);
    let gh = dec_hi(gw);
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=1)
  }
  {
    let w = decode(y0, y1, y2, y3);
    let kw = kv + WG;
    let gw = gam[kw];
    let gl = dec_lo(gw);
    let gh = dec_hi(gw);
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=1)
  }
}
#endif
for (; kv < nv; kv = kv + WG) {
  let x0 = W[w0 + kv];
  let x1 = W[w1 + kv];
  let x2 = W[w2 + kv];
  let x3 = W[w3 + kv];
  let w = decode(x0, x1, x2, x3);
  let kw = kv;
  let gw = gam[kw];
  let gl = dec_lo(gw);
  let gh = dec_hi(gw);
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=1)
}
