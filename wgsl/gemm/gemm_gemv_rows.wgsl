// Small-M GEMM (decode: y = alpha·A·Bᵀ + beta·C + bias with b stored [N, K], M ≤ 16), the
// bandwidth kernel. One workgroup owns NR = 4 consecutive rows of b (columns of y) and all MT
// = M rows of a; its WG invocations split K between them: invocation lid reads 16-byte
// words lid, lid + WG, … of each of the 4 rows of b, so a 32-lane subgroup reads 512
// consecutive bytes of a row per load and the workgroup a WG·16-byte run. Why this shape
// (H100, from first principles; the column kernel gemm_gemv.wgsl is the measured baseline):
// - every weight byte is read once, with 16-byte loads, and each invocation has 4·U of them
//   in flight (U = 2 words per row per step for M ≤ 8, 1 above, to bound registers);
// - one word of a (per row) is read for 4 words of b, so the L1 traffic of a is M/4 times
//   that of b instead of M times (the column kernel's limit at M = 8), and f16/bf16 a is
//   decoded once per 4 weight words;
// - N/4 workgroups (1024 at N = 4096) whatever K is; no second pass, no K split across
//   workgroups, so y is rounded once (the bound of src/ops/gemm/spec.ts holds for any
//   order of the f32 sums).
// The M·4 sums of each invocation live in named registers (gemm_gemv_rows_slot.wgsl), and are
// added across the workgroup through 16 KiB of workgroup memory (WebGPU's default limit), 4
// rows of a at a time: 16 groups of WG/16 partials, then the 16 group sums.
// The launcher picks it where the rows are whole 16-byte words (bases and K multiples of 4
// f32 or 8 f16/bf16 elements).
// TEAMS (2 or 4; not with SWIGLU_ROWS): the workgroup is TEAMS teams of TW = WG/TEAMS
// invocations, team t owning rows 4t … 4t+3 of the workgroup's 4·TEAMS rows of b and splitting K
// over its TW invocations. Every team reads the same words of a at about the same time, so
// they come from the SM's L1 once for TEAMS·4 rows of b: at M = 8 a is 64 KiB a workgroup, and
// with 4 rows a workgroup the L2 → SM traffic of a (N/4 · 64 KiB) is twice the weight bytes.
// Defines: A_DT, Y_DT, HAS_C, HAS_BIAS, MT (= M, 1…16), WG (256 or 128), TEAMS, SWIGLU_ROWS,
// WRITE_GU; STAGE (bench only, PMETAL_BENCH_GEMV_STAGE, wrong results): 1 folds each step's
// 4 words of b by integer ops alone (a never read), 2 also reads a's words and adds each one
// once (no decode, no dot products) — the stage-by-stage ceiling of the loads.
//
// SWIGLU_ROWS (fused_mlp's gate/up pair at decode sizes, launchers/mlp_gemv.ts): b is W_g, b2
// (bound at 6) is W_u, and the workgroup's 4 rows are rows c, c+1 of W_g then rows c, c+1 of
// W_u — the same loads, registers and reduction as a GEMV over the 2I rows of [W_g; W_u],
// without concatenating them — so it owns 2 columns of y = h = silu(g)·u (I/2 workgroups)
// and g, u stay in f32 registers (swiglu.wgsl's arithmetic, counted by the bound in
// src/ops/fused_mlp/reference.ts; h rounded once). alpha = 1, no c, no bias. WRITE_GU also
// stores g and u in y's dtype (bound at 7 and 8, laid out like y from g_base, u_base).
// NORM (with SWIGLU_ROWS; NORM_RES adds a residual): a is x, and the rows folded are
// n = rms_norm(x (+ res))·γ, each workgroup computing the rows' statistic itself
// (gemm/gemm_gemv_norm.wgsl).

#ifndef MT
#define MT 1
#endif
#ifndef WG
#define WG 256
#endif
#ifndef TEAMS
#define TEAMS 1
#endif
#ifndef STAGE
#define STAGE 0
#endif
// Invocations of a team, which split K between them.
const TW: u32 = WG / TEAMS;
#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "common/red_groups16.wgsl"
#include "common/vec.wgsl" (DT=A_DT)
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
#if SWIGLU_ROWS
#include "gemm/gemm_gemv_swiglu.wgsl"
#if SWIGLU_ROWS && NORM
#include "gemm/gemm_gemv_norm.wgsl"
#endif
#else
// Rows 2 and 3 of a team's 4 come from b, as rows 0 and 1.
#define B23 b
#define NCOL (4u * TEAMS)
#endif

