// decode_attention, pass 1 ('subgroups' and 'portable' tiers, every dtype), built to stream the
// KV cache at memory bandwidth. A workgroup owns RB problem rows — (query token, head) pairs of
// the G query heads of one kv head — of one sequence and one split of its keys
// ([s·L, s·L + L) ∩ [0, length)), so each K/V byte is read from memory once for all G heads
// (rows past RB only in MQA-like shapes: their row blocks sit next to each other in the grid
// and share the keys through L2).
//
// Keys are read straight from global memory, never staged: a team of TL invocations owns one
// key at a time, each lane holding NW 16-byte words of its K row and NWV of its V row (lane
// tl has words tl, tl + TL, …: a team reads whole rows in coalesced 16-byte loads). Each step
// a team loads U keys (U·(NW + NWV) loads in flight per lane) before using any, so the
// memory system sees enough requests without a deep occupancy. q lives in registers (the
// same TL-way split of the head dim); a score is the team's partial dot products summed by
// subgroupShuffleXor (SUBGROUPS: a team is TL consecutive invocations of one subgroup, TL ≤
// the adapter's smallest subgroup) or through workgroup memory (portable: two barriers a step).
//
// The online softmax runs per team and key in registers, with fa_forward.wgsl's lazy rescale:
// the running max moves only when a key's logit exceeds it by TAU. At the end the NT teams'
// (m, l, acc) are combined through workgroup memory into the split's partial, written
// unnormalised, for decode_reduce.wgsl. Bounds
// (src/ops/flash_attention_forward/bounds.ts, splitCombine): the bound counts R + 1 rescales
// with R = 1 + ⌊range/τ⌋, the 1 being the first logit's (which here multiplies zeros: it
// carries no error); a weight here sees at most ⌊range/τ⌋ in-team rescales, the team combine
// and the split combine — R + 1. Sums: a term passes through ≤ (its team's keys) + (non-empty
// teams) + (non-empty splits) + the sink ≤ 2n + 2 additions (empty teams/splits add exact 0).
//
// Sequence checks: only what keeps every read in bounds (a length outside [0, capacity] reads
// nothing; a block-table entry outside the cache reads zeros): decode_reduce.wgsl checks the
// whole sequence (decode_seq.wgsl) and writes NaN for an invalid one, whatever its partials.
// DIRECT (the plan has one split: every key of a row in one workgroup): the row is finished
// here as decode_reduce.wgsl finishes one split (decode_out.wgsl; sinks at binding 9, the
// sequence check below) — no partials, no second dispatch.
// Defines: Q_DT, WG, TL (lanes a key, a power of two), NW, NWV (words a lane), RB, U, SUBGROUPS,
// PREFETCH (the next step's keys loaded before the current ones are used), DIRECT;
// STAGE (bench only, PMETAL_BENCH_DECODE_STAGE, wrong results): 1 returns at once, 2 skips the
// key loop, 4 loads every key's words but skips the scores and the softmax — the
// stage-by-stage ceiling of a step.
#ifndef STAGE
#define STAGE 0
#endif
#if SUBGROUPS
enable subgroups;
#endif
#ifndef WG
#define WG 128u
#endif
#ifndef TL
#define TL 16u
#endif
#ifndef NW
#define NW 1u
#endif
#ifndef NWV
#define NWV 1u
#endif
#ifndef RB
#define RB 4u
#endif
#ifndef U
#define U 2u
#endif

const NT: u32 = WG / TL;
const KPS: u32 = NT * U;
const TAU: f32 = 8.0;
const LOWEST: f32 = -0x1.fffffep+127f;
#if Q_DT == 0
// vec4<f32> of acc per 16-byte word: 1 for f32, 2 (lo, hi) for 16-bit elements.
const VPW: u32 = 1u;
#else
const VPW: u32 = 2u;
#endif

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=Q_DT)
#include "loss/softcap.wgsl"

struct V8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> lengths: array<i32>;
@group(0) @binding(4) var<storage, read> table: array<i32>;
#if DIRECT
@group(0) @binding(9) var<storage, read> sinks: array<f32>;
#else
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;
#endif
#include "attention/decode_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#if DIRECT
#include "attention/decode_out.wgsl"
var<workgroup> seq_bad_count: atomic<u32>;
var<workgroup> seq_bad_flag: u32;
#include "attention/decode_table_ok.wgsl"
#endif

