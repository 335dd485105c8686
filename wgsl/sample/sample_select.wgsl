// sample, pass 2: one workgroup per row, on sample_chunk's chunk records and candidates.
//  1. Row state from the chunk records: the largest key, the lowest id holding it (the greedy
//     token) and lse (the chunks' (max, sum) pairs merged as cross_entropy.wgsl does).
//  2. When c = row_plan(..).c > 0: the row's first c keys in the order (key desc, id asc) from
//     the chunks' candidates (which are in id order) — the same radix select as sample_chunk,
//     over the candidate list — compacted into workgroup memory in id order, and each one's
//     rank in the order; the top-n log-probabilities are the first n ranks.
//  3. The token. Empty rows (every key −∞) give −1; greedy rows (temperature ≤ 0 or NaN) the
//     lowest id of the largest key; `fast` rows (1 ≤ k ≤ KC, k < V) keep the shortest of the
//     top-k (rank < k), top-p (the first ranks whose inclusive weight reaches
//     max(1, ceil(W_k·P/2^24)), P = floor(p·2^24)) and min-p (weight ≥ floor(min_p·2^24)·128)
//     prefixes — scans over at most KC ranks — then draw u = philox4x32_10((offset, 0, 0, 0),
//     seed).x, target = floor(u·W_kept/2^32): the kept token (in id order) whose inclusive
//     prefix of weights first exceeds the target; `open` rows (no top-k) draw from
//     sample_mass's bins (sample_open.wgsl); `full` rows go sample_full.wgsl's way over their
//     keys. Everything is integer but z_j − lse.
//  RANKED (the default variant): the lists are in the order, and step 2 is sample_heads.wgsl's
//     merge — the row's c-th key bounded by the c-th largest list head, the list prefixes
//     above it gathered (typically c tokens, read once) and ranked by counting, ties by id;
//     the draw walks them in id order (idord). The radix merge when over KC survive.
//  BOUND: step 2 first bounds the row's c-th key from below by L, the
//     c-th largest of the chunks' group maxima (c groups each hold a key ≥ L, so the c-th key
//     is ≥ L), keeps the candidates ≥ L (one pass over the lists; typically c plus a few) in
//     workgroup memory and ranks them by counting — no radix rounds, no rereads. When more
//     than KC survive (ties at L, a flat row) it takes the radix merge below.
// WG ≥ 256 (the launcher takes up to 1024: the full path's passes are latency-bound).
// SUBGROUPS: the row-state reductions through subgroups.
#if SUBGROUPS
enable subgroups;
#endif
override WG: u32 = 256;

#include "sample/sample_common.wgsl"
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(3) var<storage, read> cand: array<u32>;
@group(0) @binding(6) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(7) var<storage, read_write> logprobs: array<f32>;
#if TOPN
@group(0) @binding(8) var<storage, read_write> top_ids: array<i32>;
@group(0) @binding(9) var<storage, read_write> top_lp: array<f32>;
#endif
#include "sample/sample_scan.wgsl"
#include "sample/sample_full.wgsl"
#include "sample/sample_open.wgsl"

// The row's first c tokens in id order, and sel_key/sel_id index of rank r at ord[r].
var<workgroup> sel_key: array<u32, KC>;
var<workgroup> sel_id: array<u32, KC>;
var<workgroup> ord: array<u32, KC>;
// The row's options (lid 0 reads them; workgroupUniformLoad makes them uniform).
var<workgroup> opts: array<u32, 4>;
// A radix round's bin (bin, still needed, its count); later a prefix length.
var<workgroup> pick: vec3<u32>;

const LN2: f32 = 0.6931471805599453;
const NO_MAX: f32 = -3.0e38;
fn scale_down(s: f32, shift: f32) -> f32 {
  return ldexp(s, i32(max(shift, -256.0)));
}

// The longest chunk list of the row (the records' counts), at least 1.
fn longest_list(row: u32, lid: u32, sg_size: u32) -> u32 {
  var nl = 0u;
  for (var c = lid; c < p.nc; c = c + WG) {
    nl = max(nl, cand[rec_at(row, c) + 4u]);
  }
  return max(wg_max_u(nl, lid, sg_size), 1u);
}

// Candidate j of a row's lists seen as nm slots a chunk (nm: the longest list; chunk j / nm,
// position j % nm), 0xffffffff past the chunk's list (its record's count) — read as key 0,
// below every real key (≥ KEY_NEG_INF > 0).
fn cand_pos(row: u32, nm: u32, j: u32) -> u32 {
  let ch = j / nm;
  let q = j - ch * nm;
  if (q >= cand[rec_at(row, ch) + 4u]) {
    return 0xffffffffu;
  }
  return pair_at(row, ch) + 2u * q;
}
fn cand_key(at: u32) -> u32 {
  if (at == 0xffffffffu) {
    return 0u;
  }
  return cand[at];
}

