// gemm_sgmat_lora_epi.wgsl: ROWS rows of SRC stored [·, r] (row O0 + row; rows at or past EXT
// and words past r load as zeros), LRMAX/8 words each, into ARR at O (an expression of row and
// wv, the word's index in its row), its halves STRIDE apart.
for (var i = 0u; i < ROWS * (LRMAX / 8u) / WGT; i = i + 1u) {
  let t = lid + i * WGT;
  let row = t / (LRMAX / 8u);
  let wv = t % (LRMAX / 8u);
  var v = vec4<u32>();
  if (O0 + row < EXT && wv < rv) {
    v = SRC[BASE + (O0 + row) * rv + wv];
  }
#include "gemm/gemm_sgmat_lora_put.wgsl" (ARR=ARR, O=O, STRIDE=STRIDE)
}
