// gemm_sgmat_vec.wgsl's LORA_EPI: the rank-r term lora_a·op(lora_b) joins each accumulator in
// the epilogue, one or two 16-deep products just before the result goes to `stage`
// (gemm_sgmat_out.wgsl), instead of as r more K columns after the base loop (LORA_K's tail,
// gemm_sgmat_lora.wgsl). Run S11 measured that tail slowing the base loop itself by ~45% on
// an H100 (the staging registers and slices it shares with the loop); here nothing after the
// loop touches ra, rb or a live accumulator except to consume it into its store.
// This part stages the term's operands once per tile into the loop's own arrays (free after
// the loop), in the loop's own layouts with r in K's place: lora_a's rows m0.. ([M, r]) into As
// as [BM][LRA] (or [LRMAX][LDA], transposed, under TRANS_A), lora_b's rows n0.. into Bs as
// [BN][LRA] with TRANS_B ([N, r], read column-major like b's slices), else its r rows of
// [r, N] as [LRMAX][LDL]. Columns (rows) from r up to LRMAX are zeros, so a 16-deep product
// over r = 8 or 24 adds nothing past r. LRMAX = min(32, NBUF·BK) — the staged K depth the
// loop's arrays hold in every one of those layouts (launchers/lora_gemm.ts loraEpiMaxR) —; r
// ≤ LRMAX and a multiple of 8, both bases multiples of 8 (the launcher checks): each 16-byte
// word lies inside or outside. The main loop may end without its closing barrier (DBUF's
// early break), hence the barrier.
  const LRMAX: u32 = min(32u, NBUF * BK);
  const LRA: u32 = LRMAX + PAD;
#if TRANS_A
  const_assert LRMAX * LDA <= NBUF * A_SZ;
#else
  const_assert BM * LRA <= NBUF * A_SZ;
#endif
#if TRANS_B
  const_assert BN * LRA <= NBUF * B_SZ;
#else
  const LDL: u32 = BN + PAD;
  const_assert LRMAX * LDL <= NBUF * B_SZ;
#endif
  workgroupBarrier();
  {
    let rv = p.lora_r / 8u;
    let lav = p.lora_a_base / 8u;
    let lbv = p.lora_b_base / 8u;
    // lora_a: BM rows × LRMAX/8 words.
#if TRANS_A
#include "gemm/gemm_sgmat_lora_rows.wgsl" (ROWS=BM, SRC=lora_a, O0=m0, EXT=p.m, BASE=lav, ARR=As, O=wv * 8u * LDA + row, STRIDE=LDA)
#else
#include "gemm/gemm_sgmat_lora_rows.wgsl" (ROWS=BM, SRC=lora_a, O0=m0, EXT=p.m, BASE=lav, ARR=As, O=row * LRA + wv * 8u, STRIDE=1u)
#endif
#if TRANS_B
    // lora_b [N, r]: BN rows × LRMAX/8 words.
#include "gemm/gemm_sgmat_lora_rows.wgsl" (ROWS=BN, SRC=lora_b, O0=n0, EXT=p.n, BASE=lbv, ARR=Bs, O=row * LRA + wv * 8u, STRIDE=1u)
#else
    // lora_b [r, N]: LRMAX rows × BN/8 words (N is a multiple of 8, as b's rows are).
    for (var i = 0u; i < LRMAX * (BN / 8u) / WGT; i = i + 1u) {
      let t = lid + i * WGT;
      let row = t / (BN / 8u);
      let wv = t % (BN / 8u);
      var v = vec4<u32>();
      if (row < p.lora_r && n0 + wv * 8u < p.n) {
        v = lora_b[lbv + row * (p.n / 8u) + n0 / 8u + wv];
      }
#include "gemm/gemm_sgmat_lora_put.wgsl" (ARR=Bs, O=row * LDL + wv * 8u, STRIDE=1u)
    }
#endif
  }
  workgroupBarrier();
  // The second 16-deep product runs only where r > 16 (a uniform branch per fragment).
  let lora_two = LRMAX > 16u && p.lora_r > 16u;
