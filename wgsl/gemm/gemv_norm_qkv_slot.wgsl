// Row F of n in gemv_norm_qkv.wgsl, by STEP: 3 declares its Σs² (ss_F); 4 adds word kv of s
// to it (workgroup 0 also stores s as residualOut); 5 puts ss_F in the reduction array; 6
// reads back rstd (rs_F; 7, bench STAGE 1 and 3: rs_F = 1 with no phase 1); 0 declares acc_F (its 4 column sums); 1 folds word kw of n against
// the decoded words w of the weight rows (PRENORM: x's word as it is); 2 stores acc_F for the reduction when row F is in round q.
#if STEP == 3
var ss_##F = 0.0;
#elif STEP == 4
{
  let xw = x[F##u * nv + kv];
  var lo = dec_lo(xw);
  var hi = dec_hi(xw);
#if HAS_RES
  let rw = res[F##u * nv + kv];
  lo = lo + dec_lo(rw);
  hi = hi + dec_hi(rw);
  if (wgi == 0u) {
    ro[F##u * nv + kv] = enc(lo, hi);
  }
#endif
  ss_##F = ss_##F + dot(lo, lo) + dot(hi, hi);
}
#elif STEP == 5
red[(F##u / 4u) * WG + lid][F##u % 4u] = ss_##F;
#elif STEP == 6
let rs_##F = rstd_s[F##u];
#elif STEP == 7
let rs_##F = 1.0;
#elif STEP == 0
var acc_##F = vec4<f32>(0.0);
#elif STEP == 1
#if PRENORM
acc_##F = acc_##F + fold(x[F##u * nv + kw], w);
#else
acc_##F = acc_##F + fold(nword(F##u, kw, gl, gh, rs_##F), w);
#endif
#else
if (F##u / 4u == q) {
  red[(F##u % 4u) * WG + lid] = acc_##F;
}
#endif
