// fused_norm_qkv at decode sizes (T = MT ≤ 16 tokens), one dispatch: s = x (+ residual),
// n = rms_norm(s)·γ rounded to the dtype, q/k/v = n·Wᵀ (+ b) rounded to the dtype, q and k
// rotated (ROPE) and rounded again — the rounding points of the separate rms_norm, gemm and
// rope launches, so src/ops/fused_norm_qkv/reference.ts bounds both plans at once.
//
// The weight streaming is gemm_gemv_rows.wgsl's (read its header for the H100 reasoning): a
// workgroup owns 4 rows of ONE of W_q, W_k, W_v (its segment, chosen from the workgroup id;
// wload() picks the binding by a workgroup-uniform branch per load), its WG invocations
// stride over K in 16-byte words, and the 4·MT sums are added across the workgroup through
// workgroup memory. The first one or two K steps (8 loads in flight for MT ≤ 8) are loaded
// before the rstd phase; the rest of K (past 2·WG words: K > 4096 in f16) goes one step a
// trip. One loop body for the three weights rather than a copy per binding: the kernel is
// specialised per T, and lavapipe (the tests) took tens of seconds to compile each T with
// three copies of the unrolled rows. The
// operand is n instead of a: each workgroup first computes the MT rows' rstd itself (the
// x rows are MT·K elements against the 4·K weight elements it streams, and sit in L2 for
// every workgroup), then re-forms each word of n from x, residual and γ as it folds it —
// exactly rms_norm_vec's (h·r)·w, rounded to the dtype by enc().
//
// Rope in the epilogue: a rotation couples two rows of a head (NeoX: i and i + rd/2; GPT-J:
// 2i and 2i + 1), so a rotated workgroup's 4 rows are the two rows of pairs 2w and 2w + 1
// (slots 0, 1: the first rows; 2, 3: their partners). Its finishing invocation t < 8 adds up
// both rows of one pair for one token, rounds them to the dtype (what the rope op reads),
// rotates them by rope_vec's arithmetic (rope/trig.wgsl, host inv_freq table, mscale) and
// stores both. Rows past rotaryDim (and every row of v, and of q/k without ROPE) go 4
// consecutive "plain" rows a workgroup: plain row j of a segment is row
// (j / pl)·hd + rd + j % pl, with (hd, rd, pl) = (D, rotaryDim, D − rotaryDim) for rotated
// q/k and (N, 0, N) otherwise. Rows past a segment's end reread a valid row and are not stored.
// Workgroup 0 also writes s (residualOut) as whole words.
//
// CACHE: every k and v value stored is also stored into the KV cache (kc, vc, of dtype C_DT),
// where kv_cache_copy.wgsl would put it: token r is token r % snew of sequence r / snew, at
// position cpos[sequence] + that; contiguous [B, Hkv, Smax, D] or (PAGED) through the block
// table. A sequence whose start or (paged) used table entries fall outside the cache writes
// nothing, kv_cache_copy's rule. The value is the one the k / v output holds (already in
// X_DT), converted once to C_DT — so the cache holds what kv_cache_copy of the outputs writes.
//
// PRENORM: x is already n (rms_norm's output, rounded to the dtype: the op's T > 4 plan runs
// rms_norm first), so there is no phase 1, no γ and no residual, and the rows are folded as
// they are — the same products, rope and stores as the normalising kernel.
//
// The launcher (launchers/norm_qkv_gemv.ts) binds whole tensors (every window base 0) and
// checks K % EPV == 0. Defines: X_DT, MT, WG, HAS_RES, HAS_BQ, HAS_BK, HAS_BV, ROPE, CACHE,
// C_DT, PAGED, PRENORM; STAGE (bench only, PMETAL_BENCH_NORM_QKV_STAGE, wrong results — the
// stage-by-stage ceiling of the kernel): 1 skips phase 1 (rstd = 1: no statistic, no
// reduction before the GEMV), 2 stores each sum as it is (no bias, rope or cache write), 3
// both, 4 returns at once (the launch of this grid alone).