const NR: u32 = 4u;
const ROUNDS: u32 = (MT + 3u) / 4u;
// 4 rows of a × WG partial vectors (16 KiB at WG = 256); the 16 group sums of each row
// overwrite its first 16.
var<workgroup> red: array<vec4<f32>, 4u * WG>;

// The 4 rows' words of b at one K step, decoded once for every row of a (l: elements 0–3,
// h: 4–7 of each word; f32 words have no h).
struct Bw {
  l0: vec4<f32>,
  l1: vec4<f32>,
  l2: vec4<f32>,
  l3: vec4<f32>,
#if A_DT != 0
  h0: vec4<f32>,
  h1: vec4<f32>,
  h2: vec4<f32>,
  h3: vec4<f32>,
#endif
}
fn decode(x0: vec4<u32>, x1: vec4<u32>, x2: vec4<u32>, x3: vec4<u32>) -> Bw {
#if STAGE > 0
  let z = vec4<f32>(0.0);
  let x = bitcast<vec4<f32>>((x0 ^ x1 ^ x2 ^ x3) & vec4<u32>(0x3c00u));
#if A_DT == 0
  return Bw(x, z, z, z);
#else
  return Bw(x, z, z, z, z, z, z, z);
#endif
#elif A_DT == 0
  return Bw(dec_lo(x0), dec_lo(x1), dec_lo(x2), dec_lo(x3));
#else
  return Bw(dec_lo(x0), dec_lo(x1), dec_lo(x2), dec_lo(x3), dec_hi(x0), dec_hi(x1), dec_hi(x2), dec_hi(x3));
#endif
}
// One word of a row of a against the decoded words: the 4 partial dot products.
fn fold(aw: vec4<u32>, w: Bw) -> vec4<f32> {
#if STAGE == 2
  return w.l0 + bitcast<vec4<f32>>(aw & vec4<u32>(0x3c00u));
#else
  let xl = dec_lo(aw);
#if A_DT == 0
  return vec4<f32>(dot(xl, w.l0), dot(xl, w.l1), dot(xl, w.l2), dot(xl, w.l3));
#else
  let xh = dec_hi(aw);
  return vec4<f32>(dot(xl, w.l0) + dot(xh, w.h0), dot(xl, w.l1) + dot(xh, w.h1), dot(xl, w.l2) + dot(xh, w.h2), dot(xl, w.l3) + dot(xh, w.h3));
#endif
#endif
}

#if TEAMS > 1
// red_groups16 per team: run j (a row of a) of team tm is red[j·WG + tm·TW ..][TW]; invocation
// t < 64·TEAMS sums that run's partials g, g + 16, … (g = t mod 16) into its element g.
fn red_teams16(lid: u32) {
  if (lid < 64u * TEAMS) {
    let j = lid / (16u * TEAMS);
    let tm = (lid / 16u) % TEAMS;
    let g = lid % 16u;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < TW / 16u; i = i + 1u) {
      s = s + red[j * WG + tm * TW + g + 16u * i];
    }
    red[j * WG + tm * TW + g] = s;
  }
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c0 = wid.x * NCOL;
  let nv = p.k / EPV;
  let av0 = (p.a_base + wid.z * p.a_bstride) / EPV;
  let bv0 = (p.b_base + wid.z * p.b_bstride) / EPV;
  // Columns past N reread the last row of b (harmless) and are not stored.
#if SWIGLU_ROWS
  let b2v0 = p.b2_base / EPV;
  let w0 = bv0 + min(c0, p.n - 1u) * nv;
  let w1 = bv0 + min(c0 + 1u, p.n - 1u) * nv;
  let w2 = b2v0 + min(c0, p.n - 1u) * nv;
  let w3 = b2v0 + min(c0 + 1u, p.n - 1u) * nv;