var<workgroup> seq_raw_wg: i32;
// The teams' (m, l) per row, then their rescaled acc of one row (vec4 words, team-major).
var<workgroup> team_m: array<f32, NT * RB>;
var<workgroup> team_l: array<f32, NT * RB>;
var<workgroup> team_acc: array<vec4<f32>, WG * NWV * VPW>;
// TREE (NT ≥ 32 teams: the `single` plan's 128, wide workgroups): the combine's max and sums
// over the teams as trees in log2(NT) barrier steps — walked team by team, each of the three
// is NT dependent workgroup loads (~11k cycles at NT = 128, as long as the reduce dispatch it
// replaces). tree_f holds one f32 a team.
const TREE: bool = NT >= 32u;
var<workgroup> tree_f: array<f32, NT>;
#if SUBGROUPS == 0
// Portable score reduction: each lane's partial dot products, then each team's sums.
var<workgroup> dot_part: array<f32, U * RB * WG>;
var<workgroup> dot_sum: array<f32, NT * U * RB>;
#endif

fn dec(w: vec4<u32>) -> V8 {
  return V8(dec_lo(w), dec_hi(w));
}

fn wdot(a: V8, w: vec4<u32>) -> f32 {
#if Q_DT == 0
  return dot(a.lo, bitcast<vec4<f32>>(w));
#else
  return dot(a.lo, dec_lo(w)) + dot(a.hi, dec_hi(w));
#endif
}

// The cache row (in rows of one head dim) of key j of kv head kvh, or -1 when its paged block
// is outside the cache (then nothing is read). One table read serves K and V.
fn key_slot(b: u32, kvh: u32, j: u32) -> i32 {
  if (p.paged != 0u) {
    let blk = table[p.table_base + b * p.max_blocks + j / p.block_size];
    if (blk < 0 || u32(blk) >= p.num_blocks) {
      return -1;
    }
    return i32((u32(blk) * p.block_size + j % p.block_size) * p.hkv + kvh);
  }
  return i32((b * p.hkv + kvh) * p.smax + j);
}

