// One K step of gemv_norm_qkv.wgsl's main loop at word kv: the 4 weight words X0–X3 (loaded
// by the caller, perhaps before phase 1) decoded, γ's word decoded once (not with PRENORM), then
// every row folded.
let w = decode(X0, X1, X2, X3);
let kw = kv;
#if PRENORM == 0
let gw = gam[kw];
let gl = dec_lo(gw);
let gh = dec_hi(gw);
#endif
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=1)