#ifndef MT
#define MT 1
#endif
#ifndef STAGE
#define STAGE 0
#endif
#ifndef WG
#define WG 256
#endif
#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=X_DT)

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
#if PRENORM == 0
@group(0) @binding(1) var<storage, read> gam: array<vec4<u32>>;
#endif
@group(0) @binding(2) var<storage, read> wq: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> wk: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> wv: array<vec4<u32>>;
#include "common/tensor.wgsl" (NAME=qo, DT=X_DT, BINDING=6, WRITE=1)
#include "common/tensor.wgsl" (NAME=ko, DT=X_DT, BINDING=7, WRITE=1)
#include "common/tensor.wgsl" (NAME=vo, DT=X_DT, BINDING=8, WRITE=1)
#if HAS_RES
@group(0) @binding(9) var<storage, read> res: array<vec4<u32>>;
@group(0) @binding(10) var<storage, read_write> ro: array<vec4<u32>>;
#endif
#if HAS_BQ
#include "common/tensor.wgsl" (NAME=bq, DT=X_DT, BINDING=11, WRITE=0)
#endif
#if HAS_BK
#include "common/tensor.wgsl" (NAME=bk, DT=X_DT, BINDING=12, WRITE=0)
#endif
#if HAS_BV
#include "common/tensor.wgsl" (NAME=bv, DT=X_DT, BINDING=13, WRITE=0)
#endif
#if ROPE
@group(0) @binding(14) var<storage, read> pos: array<i32>;
#include "common/tensor.wgsl" (NAME=freq, DT=DT_F32, BINDING=15, WRITE=0)
#include "rope/trig.wgsl"
#endif
#if CACHE
#include "common/tensor.wgsl" (NAME=kc, DT=C_DT, BINDING=16, WRITE=1)
#include "common/tensor.wgsl" (NAME=vc, DT=C_DT, BINDING=17, WRITE=1)
@group(0) @binding(18) var<storage, read> cpos: array<i32>;
#if PAGED
@group(0) @binding(19) var<storage, read> ctable: array<i32>;
#endif
#endif
#if PRENORM == 0
#include "gemm/gemv_row_rstd.wgsl"
#endif
#include "common/red_groups16.wgsl"

// NORM_QKV_PARAMS in launchers/norm_qkv_gemv.ts. Per segment s ∈ {q, k, v}: n_s (rows),
// wg_s (workgroups), rot_s (rotated workgroups, the first ones), hd_s / rd_s / pl_s (the
// plain-row map above).
struct Params {
  nv: u32,
  k: u32,
  groups_x: u32,
  eps: f32,
  mscale: f32,
  n_q: u32,
  n_k: u32,
  n_v: u32,
  wg_q: u32,
  wg_k: u32,
  wg_v: u32,
  rot_q: u32,
  rot_k: u32,
  hd_q: u32,
  rd_q: u32,
  pl_q: u32,
  hd_k: u32,
  rd_k: u32,
  pl_k: u32,
  hd_v: u32,
  pl_v: u32,
  // Pairs per head row (rotaryDim / 2) and whether pairs are NeoX (i, i + half) or GPT-J (2i, 2i + 1).
  half: u32,
  neox: u32,
  // The cache write (CACHE): new tokens a sequence, kv heads, head dims of k and v, the
  // contiguous Smax or the paged block size / block count / table width, positions a sequence.
  c_snew: u32,
  c_hkv: u32,
  c_d: u32,
  c_dv: u32,
  c_smax: u32,
  c_block_size: u32,
  c_num_blocks: u32,
  c_max_blocks: u32,
  c_capacity: u32,
}
@group(0) @binding(5) var<uniform> p: Params;

const ROUNDS: u32 = (MT + 3u) / 4u;
// 4 vectors per invocation: the MT rows' Σs² (phase 1) and then the 4·MT column sums, 4 rows
// of x a round (16 KiB at WG = 256, as gemm_gemv_rows).
var<workgroup> red: array<vec4<f32>, 4u * WG>;
#if PRENORM == 0
var<workgroup> rstd_s: array<f32, 16>;
#endif

