// decode_attention, pass 2: one workgroup per (sequence, head, query token) combines the
// splits' partials (m_s, l_s, acc_s) of decode_split.wgsl — M = max over splits that saw a
// key (and the sink), w_s = exp(m_s − M), l = Σ w_s·l_s (+ exp(sink − M)), o = Σ w_s·acc_s / l,
// lse = M + log(l) — one more rescale of every weight and an S-term sum (the splitCombine
// terms of the bound). Invocation c owns output elements 4c .. 4c+3. A row that saw no key:
// o = 0, lse = −∞ (or the sink's); an invalid sequence (decode_seq.wgsl): NaN.
// Defines: Q_DT.
override WG: u32 = 64;

#include "common/convert.wgsl"
#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> sinks: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<i32>;
@group(0) @binding(4) var<storage, read> table: array<i32>;
@group(0) @binding(5) var<storage, read> part: array<vec4<f32>>;
#if Q_DT == 0
@group(0) @binding(6) var<storage, read_write> o: array<vec4<f32>>;
#else
@group(0) @binding(6) var<storage, read_write> o: array<vec2<u32>>;
#endif
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
#include "attention/decode_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> seq_bad_count: atomic<u32>;
var<workgroup> seq_bad_flag: u32;

fn enc4(x: vec4<f32>) -> vec2<u32> {
#if Q_DT == 1
  return vec2<u32>(f32_to_f16(x.x) | (f32_to_f16(x.y) << 16u), f32_to_f16(x.z) | (f32_to_f16(x.w) << 16u));
#else
  return vec2<u32>(f32_to_bf16(x.x) | (f32_to_bf16(x.y) << 16u), f32_to_bf16(x.z) | (f32_to_bf16(x.w) << 16u));
#endif
}

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
  var mx = -0x1.fffffep+127f;
  for (var s = 0u; s < p.splits; s = s + 1u) {
    let ml = part[rec0 + s * p.rec_words].xy;
    if (ml.y > 0.0) {
      mx = max(mx, ml.x);
    }
  }
  var sink = 0.0;
  if (p.has_sinks != 0u) {
    sink = sinks[p.sink_base + h];
    mx = max(mx, sink);
  }
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  let c = lid;
  for (var s = 0u; s < p.splits; s = s + 1u) {
    let ml = part[rec0 + s * p.rec_words].xy;
    if (ml.y > 0.0) {
      let w = exp(ml.x - mx);
      l = l + w * ml.y;
      if (c < p.dv / 4u) {
        acc = acc + w * part[rec0 + s * p.rec_words + 1u + c];
      }
    }
  }
  if (p.has_sinks != 0u) {
    l = l + exp(sink - mx);
  }
  let nan = quiet_nan(lid);
  let empty = l == 0.0;
  if (c < p.dv / 4u) {
    var x = select(acc / l, vec4<f32>(0.0), empty);
    if (!seq_ok) {
      x = vec4<f32>(nan);
    }
    let oi = p.o_base / 4u + ((b * p.t + t) * p.hq + h) * (p.dv / 4u) + c;
#if Q_DT == 0
    o[oi] = x;
#else
    o[oi] = enc4(x);
#endif
  }
  if (lid == 0u) {
    let ninf = bitcast<f32>(0xff800000u | (lid & 0u));
    lse[p.lse_base + gid] = select(select(mx + log(l), ninf, empty), nan, !seq_ok);
  }
}