// Word c of a row's acc summed over the teams (TREE: already in the first team's slice).
fn team_sum(c: u32) -> vec4<f32> {
  if (TREE) {
    return team_acc[c];
  }
  var a = vec4<f32>(0.0);
  for (var tt = 0u; tt < NT; tt = tt + 1u) {
    a = a + team_acc[tt * TL * NWV * VPW + c];
  }
  return a;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
#if STAGE == 1
  if (gid < p.groups) {
    return;
  }
#endif
  let blk = gid % p.blocks;
  let s = (gid / p.blocks) % p.splits;
  let kvh = (gid / (p.blocks * p.splits)) % p.hkv;
  let b = gid / (p.blocks * p.splits * p.hkv);
  if (lid == 0u) {
    seq_raw_wg = lengths[p.len_base + b];
  }
  let seq_raw = workgroupUniformLoad(&seq_raw_wg);
  let len_ok = seq_raw >= 0 && u32(seq_raw) <= p.capacity;
  let seq_len = select(0u, u32(seq_raw), len_ok);

  let team = lid / TL;
  let tl = lid % TL;
  let wk = p.d / EPV;
  let wv = p.dv / EPV;
  let s0 = i32(s * p.split_len);
  let s1 = min(i32((s + 1u) * p.split_len), i32(seq_len)) - 1;

  // Each row's keys [lo, hi] within the split, its q words, and the workgroup's key range.
  // Every loop over rows (RI), keys in flight (UI) and a lane's words (WI) is unrolled by the
  // preprocessor (#for): the per-row arrays are then indexed by constants only and stay in
  // registers — rolled, the driver sent them to local memory (run S9: RB = 4 ran slower than
  // one row a workgroup reading its keys G times).
  var rlo: array<i32, RB>;
  var rhi: array<i32, RB>;
  var qr: array<V8, RB * NW>;
  var kstart = s1 + 1;
  var kend = s0 - 1;
#for RI RB
  {
    let row = blk * RB + RI;
    let rc = min(row, p.rows - 1u);
    let pos = i32(seq_len) - i32(p.t) + i32(rc / p.group);
    rlo[RI] = max(max(pos - p.left, 0), s0);
    rhi[RI] = select(s0 - 1, min(pos, s1), row < p.rows);
    if (rlo[RI] <= rhi[RI]) {
      kstart = min(kstart, rlo[RI]);
      kend = max(kend, rhi[RI]);
    }
    let h = kvh * p.group + rc % p.group;
    let qw = (p.q_base + ((b * p.t + rc / p.group) * p.hq + h) * p.d) / EPV;
#for WI NW
    {
      let w = tl + WI * TL;
      var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (w < wk && row < p.rows) {
        x = dec(q[qw + w]);
      }
      qr[RI * NW + WI] = x;
    }
#endfor
  }
#endfor

  var m: array<f32, RB>;
  var l: array<f32, RB>;
  var acc: array<V8, RB * NWV>;
#for RI RB
  m[RI] = LOWEST;
  l[RI] = 0.0;
#endfor
  // kstart/kend come from uniform values only: every lane runs the same number of steps
  // (the subgroup shuffles and the portable barriers need that).
#if STAGE == 2
  let steps = 0u;
#else
  let steps = select(0u, (u32(kend - kstart) + KPS) / KPS, kend >= kstart);
#endif
  // The keys of a step: each lane's words of its team's U keys (decode_load.wgsl).
  var kw: array<vec4<u32>, U * NW>;
  var vw: array<vec4<u32>, U * NWV>;
  var kj: array<i32, U>;
#if PREFETCH
  if (steps > 0u) {
#include "attention/decode_load.wgsl" (KB=kstart)
  }
#endif
  for (var st = 0u; st < steps; st = st + 1u) {
    let kb = kstart + i32(st * KPS);
    // Load U keys per team first, then use them. PREFETCH: the next step's keys are loaded
    // before this step's are used (kw / vw hold the next step's words while the scores and the
    // softmax of the current ones run: twice the loads in flight a lane, no more unrolling).
#if PREFETCH
    var ckw = kw;
    var cvw = vw;
    var ckj = kj;
    if (st + 1u < steps) {
      let kn = kb + i32(KPS);
#include "attention/decode_load.wgsl" (KB=kn)
    }
#else
#include "attention/decode_load.wgsl" (KB=kb)
    var ckw = kw;
    var cvw = vw;
    var ckj = kj;
#endif
#if STAGE == 4
    // Loads only (bench): every word consumed by one integer op; no scores, no softmax.
    var sink = vec4<u32>(0u);
#for UI U
#for WI NW
    sink = sink ^ ckw[UI * NW + WI];
#endfor
#for WI NWV
    sink = sink ^ cvw[UI * NWV + WI];
#endfor
#endfor
    acc[0].lo = acc[0].lo + bitcast<vec4<f32>>(sink & vec4<u32>(0x3c00u));
#else
    // The team's scores: partial dot products, summed over the team's lanes.
    var sc: array<f32, U * RB>;
#for UI U
#for RI RB
    {
      var dt = 0.0;
#for WI NW
      dt = dt + wdot(qr[RI * NW + WI], ckw[UI * NW + WI]);
#endfor
      sc[UI * RB + RI] = dt;
    }
#endfor
#endfor
#if SUBGROUPS
#for UI U
#for RI RB
    for (var o = 1u; o < TL; o = o * 2u) {
      sc[UI * RB + RI] = sc[UI * RB + RI] + subgroupShuffleXor(sc[UI * RB + RI], o);
    }
#endfor
#endfor
#else
#for UI U
#for RI RB
    dot_part[(UI * RB + RI) * WG + lid] = sc[UI * RB + RI];
#endfor
#endfor
    workgroupBarrier();
    for (var x = tl; x < U * RB; x = x + TL) {
      var t = 0.0;
      for (var y = 0u; y < TL; y = y + 1u) {
        t = t + dot_part[x * WG + team * TL + y];
      }
      dot_sum[team * U * RB + x] = t;
    }
    workgroupBarrier();
#for UI U
#for RI RB
    sc[UI * RB + RI] = dot_sum[team * U * RB + UI * RB + RI];
#endfor
#endfor
#endif
#for UI U
    {
      let j = ckj[UI];
      var vx: array<V8, NWV>;
#for WI NWV
      vx[WI] = dec(cvw[UI * NWV + WI]);
#endfor
#for RI RB
      if (j >= rlo[RI] && j <= rhi[RI]) {
        var z = p.scale * sc[UI * RB + RI];
        if (p.has_cap != 0u) {
          z = softcap(z, p.cap, p.inv_cap).x;
        }
        if (z > m[RI] + TAU) {
          let alpha = select(exp(m[RI] - z), 0.0, m[RI] == LOWEST);
          l[RI] = l[RI] * alpha;
#for WI NWV
          acc[RI * NWV + WI].lo = acc[RI * NWV + WI].lo * alpha;
          acc[RI * NWV + WI].hi = acc[RI * NWV + WI].hi * alpha;
#endfor
          m[RI] = z;
        }
        let pj = exp(z - m[RI]);
        l[RI] = l[RI] + pj;
#for WI NWV
        acc[RI * NWV + WI].lo = acc[RI * NWV + WI].lo + pj * vx[WI].lo;
#if Q_DT != 0
        acc[RI * NWV + WI].hi = acc[RI * NWV + WI].hi + pj * vx[WI].hi;
#endif
#endfor
      }
#endfor
    }
#endfor
#endif
  }

#if DIRECT
  // The whole sequence's check (decode_seq.wgsl's rule, which decode_reduce applies otherwise).
  let tab_ok = table_ok(b, 0u, seq_len, lid);
  let seq_ok = len_ok && tab_ok;
#endif
  // Combine the teams: M = max of their m, each team's l and acc rescaled by exp(m − M).
  if (tl == 0u) {
#for RI RB
    team_m[team * RB + RI] = m[RI];
    team_l[team * RB + RI] = l[RI];
#endfor
  }
  workgroupBarrier();
  let dv4 = p.dv / 4u;
#for RI RB
  {
    let row = blk * RB + RI;
    // Words a team holds of a row's acc (its slice of team_acc).
    const DW: u32 = TL * NWV * VPW;
    var mx = LOWEST;
    if (TREE) {
      if (lid < NT) {
        tree_f[lid] = team_m[lid * RB + RI];
      }
      for (var st = NT / 2u; st > 0u; st = st / 2u) {
        workgroupBarrier();
        if (lid < st) {
          tree_f[lid] = max(tree_f[lid], tree_f[lid + st]);
        }
      }
      workgroupBarrier();
      mx = tree_f[0];
    } else {
      for (var tt = 0u; tt < NT; tt = tt + 1u) {
        mx = max(mx, team_m[tt * RB + RI]);
      }
    }
    let w = exp(m[RI] - mx);
#for WI NWV
    {
      let c = (tl + WI * TL) * VPW;
      team_acc[team * DW + c] = acc[RI * NWV + WI].lo * w;
#if Q_DT != 0
      team_acc[team * DW + c + 1u] = acc[RI * NWV + WI].hi * w;
#endif
    }
#endfor
    // lt = Σ_teams l·exp(m − M) and each word's Σ_teams acc: team by team, or (TREE) as trees
    // whose sums land in tree_f[0] and the first team's words (fewer additions a term than
    // the walk, so the bound's count holds).
    var lt = 0.0;
    if (TREE) {
      workgroupBarrier();
      if (lid < NT) {
        tree_f[lid] = team_l[lid * RB + RI] * exp(team_m[lid * RB + RI] - mx);
      }
      for (var st = NT / 2u; st > 0u; st = st / 2u) {
        workgroupBarrier();
        if (lid < st) {
          tree_f[lid] = tree_f[lid] + tree_f[lid + st];
        }
        for (var i = lid; i < st * DW; i = i + WG) {
          team_acc[i] = team_acc[i] + team_acc[i + st * DW];
        }
      }
      workgroupBarrier();
      lt = tree_f[0];
    } else {
      workgroupBarrier();
      for (var tt = 0u; tt < NT; tt = tt + 1u) {
        lt = lt + team_l[tt * RB + RI] * exp(team_m[tt * RB + RI] - mx);
      }
    }
    if (row < p.rows) {
      let t = row / p.group;
      let h = kvh * p.group + row % p.group;
#if DIRECT
      // The one split's (mx, lt, acc) finished as decode_reduce finishes one split: its
      // weight w = exp(mx − M) against the sink, o = w·acc / (w·lt + exp(sink − M)).
      var big = select(LOWEST, mx, lt > 0.0);
      var sink = 0.0;
      if (p.has_sinks != 0u) {
        sink = sinks[p.sink_base + h];
        big = max(big, sink);
      }
      let w = select(0.0, exp(mx - big), lt > 0.0);
      var lw = w * lt;
      if (p.has_sinks != 0u) {
        lw = lw + exp(sink - big);
      }
      for (var c = lid; c < dv4; c = c + WG) {
        out_word(b, t, h, c, w * team_sum(c), lw, seq_ok);
      }
      if (lid == 0u) {
        out_lse(b, t, h, big, lw, seq_ok);
      }
#else
      let rec = p.part_base + (((b * p.hq + h) * p.t + t) * p.splits + s) * p.rec_words;
      if (lid == 0u) {
        part[rec] = vec4<f32>(mx, lt, 0.0, 0.0);
      }
      for (var c = lid; c < dv4; c = c + WG) {
        part[rec + 1u + c] = team_sum(c);
      }
#endif
    }
    workgroupBarrier();
  }
#endfor
}
