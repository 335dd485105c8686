// decode_attention, pass 2: one workgroup per (sequence, head, query token) combines the
// splits' partials (m_s, l_s, acc_s) of decode_stream.wgsl — M = max over splits that saw a
// key (and the sink), w_s = exp(m_s − M), l = Σ w_s·l_s (+ exp(sink − M)), o = Σ w_s·acc_s / l,
// lse = M + log(l) — one more rescale of every weight and an S-term sum (the splitCombine
// terms of the bound: the sum is split over lanes, then the lanes' sums added; empty splits
// add exact zeros). The splits are spread over the workgroup: invocation (sl, c) owns output
// word c (4 elements) of splits sl, sl + WG/COLS, … (COLS: a power of two ≥ Dv/4), so many
// splits cost a few loads per invocation, not one serial walk of every split. A row that saw no key: o = 0, lse = −∞ (or the sink's); an invalid sequence
// (decode_seq.wgsl: a length outside [0, capacity], a used block-table entry outside the
// cache): NaN. Defines: Q_DT, COLS (a power of two ≥ Dv/4, ≤ WG).
#ifndef COLS
#define COLS 32u
#endif
const WG: u32 = 256u;
const SL: u32 = WG / COLS;
const LOWEST: f32 = -0x1.fffffep+127f;

#include "common/convert.wgsl"
#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> sinks: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<i32>;
@group(0) @binding(4) var<storage, read> table: array<i32>;
@group(0) @binding(5) var<storage, read> part: array<vec4<f32>>;
#include "attention/decode_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/decode_out.wgsl"

var<workgroup> seq_bad_count: atomic<u32>;
var<workgroup> seq_bad_flag: u32;
#include "attention/decode_table_ok.wgsl"
var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_l: array<f32, SL>;
var<workgroup> red_acc: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  // gid = (b·hq + h)·T + t: the lse index.
  let t = gid % p.t;
  let h = (gid / p.t) % p.hq;
  let b = gid / (p.t * p.hq);
#include "attention/decode_seq.wgsl"

  let rec0 = p.part_base + gid * p.splits * p.rec_words;
  // M: every invocation takes a stride of the splits, then a tree over the workgroup.
  var mx = LOWEST;
  for (var s = lid; s < p.splits; s = s + WG) {
    let ml = part[rec0 + s * p.rec_words].xy;
    if (ml.y > 0.0) {
      mx = max(mx, ml.x);
    }
  }
  red_m[lid] = mx;
  for (var n = WG / 2u; n > 0u; n = n / 2u) {
    workgroupBarrier();
    if (lid < n) {
      red_m[lid] = max(red_m[lid], red_m[lid + n]);
    }
  }
  workgroupBarrier();
  mx = red_m[0];
  var sink = 0.0;
  if (p.has_sinks != 0u) {
    sink = sinks[p.sink_base + h];
    mx = max(mx, sink);
  }
  let c = lid % COLS;
  let sl = lid / COLS;
  let dv4 = p.dv / 4u;
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  // Branch-free so the loads of successive splits can be in flight together: every split's
  // record is written whole (an empty one: l = 0, acc = 0) and weighs 0 when it saw nothing.
  let cc = min(c, dv4 - 1u);
  for (var s = sl; s < p.splits; s = s + SL) {
    let ml = part[rec0 + s * p.rec_words].xy;
    let a = part[rec0 + s * p.rec_words + 1u + cc];
    let w = select(0.0, exp(ml.x - mx), ml.y > 0.0);
    l = l + w * ml.y;
    acc = acc + w * a;
  }
  red_acc[lid] = acc;
  if (c == 0u) {
    red_l[sl] = l;
  }
  workgroupBarrier();
  if (sl == 0u) {
    var lt = 0.0;
    for (var x = 0u; x < SL; x = x + 1u) {
      lt = lt + red_l[x];
      if (x > 0u) {
        acc = acc + red_acc[x * COLS + c];
      }
    }
    if (p.has_sinks != 0u) {
      lt = lt + exp(sink - mx);
    }
    if (c < dv4) {
      out_word(b, t, h, c, acc, lt, seq_ok);
    }
    if (lid == 0u) {
      out_lse(b, t, h, mx, lt, seq_ok);
    }
  }
}
