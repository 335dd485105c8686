// sample, pass 1: one workgroup per CHUNK (4096) logits of a row — workgroups [ceil(V/CHUNK), B],
// so a batch of rows fills the GPU and no invocation loops over the vocabulary. Each of the
// 256 invocations processes 16 consecutive logits (bias, penalties for tokens with count > 0,
// temperature: each step one correctly rounded f32 operation then canon, as
// src/ops/sample/weights.ts processLogit) into order keys held in registers, and the chunk
// writes to cand:
//   its record (rec_at: 5 words) — the largest key, the lowest id holding it, the
//     cross-entropy forward's online log2-domain (max, sum) of the processed logits (four
//     reductions in two rounds of barriers), and its list's length;
//   its first c = row_plan(..).c keys in the order (key desc, id asc) with their ids, in id
//     order (pair_at: up to KC pairs) — exact: a radix select (8 bits a round, stopping as soon
//     as the boundary bin is taken whole) then an ordered compaction. The row's top-c set is
//     within the union of its chunks' top-c sets, which sample_select merges.
// Rows that draw over the full vocabulary (row_plan(..).full or .open) also get their keys stored.
// RANKED (PMETAL_SAMPLE_VARIANT=ranked, the default): the list is the first c in the order
// itself (key desc, id asc), which sample_select's heads bound needs — every key ≥ lo (lo as
// BOUND's, below: ≥ c keys are ≥ lo, typically c plus a few) compacted into workgroup memory
// and ranked there by counting; when over KC keys are ≥ lo (ties) the radix select below
// finds the exact first c among them, which are then ranked the same way. One histogram of
// 256 maxima instead of up to 4 rounds over 4096 keys.
// BOUND (PMETAL_SAMPLE_VARIANT=bound): the list may be a superset of the first c —
// every key ≥ lo, lo from one histogram of the invocations' maxima by their distance below the
// chunk's largest key (obin: 1/8 of a binary order of distance a bin), so ≥ c keys are ≥ lo —
// written whole when it fits KC pairs (no refinement rounds; typically c plus a few), else
// refined to the exact first c as without BOUND. The record also gets the chunk's GROUPS group
// maxima, from which sample_select bounds the row's c-th key before reading any candidate.
// STAGE (bench only, PMETAL_BENCH_SAMPLE_STAGE, wrong tokens — the chunk pass's stage-by-stage
// ceiling): 1 returns after each invocation's 16 keys (loads and logit processing alone), 2 after
// the chunk's record (its reductions too, no top-c selection).
// Switches: X_DT, HAS_BIAS, HAS_COUNTS, SUBGROUPS (reductions and scans), PREFILTER (below), VEC (the launcher
// sets it when every row starts 16-byte aligned: V % 8 == 0 for 16-bit logits, V % 4 == 0
// for f32 — an invocation's 16 logits are then 2 or 4 aligned vec4<u32> loads, and a
// subgroup's loads one contiguous coalesced block).
#if SUBGROUPS
enable subgroups;
#endif

// 256: one histogram bin per invocation (the launcher never overrides it).
override WG: u32 = 256;
#ifndef STAGE
#define STAGE 0
#endif
const ITEMS: u32 = 16u;