#if PRENORM == 0
// Word kw of row r of n = (h·rstd)·γ rounded to the dtype (g: γ's word, decoded).
fn nword(r: u32, kw: u32, gl: vec4<f32>, gh: vec4<f32>, rs: f32) -> vec4<u32> {
  let xw = x[r * p.nv + kw];
  var lo = dec_lo(xw);
  var hi = dec_hi(xw);
#if HAS_RES
  let rw = res[r * p.nv + kw];
  lo = lo + dec_lo(rw);
  hi = hi + dec_hi(rw);
#endif
  return enc(lo * rs * gl, hi * rs * gh);
}
#endif

// The 4 rows' words at one K step, decoded once for every row of n (as gemm_gemv_rows).
struct Bw {
  l0: vec4<f32>,
  l1: vec4<f32>,
  l2: vec4<f32>,
  l3: vec4<f32>,
#if X_DT != 0
  h0: vec4<f32>,
  h1: vec4<f32>,
  h2: vec4<f32>,
  h3: vec4<f32>,
#endif
}
fn decode(x0: vec4<u32>, x1: vec4<u32>, x2: vec4<u32>, x3: vec4<u32>) -> Bw {
#if X_DT == 0
  return Bw(dec_lo(x0), dec_lo(x1), dec_lo(x2), dec_lo(x3));
#else
  return Bw(dec_lo(x0), dec_lo(x1), dec_lo(x2), dec_lo(x3), dec_hi(x0), dec_hi(x1), dec_hi(x2), dec_hi(x3));
#endif
}
fn fold(aw: vec4<u32>, w: Bw) -> vec4<f32> {
  let xl = dec_lo(aw);
#if X_DT == 0
  return vec4<f32>(dot(xl, w.l0), dot(xl, w.l1), dot(xl, w.l2), dot(xl, w.l3));
#else
  let xh = dec_hi(aw);
  return vec4<f32>(dot(xl, w.l0) + dot(xh, w.h0), dot(xl, w.l1) + dot(xh, w.h1), dot(xl, w.l2) + dot(xh, w.h2), dot(xl, w.l3) + dot(xh, w.h3));
#endif
}

// round_dt: a value rounded to the dtype and back, as the stores round it.
#include "common/round_dt.wgsl" (DT=X_DT)

// Row of plain row j of a segment (hd, rd, pl): see the header.
fn plain_row(j: u32, hd: u32, rd: u32, pl: u32) -> u32 {
  return (j / pl) * hd + rd + j % pl;
}
// The two rows of rotation pair q of a segment of head dim hd.
fn pair_rows(q: u32, hd: u32) -> vec2<u32> {
  let h = q / p.half;
  let i = q % p.half;
  if (p.neox != 0u) {
    return vec2<u32>(h * hd + i, h * hd + i + p.half);
  }
  return vec2<u32>(h * hd + 2u * i, h * hd + 2u * i + 1u);
}

// Bias of column c of segment s (0 when that bias is absent).
fn bias(s: u32, c: u32) -> f32 {
#if HAS_BQ
  if (s == 0u) {
    return load_bq(c);
  }
#endif
#if HAS_BK
  if (s == 1u) {
    return load_bk(c);
  }
#endif
#if HAS_BV
  if (s == 2u) {
    return load_bv(c);
  }
#endif
  return 0.0;
}
// Word i of segment s's weight (a workgroup-uniform branch).
fn wload(s: u32, i: u32) -> vec4<u32> {
  if (s == 0u) {
    return wq[i];
  }
  if (s == 1u) {
    return wk[i];
  }
  return wv[i];
}
fn store_out(s: u32, e: u32, v: f32) {
  if (s == 0u) {
    store_qo(e, v);
  } else if (s == 1u) {
    store_ko(e, v);
  } else {
    store_vo(e, v);
  }
}