// The row's first c keys of the order into sel_key/sel_id, in the order the lists are read
// (chunk by chunk, each list from its start: equal keys in id order). Its histogram is
// sample_full's hist_lo (the two paths never run at once).
fn merge_radix(row: u32, c: u32, nm: u32, lid: u32, sg_size: u32) {
  let sp = span(lid, p.nc * nm);
  var prefix = 0u;
  var mask = 0u;
  var need = c;
  var whole = false;
  for (var d = 0u; d < 4u && !whole; d = d + 1u) {
    let shift = 24u - 8u * d;
    if (lid < 256u) {
      atomicStore(&hist_lo[lid], 0u);
    }
    workgroupBarrier();
    for (var j = sp.x; j < sp.y; j = j + 1u) {
      let key = cand_key(cand_pos(row, nm, j));
      if (key != 0u && (key & mask) == prefix) {
        atomicAdd(&hist_lo[(key >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    // Invocation t < 256 holds bin 255 − t: the scan counts tokens from the top bin down.
    var cnt = 0u;
    if (lid < 256u) {
      cnt = atomicLoad(&hist_lo[255u - lid]);
    }
    let incl = wg_scan2(vec2<u32>(cnt, 0u), lid, sg_size).x;
    if (cnt > 0u && incl >= need && incl - cnt < need) {
      pick = vec3<u32>(255u - lid, need - (incl - cnt), cnt);
    }
    let s = workgroupUniformLoad(&pick);
    prefix = prefix | (s.x << shift);
    mask = mask | (255u << shift);
    need = s.y;
    whole = s.y == s.z;
  }
  let lim = select(need, 0xffffffffu, whole);
  var above = 0u;
  var ties = 0u;
  for (var j = sp.x; j < sp.y; j = j + 1u) {
    let key = cand_key(cand_pos(row, nm, j));
    if (key != 0u) {
      let m = key & mask;
      above = above + select(0u, 1u, m > prefix);
      ties = ties + select(0u, 1u, m == prefix);
    }
  }
  let ex = wg_scan2(vec2<u32>(above, ties), lid, sg_size) - vec2<u32>(above, ties);
  var at = ex.x + min(ex.y, lim);
  var tr = ex.y;
  for (var j = sp.x; j < sp.y; j = j + 1u) {
    let pos = cand_pos(row, nm, j);
    let key = cand_key(pos);
    if (key != 0u) {
      let m = key & mask;
      var take = m > prefix;
      if (m == prefix) {
        take = tr < lim;
        tr = tr + 1u;
      }
      if (take) {
        sel_key[at] = key;
        sel_id[at] = cand[pos + 1u];
        at = at + 1u;
      }
    }
  }
  workgroupBarrier();
}

// The ranks of c tokens in sel_key/sel_id whose equal keys stand in id order (merge_radix's,
// or every list in id order): the tokens before each in the order (larger keys, or equal keys
// earlier) into ord. Returns this invocation's element's rank (invocations < c).
fn rank_by_position(c: u32, lid: u32) -> u32 {
  var rank = 0u;
  if (lid < c) {
    let kj = sel_key[lid];
    for (var i = 0u; i < c; i = i + 1u) {
      let ki = sel_key[i];
      rank = rank + select(0u, 1u, ki > kj || (ki == kj && i < lid));
    }
    ord[rank] = lid;
  }
  workgroupBarrier();
  return rank;
}

#if BOUND
// The group maxima of the row's chunks (GROUPS a chunk, GMAX at most).
const GMAX: u32 = 512u;
var<workgroup> gm: array<u32, GMAX>;

// BOUND's merge: the row's first c tokens are among its candidates ≥ L (L: the c-th largest
// group maximum, 1 when there are fewer than c groups or more than GMAX); when at most KC
// candidates are ≥ L they go to sel_key/sel_id in id order (chunks ascend in id, each list is
// in id order, the compaction keeps that order) and each gets its rank among them; the first c
// ranks are the first c tokens of the order. Returns the count (uniform; the invocation's
// rank goes to bound_rank), or 0 when more than KC are ≥ L (the caller merges by radix select
// instead). A separate return keeps the count uniform for WGSL's uniformity analysis.
var<private> bound_rank: u32;
fn merge_bound(row: u32, c: u32, nm: u32, lid: u32, sg_size: u32) -> u32 {
  let g = GROUPS * p.nc;
  var lo = 1u;
  if (g >= c && g <= GMAX) {
    for (var i = lid; i < g; i = i + WG) {
      gm[i] = cand[rec_at(row, i / GROUPS) + 8u + i % GROUPS];
    }
    workgroupBarrier();
    // Rank by counting (larger values, or equal ones at lower indices): one index has rank c − 1.
    for (var i = lid; i < g; i = i + WG) {
      let x = gm[i];
      var r = 0u;
      for (var j = 0u; j < g; j = j + 1u) {
        let y = gm[j];
        r = r + select(0u, 1u, y > x || (y == x && j < i));
      }
      if (r == c - 1u) {
        pick.x = x;
      }
    }
    lo = max(workgroupUniformLoad(&pick).x, 1u);
  }
  let sp = span(lid, p.nc * nm);
  var n = 0u;
  for (var j = sp.x; j < sp.y; j = j + 1u) {
    n = n + select(0u, 1u, cand_key(cand_pos(row, nm, j)) >= lo);
  }
  let ex = wg_scan2(vec2<u32>(n, 0u), lid, sg_size).x - n;
  let total = scan_total().x;
  if (total > KC) {
    return 0u;
  }
  var at = ex;
  for (var j = sp.x; j < sp.y; j = j + 1u) {
    let pos = cand_pos(row, nm, j);
    let key = cand_key(pos);
    if (key >= lo) {
      sel_key[at] = key;
      sel_id[at] = cand[pos + 1u];
      at = at + 1u;
    }
  }
  workgroupBarrier();
  var rank = 0u;
  if (lid < total) {
    let kj = sel_key[lid];
    for (var i = 0u; i < total; i = i + 1u) {
      let ki = sel_key[i];
      rank = rank + select(0u, 1u, ki > kj || (ki == kj && i < lid));
    }
    ord[rank] = lid;
  }
  workgroupBarrier();
  bound_rank = rank;
  return total;
}
#endif

#if RANKED
#include "sample/sample_heads.wgsl"
#endif

// T_p = max(1, ceil(W·P / 2^24)) for a 64-bit W < 2^49 (W·P < 2^73: 96 bits).
fn topp_target(w: vec2<u32>, P: u32) -> vec2<u32> {
  let lo = mul32(w.x, P);
  let hi = mul32(w.y, P);
  let w1 = lo.y + hi.x;
  let w2 = hi.y + select(0u, 1u, w1 < lo.y);
  var tp = vec2<u32>((lo.x >> 24u) | (w1 << 8u), (w1 >> 24u) | (w2 << 8u));
  if ((lo.x & 0xffffffu) != 0u) {
    tp = add64(tp, vec2<u32>(1u, 0u));
  }
  if (tp.x == 0u && tp.y == 0u) {
    tp = vec2<u32>(1u, 0u);
  }
  return tp;
}

#include "common/wg_entry.wgsl"
  let row = wid.x;
  if (lid == 0u) {
    opts[0] = opt_u(SEG_TEMP, row);
    opts[1] = opt_u(SEG_TOPK, row);
    opts[2] = opt_u(SEG_TOPP, row);
    opts[3] = opt_u(SEG_MINP, row);
  }
  let o = workgroupUniformLoad(&opts);
  let temp = bitcast<f32>(o[0]);
  let k = bitcast<i32>(o[1]);
  let tp = bitcast<f32>(o[2]);
  let mp = bitcast<f32>(o[3]);
  let plan = row_plan(temp, k);

  // 1. Row state (chunks ascend in id: the first of equal maxima is the lowest id).
  var kmax = 0u;
  var kid = 0xffffffffu;
  var m = NO_MAX;
  for (var c = lid; c < p.nc; c = c + WG) {
    let r = rec_at(row, c);
    let kc = cand[r];
    if (kc > kmax) {
      kmax = kc;
      kid = cand[r + 1u];
    }
    m = max(m, bitcast<f32>(cand[r + 2u]));
  }
  // Two rounds of barriers: km with mx, then id with the sum.
  let kx = wg_max_kf(kmax, m, lid, sg_size);
  let km = kx.x;
  let mx = bitcast<f32>(kx.y);
  var s = 0.0;
  for (var c = lid; c < p.nc; c = c + WG) {
    let r = rec_at(row, c);
    s = s + scale_down(bitcast<f32>(cand[r + 3u]), bitcast<f32>(cand[r + 2u]) - mx);
  }
  let ks = wg_min_sum(select(0xffffffffu, kid, kmax == km), s, lid, sg_size);
  let id = ks.x;
  let total = bitcast<f32>(ks.y);
  var lse = mx * LN2 + log(total);
  // A +∞ logit makes the sum ∞ − ∞ (NaN, as the reference defines); all −∞ gives −∞.
  if (km == KEY_POS_INF) {
    lse = fbits(F_NAN);
  } else if (km == KEY_NEG_INF) {
    lse = fbits(F_NEG_INF);
  }
  let zmax = z_of_key(km);

  // 2. The first c tokens of the order, from nsel tokens in sel_key/sel_id (ranked in ord).
  var rank = 0u;
  var nsel = plan.c;
  if (plan.c > 0u) {
    // RANKED and BOUND are separate variants (launchers/sample.ts); RANKED wins if both are set.
#if RANKED
    nsel = merge_heads(row, plan.c, lid, sg_size);
    if (nsel == 0u) {
      nsel = plan.c;
      merge_radix(row, plan.c, longest_list(row, lid, sg_size), lid, sg_size);
    }
    rank = rank_selected(nsel, lid);
#elif BOUND
    let nm = longest_list(row, lid, sg_size);
    nsel = merge_bound(row, plan.c, nm, lid, sg_size);
    rank = bound_rank;
    if (nsel == 0u) {
      nsel = plan.c;
      merge_radix(row, plan.c, nm, lid, sg_size);
      rank = rank_by_position(plan.c, lid);
    }
#else
    let nm = longest_list(row, lid, sg_size);
    merge_radix(row, plan.c, nm, lid, sg_size);
    rank = rank_by_position(plan.c, lid);
#endif
  }
#if TOPN
  if (lid < p.topn) {
    let j = ord[lid];
    top_ids[row * p.topn + lid] = i32(sel_id[j]);
    top_lp[row * p.topn + lid] = logprob(z_of_key(sel_key[j]), lse);
  }
#endif

  // 3. The token.
  if (km == KEY_NEG_INF) {
    if (lid == 0u) {
      tokens[row] = -1;
      logprobs[row] = fbits(F_NAN);
    }
  } else if (plan.open) {
    draw_open(Row(km, zmax, row * p.v), row, tp, mp, lse, lid, sg_size);
  } else if (plan.full) {
    draw_full(Row(km, zmax, row * p.v), row, k, tp, mp, lse, lid);
  } else if (!plan.fast) {
    if (lid == 0u) {
      tokens[row] = i32(id);
      logprobs[row] = logprob(zmax, lse);
    }
  } else {
    // Weights in rank order: W_k (all k), the top-p and min-p prefix lengths.
    let kq = u32(k);
    var w = 0u;
    if (lid < kq) {
      w = weight_key(sel_key[ord[lid]], km, zmax);
      // Kept by sel_* index for the draw (sample_full's ct: free on this path; the scan's
      // barriers order it before the reads).
      ct[ord[lid]] = w;
    }
    let wi = wg_scan_w(w, lid, sg_size);
    let wk = scan_total();
    var len = kq;
    if (tp < 1.0) {
      let t = topp_target(wk, u32(max(tp, 0.0) * 16777216.0));
      // The first rank whose inclusive prefix reaches T_p (T_p ≤ W_k: one exists).
      if (lid < kq && ge64(wi, t) && !ge64(sub64(wi, vec2<u32>(w, 0u)), t)) {
        pick.x = lid + 1u;
      }
      len = min(len, workgroupUniformLoad(&pick).x);
    }
    if (mp > 0.0) {
      let thr = u32(min(mp, 1.0) * 16777216.0) * 128u;
      // Weights fall along the ranks: the count of those ≥ thr is the min-p prefix.
      wg_scan2(vec2<u32>(select(0u, 1u, lid < kq && w >= thr), 0u), lid, sg_size);
      len = min(len, scan_total().x);
    }
    // The draw, in id order over the kept ranks: invocation t holds the element of the t-th
    // lowest id (the sel_* index, and its rank).
    var e = lid;
#if RANKED
    if (lid < nsel) {
      e = idord[lid];
      rank = rk[e];
    }
#endif
    var wj = 0u;
    if (lid < nsel && rank < len) {
      wj = ct[e];
    }
    let incl = wg_scan_w(wj, lid, sg_size);
    let wt = scan_total();
    let u = philox_x(vec4<u32>(opt_u(SEG_OFFSET, row), 0u, 0u, 0u), vec2<u32>(rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row], rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row + 1u]));
    // The target floor(u·W / 2^32) = hi(u·W.lo) + u·W.hi.
    let goal = add64(vec2<u32>(mul32(u, wt.x).y, 0u), mul32(u, wt.y));
    if (wj > 0u && ge64(goal, sub64(incl, vec2<u32>(wj, 0u))) && !ge64(goal, incl)) {
      tokens[row] = i32(sel_id[e]);
      logprobs[row] = logprob(z_of_key(sel_key[e]), lse);
    }
  }
}