#include "sample/sample_common.wgsl"
#include "common/convert.wgsl"
#if VEC
@group(0) @binding(0) var<storage, read> xv: array<vec4<u32>>;
// The 16 logits from element e0 (a multiple of 8, or of 4 for f32) on.
fn load16(e0: u32) -> array<f32, ITEMS> {
  var r: array<f32, ITEMS>;
#if X_DT == 0
  for (var q = 0u; q < 4u; q = q + 1u) {
    let w = bitcast<vec4<f32>>(xv[e0 / 4u + q]);
    r[4u * q] = w.x;
    r[4u * q + 1u] = w.y;
    r[4u * q + 2u] = w.z;
    r[4u * q + 3u] = w.w;
  }
#else
  for (var q = 0u; q < 2u; q = q + 1u) {
    let w = xv[e0 / 8u + q];
    for (var h = 0u; h < 4u; h = h + 1u) {
#if X_DT == 1
      let f = unpack2x16float(w[h]);
#else
      let f = vec2<f32>(bf16_to_f32(w[h] & 0xffffu), bf16_to_f32(w[h] >> 16u));
#endif
      r[8u * q + 2u * h] = f.x;
      r[8u * q + 2u * h + 1u] = f.y;
    }
  }
#endif
  return r;
}
#else
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#endif
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
#if HAS_BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif
#if HAS_COUNTS
@group(0) @binding(4) var<storage, read> counts: array<i32>;
#endif
@group(0) @binding(6) var<storage, read_write> cand: array<u32>;
#include "sample/sample_scan.wgsl"

var<workgroup> hist: array<atomic<u32>, 256>;
// The row's options (lid 0 reads them; workgroupUniformLoad makes them uniform), then the
// chosen bin of a radix round: (bin, still needed, its count).
var<workgroup> opts: array<u32, 7>;
var<workgroup> pick: vec3<u32>;
#if BOUND
// The invocations' largest keys (for the group maxima).
var<workgroup> gmax: array<u32, 256>;
#endif
#if RANKED
// The kept keys and their ids, in id order (at most KC), before they are ranked.
var<workgroup> sk: array<u32, KC>;
var<workgroup> si: array<u32, KC>;

// The chunk's list: of the n kept keys (sk/si, in id order, n ≤ KC, their first `want` in the
// order among them), the first `want` written to cand in the order (key desc, id asc) — the
// rank of each by counting, ties by position (= by id).
fn write_ranked(row: u32, chunk: u32, lid: u32, n: u32, want: u32) {
  if (lid < n) {
    let k = sk[lid];
    var r = 0u;
    // A constant bound (and a break at n): Dawn's robustness proves u < KC, no clamp per read.
    for (var u = 0u; u < KC; u = u + 1u) {
      if (u >= n) {
        break;
      }
      let x = sk[u];
      r = r + select(0u, 1u, x > k || (x == k && u < lid));
    }
    if (r < want) {
      let at = pair_at(row, chunk) + 2u * r;
      cand[at] = k;
      cand[at + 1u] = si[lid];
    }
  }
}
#endif
#if BOUND || RANKED

// The distance bin of d = (chunk max key) − (a key), ascending with d: d itself below 8, then
// 8 bins per binary order (the 3 bits after the leading one), 240 bins for any u32.
fn obin(d: u32) -> u32 {
  if (d < 8u) {
    return d;
  }
  let o = 32u - countLeadingZeros(d);
  return 8u * (o - 3u) + ((d >> (o - 4u)) & 7u);
}
// The largest distance in bin b (wraps to 0xffffffff for the last bin of the top order).
fn obin_top(b: u32) -> u32 {
  if (b < 8u) {
    return b;
  }
  let o = b / 8u + 3u;
  return (1u << (o - 1u)) + (((b % 8u) + 1u) << (o - 4u)) - 1u;
}
#endif

const LOG2E: f32 = 1.4426950408889634;
const NO_MAX: f32 = -3.0e38;
fn scale_down(s: f32, shift: f32) -> f32 {
  return ldexp(s, i32(max(shift, -256.0)));
}

// The bin of a radix round holding the `need`-th token from the top (hist filled; invocation
// t holds bin 255 − t, so the scan counts down from the top bin): (bin, still needed in it,
// its count), uniform.
fn pick_bin(lid: u32, sg_size: u32, need: u32) -> vec3<u32> {
  let b = 255u - lid;
  let cnt = atomicLoad(&hist[b]);
  let incl = wg_scan2(vec2<u32>(cnt, 0u), lid, sg_size).x;
  if (incl >= need && incl - cnt < need) {
    pick = vec3<u32>(b, need - (incl - cnt), cnt);
  }
  return workgroupUniformLoad(&pick);
}