#if CACHE
// Column c of token r's k (seg 1) or v (seg 2) row into the cache, as kv_cache_copy.wgsl
// places it; nothing when the token's sequence is invalid there (its check, per element: at
// most 8 invocations store 2 values each, against a sequence's few table entries).
fn store_cache(seg: u32, r: u32, c: u32, v: f32) {
  let b = r / p.c_snew;
  let start = cpos[b];
  if (start < 0 || u32(start) > p.c_capacity - p.c_snew) {
    return;
  }
  let j = u32(start) + r % p.c_snew;
  let hd = select(p.c_dv, p.c_d, seg == 1u);
  let h = c / hd;
  let x = c % hd;
#if PAGED
  let e1 = (u32(start) + p.c_snew - 1u) / p.c_block_size;
  for (var e = u32(start) / p.c_block_size; e <= e1; e = e + 1u) {
    let blk = ctable[b * p.c_max_blocks + e];
    if (blk < 0 || u32(blk) >= p.c_num_blocks) {
      return;
    }
  }
  let blk = u32(ctable[b * p.c_max_blocks + j / p.c_block_size]);
  let at = ((blk * p.c_block_size + j % p.c_block_size) * p.c_hkv + h) * hd + x;
#else
  let at = ((b * p.c_hkv + h) * p.c_smax + j) * hd + x;
#endif
  if (seg == 1u) {
    store_kc(at, v);
  } else {
    store_vc(at, v);
  }
}
#endif

// Column c of token r of segment s: the output, and (CACHE) k's and v's cache slot.
fn store_col(s: u32, r: u32, n: u32, c: u32, v: f32) {
  store_out(s, r * n + c, v);
#if CACHE
  if (s != 0u) {
    // The output's value (rotated values are rounded by the store; here explicitly), then C_DT.
    store_cache(s, r, c, round_dt(v));
  }
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wgi = wid.x + wid.y * p.groups_x;
#if STAGE == 4
  if (wgi < 0xffffffffu) {
    return;
  }
#endif
  if (wgi >= p.wg_q + p.wg_k + p.wg_v) {
    return;
  }
  let nv = p.nv;

  // This workgroup's segment and its 4 rows (slots 0–3), each with a store flag.
  var seg = 0u;
  var sw = wgi;
  var n = p.n_q;
  var rot = sw < p.rot_q;
  var hd = p.hd_q;
  var rd = p.rd_q;
  var pl = p.pl_q;
  if (wgi >= p.wg_q + p.wg_k) {
    seg = 2u;
    sw = wgi - p.wg_q - p.wg_k;
    n = p.n_v;
    rot = false;
    hd = p.hd_v;
    rd = 0u;
    pl = p.pl_v;
  } else if (wgi >= p.wg_q) {
    seg = 1u;
    sw = wgi - p.wg_q;
    n = p.n_k;
    rot = sw < p.rot_k;
    hd = p.hd_k;
    rd = p.rd_k;
    pl = p.pl_k;
  }
  var rows = vec4<u32>(0u);
  var ok = vec4<bool>(false);
  if (rot) {
    // Pairs 2·sw, 2·sw + 1 of the segment's (n / hd)·half.
    let pairs = (n / hd) * p.half;
    let a = pair_rows(2u * sw, hd);
    let b = pair_rows(min(2u * sw + 1u, pairs - 1u), hd);
    rows = vec4<u32>(a.x, b.x, a.y, b.y);
    let okb = 2u * sw + 1u < pairs;
    ok = vec4<bool>(true, okb, true, okb);
  } else {
    let rw = select(0u, p.rot_q, seg == 0u) + select(0u, p.rot_k, seg == 1u);
    let j0 = 4u * (sw - rw);
    let plain = (n / hd) * pl;
    for (var c = 0u; c < 4u; c = c + 1u) {
      rows[c] = plain_row(min(j0 + c, plain - 1u), hd, rd, pl);
      ok[c] = j0 + c < plain;
    }
  }
  let w0 = rows.x * nv;
  let w1 = rows.y * nv;
  let w2 = rows.z * nv;
  let w3 = rows.w * nv;

  // The first K step's weight words (two steps for MT ≤ 8: the loop's 8 loads) do not depend
  // on rstd: issued before phase 1, their memory latency overlaps it (at T = 1 the GEMV is
  // one or two steps a lane — K = 2048 or 4096 — so this hides most of phase 1).
  let k0 = min(lid, nv - 1u);
  let p0 = wload(seg, w0 + k0);
  let p1 = wload(seg, w1 + k0);
  let p2 = wload(seg, w2 + k0);
  let p3 = wload(seg, w3 + k0);
#if MT <= 8
  let k1 = min(lid + WG, nv - 1u);
  let q0 = wload(seg, w0 + k1);
  let q1 = wload(seg, w1 + k1);
  let q2 = wload(seg, w2 + k1);
  let q3 = wload(seg, w3 + k1);
#endif

#if PRENORM == 0 && (STAGE == 1 || STAGE == 3)
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=7)
#if HAS_RES
  // residualOut stays bound (the pipeline's layout comes from the bindings the kernel uses).
  if (nv == 0xffffffffu) {
    ro[0] = res[0];
  }
