// gemm_sgmat_vec.wgsl, global → registers: this invocation's vectors of the K slice at
// depth KN (zeros past the operand's edges) into ra/rb. Inline in main, with lid the
// builtin itself, so the indices stay within ranges the compiler can bound.
{
  for (var i = 0u; i < A_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let r = t / A_V;
    let c = (t % A_V) * 8u;
#if TRANS_A
    let gr = KN + r;
    let gc = m0 + c;
    let ok = gr < p.k && gc < p.m;
    let ldv = p.m / 8u;
#else
    let gr = m0 + r;
    let gc = KN + c;
    let ok = gr < p.m && gc < p.k;
    let ldv = p.k / 8u;
#endif
    var v = vec4<u32>();
    if (ok) {
      v = a[av + gr * ldv + gc / 8u];
    }
    ra[i] = v;
  }
  for (var i = 0u; i < B_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let r = t / B_V;
    let c = (t % B_V) * 8u;
#if TRANS_B
    let gr = n0 + r;
    let gc = KN + c;
    let ok = gr < p.n && gc < p.k;
    let ldv = p.k / 8u;
#else
    let gr = KN + r;
    let gc = n0 + c;
    let ok = gr < p.k && gc < p.n;
    let ldv = p.n / 8u;
#endif
    var v = vec4<u32>();
    if (ok) {
      v = b[bv + gr * ldv + gc / 8u];
    }
    rb[i] = v;
  }
}