#include "common/wg_entry.wgsl"
  let chunk = wid.x;
  let row = wid.y;
  let start = chunk * CHUNK;
  let len = min(CHUNK, p.v - start);
  let base = row * p.v + start;
  let t0 = lid * ITEMS;
#if VEC
  // Past the row's end (its last invocations) the loads read the next row or, robustly, the
  // buffer's clamped end: masked out below either way. Issued before the options' barrier, so
  // they are in flight while invocation 0 divides.
  let xs = load16(base + t0);
#endif
  // Invocation 0 reads the row's options and computes the two correctly rounded reciprocals
  // (48-step long divisions each) once for the workgroup: in every invocation they cost
  // ~500 instructions × 256 invocations × every chunk of the batch in issue slots.
  if (lid == 0u) {
    let tq = opt_u(SEG_TEMP, row);
    let rq = opt_u(SEG_REP, row);
    opts[0] = tq;
    opts[1] = rq;
    opts[2] = opt_u(SEG_PRES, row);
    opts[3] = opt_u(SEG_FREQ, row);
    opts[4] = opt_u(SEG_TOPK, row);
    let t = bitcast<f32>(tq);
    let r = bitcast<f32>(rq);
    opts[5] = bitcast<u32>(recip(clamp_scale(select(1.0, t, t > 0.0))));
    opts[6] = bitcast<u32>(recip(clamp_scale(select(1.0, r, r > 0.0))));
  }
  let o = workgroupUniformLoad(&opts);
  let temp = bitcast<f32>(o[0]);
  let temp_on = temp > 0.0;
  let rtemp = bitcast<f32>(o[5]);
  let rep = bitcast<f32>(o[1]);
  let rep_c = clamp_scale(select(1.0, rep, rep > 0.0));
  let rep_on = rep > 0.0 && rep_c != 1.0;
  let rrep = bitcast<f32>(o[6]);
  let pres = bitcast<f32>(o[2]);
  let freq = bitcast<f32>(o[3]);
  let plan = row_plan(temp, bitcast<i32>(o[4]));
#if BOUND || RANKED
  // Zeroed here: the reductions' barriers order it before the histogram below.
  atomicStore(&hist[lid], 0u);
#endif

  // Keys of the invocation's 16 consecutive tokens; past the row's end they stay 0 (below
  // every real key, so `key >= lo` leaves them out).
  var kk: array<u32, ITEMS>;
  var kmax = 0u;
  var kid = 0xffffffffu;
  var st = vec2<f32>(NO_MAX, 0.0);
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let j = t0 + i;
    var k = 0u;
    if (j < len) {
#if VEC
      var a = canon(xs[i]);
#else
      var a = canon(load_x(base + j));
#endif
#if HAS_BIAS
      a = canon(a + canon(bias[base + j]));
#endif
#if HAS_COUNTS
      let c = counts[base + j];
      if (c > 0) {
        if (rep_on) {
          a = canon(select(a * rrep, a * rep_c, a < 0.0));
        }
        a = canon(a - canon(canon(freq * f32(min(c, 16777216))) + pres));
      }
#endif
      if (temp_on) {
        a = canon(a * rtemp);
      }
      k = key_of(a);
      if (plan.full || plan.open) {
        keys[base + j] = k;
      }
      // Ids ascend within an invocation: the first of equal keys is the lowest id.
      if (k > kmax) {
        kmax = k;
        kid = start + j;
      }
      // The online (m, s) of cross_entropy.wgsl on z = the key's value (NaN → −∞, skipped).
      if (k != KEY_NEG_INF) {
        let t = z_of_key(k) * LOG2E;
        if (t > st.x) {
          let mn = ceil(t);
          st.y = scale_down(st.y, st.x - mn);
          st.x = mn;
        }
        st.y = st.y + exp2(t - st.x);
      }
    }
    kk[i] = k;
  }