#endif
#elif PRENORM == 0
  // Phase 1: Σ s² of the MT rows (and, workgroup 0, s itself as residualOut).
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=3)
  for (var kv = lid; kv < nv; kv = kv + WG) {
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=4)
  }
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=5)
  let rstd = gemv_row_rstd(lid, p.k, p.eps);
  if (lid < MT) {
    rstd_s[lid] = rstd;
  }
  workgroupBarrier();
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=6)
#endif


#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=0)
  // The prefetched step(s), then the rest of K in the segment's own loop.
  var kv = lid;
  if (kv < nv) {
#include "gemm/gemv_norm_qkv_step.wgsl" (X0=p0, X1=p1, X2=p2, X3=p3)
  }
  kv = kv + WG;
#if MT <= 8
  if (kv < nv) {
#include "gemm/gemv_norm_qkv_step.wgsl" (X0=q0, X1=q1, X2=q2, X3=q3)
  }
  kv = kv + WG;
#endif
  // The rest of K, one step (4 loads) a trip: K past 2·WG words (16 K elements in f16 at WG = 256).
  for (; kv < nv; kv = kv + WG) {
    let x0 = wload(seg, w0 + kv);
    let x1 = wload(seg, w1 + kv);
    let x2 = wload(seg, w2 + kv);
    let x3 = wload(seg, w3 + kv);
#include "gemm/gemv_norm_qkv_step.wgsl" (X0=x0, X1=x1, X2=x2, X3=x3)
  }

  // 4 rows of n per round: every invocation's 4 vectors, then 16 groups of WG/16, then 16.
  for (var q = 0u; q < ROUNDS; q = q + 1u) {
    workgroupBarrier();
#include "common/frags.wgsl" (FRAG=gemm/gemv_norm_qkv_slot.wgsl, N=MT, STEP=2)
    workgroupBarrier();
    red_groups16(lid, 4u);
    workgroupBarrier();
    // Invocation t < 8: token 4q + t / 2, slots t % 2 and t % 2 + 2 (a rotation pair when rot).
    let r = 4u * q + lid / 2u;
    let sa = lid % 2u;
    if (lid < 8u && r < MT) {
      var ya = 0.0;
      var yb = 0.0;
      for (var g = 0u; g < 16u; g = g + 1u) {
        let v = red[(lid / 2u) * WG + g];
        ya = ya + v[sa];
        yb = yb + v[sa + 2u];
      }
      let ra = rows[sa];
      let rb = rows[sa + 2u];
#if STAGE == 2 || STAGE == 3
      // Every binding of the epilogue stays bound: a branch never taken.
      if (p.nv == 0xffffffffu) {
        var z = bias(seg, ra);
#if ROPE
        z = z + f32(pos[r]) * load_freq(0u);
#endif
        store_col(seg, r, n, ra, z);
      }
      if (ok[sa]) {
        store_out(seg, r * n + ra, ya);
      }
      if (ok[sa + 2u]) {
        store_out(seg, r * n + rb, yb);
      }
#else
      // gemm's epilogue (alpha = 1: acc + bias), rounded to the dtype as gemm stores it.
      ya = round_dt(ya + bias(seg, ra));
      yb = round_dt(yb + bias(seg, rb));
#if ROPE
      if (rot) {
        // rope_vec.wgsl's rotation of the stored values: frequency i of the pair, this token's position.
        let i = (2u * sw + sa) % p.half;
        let cs = cos_sin(f32(pos[r]) * load_freq(i)) * p.mscale;
        let a = ya;
        let b = yb;
        ya = a * cs.x - b * cs.y;
        yb = b * cs.x + a * cs.y;
      }
#endif
      if (ok[sa]) {
        store_col(seg, r, n, ra, ya);
      }
      if (ok[sa + 2u]) {
        store_col(seg, r, n, rb, yb);
      }
#endif
    }
  }
}
