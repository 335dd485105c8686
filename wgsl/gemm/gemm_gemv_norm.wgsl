// gemm_gemv_rows.wgsl's NORM prologue (fused_mlp with normWeight at decode sizes,
// launchers/mlp_gemv.ts; only with SWIGLU_ROWS): a's MT rows are x, and the operand of the
// gate/up GEMV is n = rms_norm(s)·γ with s = x (+ res, NORM_RES), rounded to A_DT — the
// arithmetic of norm/rms_norm_vec.wgsl (s in f32, r = inverseSqrt(Σs²/K + eps), s·r·γ in that
// order, rounded once), so rms_norm's bound holds for n (src/ops/fused_mlp/reference.ts,
// mlpNormErrors; the order of the Σs² terms differs, which that bound allows).
// Why every workgroup computes every row's r itself: a second dispatch (rms_norm) costs a
// launch and a barrier (~3 µs on an H100), while the MT·K elements of x (+ res) that each
// workgroup re-reads hit L2 and are a fraction of the 4·K weight elements it streams from
// memory at small MT. n is formed word by word where the main loop reads a word of a (never
// stored; the f16 rounding is the exact integer one of common/convert.wgsl).
// Workgroups share the writes of the sum s (NORM_RES, bound at 10) word-interleaved;
// workgroup 0 writes r (rstd, f32, bound at 3). γ is bound at 2, res at 9.
#include "gemm/gemv_row_rstd.wgsl"
@group(0) @binding(2) var<storage, read> gam: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> rstd_out: array<f32>;
#if NORM_RES
@group(0) @binding(9) var<storage, read> res: array<vec4<u32>>;
@group(0) @binding(10) var<storage, read_write> sum_out: array<vec4<u32>>;
#endif
// Row r's r is left in red[(r / 4)·WG + 16][r % 4] (past the 16 group sums of its round;
// red is idle through the main loop, and the workgroup's 16 KiB — WebGPU's default limit —
// has no room for another array); the main loop keeps it in a register (nr_F).

// Word kw of row r of s in f32 (elements 0–3 and 4–7; f32 words have no hi).
struct Sw {
  lo: vec4<f32>,
  hi: vec4<f32>,
}
fn s_word(r: u32, kw: u32, nv: u32) -> Sw {
  let xw = a[p.a_base / EPV + r * nv + kw];
#if NORM_RES
  let rw = res[p.res_base / EPV + r * nv + kw];
  return Sw(dec_lo(xw) + dec_lo(rw), dec_hi(xw) + dec_hi(rw));
#else
  return Sw(dec_lo(xw), dec_hi(xw));
#endif
}

// γ's word kw, decoded once per K step for every row.
fn norm_gamma(kw: u32) -> Sw {
  let gw = gam[p.gam_base / EPV + kw];
  return Sw(dec_lo(gw), dec_hi(gw));
}

// Word kw of row r of n, in A_DT (what the main loop folds in place of a's word).
fn n_word(r: u32, kw: u32, nv: u32, g: Sw, rr: f32) -> vec4<u32> {
  let s = s_word(r, kw, nv);
  return enc(s.lo * rr * g.lo, s.hi * rr * g.hi);
}

fn norm_r(r: u32) -> f32 {
  return red[(r / 4u) * WG + 16u][r % 4u];
}

// Every row's r into red (the reduction lays rows out in red as the main one does: row j in
// component j % 4 of the vectors of round j / 4); then the sum and r go out. Called in
// uniform control flow before the main loop; red holds the r until the main reduction.
fn norm_prologue(wgx: u32, lid: u32, nv: u32) {
  for (var r = 0u; r < MT; r = r + 1u) {
    var ss = 0.0;
    for (var kv = lid; kv < nv; kv = kv + WG) {
      let s = s_word(r, kv, nv);
      ss = ss + dot(s.lo, s.lo) + dot(s.hi, s.hi);
    }
    red[(r / 4u) * WG + lid][r % 4u] = ss;
  }
  let r = gemv_row_rstd(lid, p.k, p.eps);
  if (lid < MT) {
    red[(lid / 4u) * WG + 16u][lid % 4u] = r;
    if (wgx == 0u) {
      rstd_out[p.rstd_base + lid] = r;
    }
  }
#if NORM_RES
  // Word q of s [MT, K] is written by workgroup (q / WG) % nwg.
  let nwg = (p.n + NCOL - 1u) / NCOL;
  for (var q = wgx * WG + lid; q < MT * nv; q = q + nwg * WG) {
    let s = s_word(q / nv, q % nv, nv);
    sum_out[p.sum_base / EPV + q] = enc(s.lo, s.hi);
  }
#endif
  workgroupBarrier();
}