#if STAGE == 1
  // A store no key reaches keeps the loop's work live; the return is on a uniform value (the
  // barriers after it), and the rest stays reachable (every binding in the layout).
  if (kmax == 0xfffffffeu && st.y < 0.0) {
    cand[0] = kid;
  }
  if (chunk < 0xffffffffu) {
    return;
  }
#endif
#if BOUND
  gmax[lid] = kmax;
#endif
  // The record's four reductions in two rounds of barriers (km with mx, then id with the sum).
  let kx = wg_max_kf(kmax, st.x, lid, sg_size);
  let km = kx.x;
  let mx = bitcast<f32>(kx.y);
  let ks = wg_min_sum(select(0xffffffffu, kid, kmax == km), scale_down(st.y, st.x - mx), lid, sg_size);
  let id = ks.x;
  let total = bitcast<f32>(ks.y);
  // Pairs written below: the chunk's first c (all its tokens when it has fewer), or with
  // BOUND possibly more (rewritten then).
  let want = min(plan.c, len);
  if (lid == 0u) {
    let r = rec_at(row, chunk);
    cand[r] = km;
    cand[r + 1u] = id;
    cand[r + 2u] = bitcast<u32>(mx);
    cand[r + 3u] = bitcast<u32>(total);
    cand[r + 4u] = want;
  }
#if STAGE == 2
  if (chunk < 0xffffffffu) {
    return;
  }
#endif
  if (plan.c == 0u) {
    return;
  }

  // The chunk's first c keys in the order: a boundary bin (prefix over mask) from the top,
  // refined 8 bits a round until its remaining `need` tokens are the whole bin or the bin is
  // one key (then its `need` lowest ids). Only keys ≥ lo take part: 1 (every real key is
  // ≥ KEY_NEG_INF; the slots past the row's end hold 0) or, with PREFILTER, a lower bound on
  // the c-th key.
  var lo = 1u;
#if BOUND
  // Group g's largest key (invocations 32g .. 32g + 31; the reductions' barriers ordered gmax).
  if (lid < GROUPS) {
    var g = 0u;
    for (var i = 0u; i < GROUP_TOKENS / ITEMS; i = i + 1u) {
      g = max(g, gmax[lid * (GROUP_TOKENS / ITEMS) + i]);
    }
    cand[rec_at(row, chunk) + 8u + lid] = g;
  }
#endif
#if BOUND || RANKED
  let holders = (len + ITEMS - 1u) / ITEMS;
  if (want < len && want <= holders) {
    // The invocations' maxima by distance below km; the bin holding the want-th largest
    // bounds it: every maximum in bins up to it is ≥ lo, so ≥ want keys are.
    if (t0 < len) {
      atomicAdd(&hist[obin(km - kmax)], 1u);
    }
    workgroupBarrier();
    let cnt = atomicLoad(&hist[lid]);
    let incl = wg_scan2(vec2<u32>(cnt, 0u), lid, sg_size).x;
    if (incl >= want && incl - cnt < want) {
      pick.x = lid;
    }
    let top = obin_top(workgroupUniformLoad(&pick).x);
    lo = select(1u, km - top, top < km);
  }
#endif
#if RANKED || BOUND
  // Every key ≥ lo (≥ want of them), counted and placed in id order by one scan.
  var n = 0u;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    n = n + select(0u, 1u, kk[i] >= lo);
  }
  let sx = wg_scan2(vec2<u32>(n, 0u), lid, sg_size).x - n;
  let sn = scan_total().x;
#endif
#if RANKED
  // Into workgroup memory when they fit, then ranked there: no refinement rounds.
  if (sn <= KC) {
    var at = sx;
    for (var i = 0u; i < ITEMS; i = i + 1u) {
      if (kk[i] >= lo) {
        sk[at] = kk[i];
        si[at] = start + t0 + i;
        at = at + 1u;
      }
    }
    workgroupBarrier();
    write_ranked(row, chunk, lid, sn, want);
    return;
  }
  // Too many (ties at the bound): the exact first `want` below, among keys ≥ lo, then ranked.