#else
  // This invocation's team's 4 rows.
  let ct = c0 + 4u * (lid / TW);
  let w0 = bv0 + min(ct, p.n - 1u) * nv;
  let w1 = bv0 + min(ct + 1u, p.n - 1u) * nv;
  let w2 = bv0 + min(ct + 2u, p.n - 1u) * nv;
  let w3 = bv0 + min(ct + 3u, p.n - 1u) * nv;
#endif
#if SWIGLU_ROWS && NORM
  norm_prologue(wid.x, lid, nv);
#endif

#include "common/frags.wgsl" (FRAG=gemm/gemm_gemv_rows_slot.wgsl, N=MT, STEP=0)
#if STAGE == 1
  // a stays bound: a read that never happens.
  if (p.n == 0xffffffffu) {
    acc_0 = acc_0 + bitcast<vec4<f32>>(a[0]);
  }
#endif
  var kv = lid % TW;
#if MT <= 8
  // Two words of each row in flight (8 loads), then the odd one out.
  for (; kv + TW < nv; kv = kv + 2u * TW) {
    let x0 = b[w0 + kv];
    let x1 = b[w1 + kv];
    let x2 = B23[w2 + kv];
    let x3 = B23[w3 + kv];
    let y0 = b[w0 + kv + TW];
    let y1 = b[w1 + kv + TW];
    let y2 = B23[w2 + kv + TW];
    let y3 = B23[w3 + kv + TW];
    // All 8 loads are issued before the first is used; each word is decoded once.
    {
      let w = decode(x0, x1, x2, x3);
      let kw = kv;
#if SWIGLU_ROWS && NORM
      let gv = norm_gamma(kw);
#endif
#include "common/frags.wgsl" (FRAG=gemm/gemm_gemv_rows_slot.wgsl, N=MT, STEP=1)
    }
    {
      let w = decode(y0, y1, y2, y3);
      let kw = kv + TW;
#if SWIGLU_ROWS && NORM
      let gv = norm_gamma(kw);
#endif
#include "common/frags.wgsl" (FRAG=gemm/gemm_gemv_rows_slot.wgsl, N=MT, STEP=1)
    }
  }
#endif
  for (; kv < nv; kv = kv + TW) {
    let x0 = b[w0 + kv];
    let x1 = b[w1 + kv];
    let x2 = B23[w2 + kv];
    let x3 = B23[w3 + kv];
    let w = decode(x0, x1, x2, x3);
    let kw = kv;
#if SWIGLU_ROWS && NORM
    let gv = norm_gamma(kw);
#endif
#include "common/frags.wgsl" (FRAG=gemm/gemm_gemv_rows_slot.wgsl, N=MT, STEP=1)
  }

  // 4 rows of a per round: every invocation's 4 vectors, then 16 groups of WG/16, then 16.
  let e0 = p.y_base + wid.z * p.m * p.n;
  for (var q = 0u; q < ROUNDS; q = q + 1u) {
    workgroupBarrier();
#include "common/frags.wgsl" (FRAG=gemm/gemm_gemv_rows_slot.wgsl, N=MT, STEP=2)
    workgroupBarrier();
#if TEAMS > 1
    red_teams16(lid);
#else
    red_groups16(lid, 4u);
#endif
    workgroupBarrier();
#if SWIGLU_ROWS
    // Invocation t < 8: row 4q + t / 2 of a, column c0 + t % 2 (g in slot t % 2, u in t % 2 + 2).
    swiglu_store(q, lid, c0, e0);
#else
    // Invocation t < 16·TEAMS: row 4q + j of a (j = t / (4·TEAMS)), column c0 + (t mod 4·TEAMS)
    // — team tm = (t mod 4·TEAMS) / 4, its column tm·4 + t mod 4.
    let j = lid / NCOL;
    let tm = (lid % NCOL) / 4u;
    let r = 4u * q + j;
    let col = c0 + lid % NCOL;
    if (lid < 4u * NCOL && r < MT && col < p.n) {
      var s = 0.0;
      for (var g = 0u; g < 16u; g = g + 1u) {
        s = s + red[j * WG + tm * TW + g][lid % 4u];
      }
      let e = e0 + r * p.n + col;
      store_y(e, epilogue(s, e, col));
    }
#endif
  }
}