#elif BOUND
  // Into the chunk's KC candidate slots when they fit.
  if (sn <= KC) {
    var at = pair_at(row, chunk) + 2u * sx;
    for (var i = 0u; i < ITEMS; i = i + 1u) {
      if (kk[i] >= lo) {
        cand[at] = kk[i];
        cand[at + 1u] = start + t0 + i;
        at = at + 2u;
      }
    }
    if (lid == 0u) {
      cand[rec_at(row, chunk) + 4u] = sn;
    }
    return;
  }
  // Too many (ties at the bound): the exact first `want` below, among keys ≥ lo (the first
  // round zeroes the histogram again; scan_total's barrier ordered the reads above).
#elif PREFILTER
  // Most logits of a chunk share a few top-byte bins, so a histogram of all 4096 keys makes
  // thousands of workgroup atomics on a few addresses. The invocations' maxima bound the c-th
  // key from below: when c invocations hold keys, the 16-bit bin edge of the c-th largest
  // maximum has at least c keys at or above it — usually a few more than c.
  let holders = (len + ITEMS - 1u) / ITEMS;
  if (want < len && want <= holders) {
    var pf = 0u;
    var pm = 0u;
    var pneed = want;
    for (var d = 0u; d < 2u; d = d + 1u) {
      let shift = 24u - 8u * d;
      atomicStore(&hist[lid], 0u);
      workgroupBarrier();
      if (t0 < len && (kmax & pm) == pf) {
        atomicAdd(&hist[(kmax >> shift) & 255u], 1u);
      }
      workgroupBarrier();
      let s = pick_bin(lid, sg_size, pneed);
      pf = pf | (s.x << shift);
      pm = pm | (255u << shift);
      pneed = s.y;
    }
    lo = max(pf, 1u);
  }
#endif
  var prefix = 0u;
  var mask = 0u;
  var need = want;
  var whole = want == len;
  for (var d = 0u; d < 4u && !whole; d = d + 1u) {
    let shift = 24u - 8u * d;
    atomicStore(&hist[lid], 0u);
    workgroupBarrier();
    for (var i = 0u; i < ITEMS; i = i + 1u) {
      if (kk[i] >= lo && (kk[i] & mask) == prefix) {
        atomicAdd(&hist[(kk[i] >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    let s = pick_bin(lid, sg_size, need);
    prefix = prefix | (s.x << shift);
    mask = mask | (255u << shift);
    need = s.y;
    whole = s.y == s.z;
  }
  let lim = select(need, 0xffffffffu, whole);
  var above = 0u;
  var ties = 0u;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    if (kk[i] >= lo) {
      let m = kk[i] & mask;
      above = above + select(0u, 1u, m > prefix);
      ties = ties + select(0u, 1u, m == prefix);
    }
  }
  let ex = wg_scan2(vec2<u32>(above, ties), lid, sg_size) - vec2<u32>(above, ties);
#if RANKED
  var at = ex.x + min(ex.y, lim);
#else
  var at = pair_at(row, chunk) + 2u * (ex.x + min(ex.y, lim));
#endif
  var tr = ex.y;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    if (kk[i] >= lo) {
      let m = kk[i] & mask;
      var take = m > prefix;
      if (m == prefix) {
        take = tr < lim;
        tr = tr + 1u;
      }
      if (take) {
#if RANKED
        sk[at] = kk[i];
        si[at] = start + t0 + i;
        at = at + 1u;
#else
        cand[at] = kk[i];
        cand[at + 1u] = start + t0 + i;
        at = at + 2u;
#endif
      }
    }
  }
#if RANKED
  workgroupBarrier();
  write_ranked(row, chunk, lid, want, want);
#endif
}
