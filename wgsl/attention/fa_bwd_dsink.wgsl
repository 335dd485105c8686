// Flash attention backward, dsinks: one workgroup per query head h sums −exp(sink_h − lse)·D
// over the head's rows of this dispatch's batches ((lse, D) from fa_bwd_prep), in a fixed
// order: each invocation strides over the rows, then a workgroup tree. Dispatches over batch
// chunks run in order; Params.bq = 1 makes one add to the earlier chunks' sum in `out`.
// Varlen: the rows of sequences only (padding tokens are no queries); malformed cu_seqlens
// give NaN. Deterministic.
override WG: u32 = 128;

#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> sinks: array<f32>;
@group(0) @binding(4) var<storage, read> ld: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> part: array<f32, WG>;
var<workgroup> cu_bad_count: atomic<u32>;
var<workgroup> cu_bad_flag: u32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x + wid.y * p.groups_x;
  if (h >= p.hq) {
    return;
  }
#include "attention/fa_validate.wgsl"
  let sink = sinks[p.sink_base + h];
  // Rows of head h: (b, s) for b < batches, s < sq (varlen: one batch, s < cuq[B]).
  var per = p.sq;
  if (p.varlen != 0u && cu_ok) {
    per = u32(cuq[p.batches]);
  }
  let n = select(p.batches, 1u, p.varlen != 0u) * per;
  var acc = 0.0;
  if (cu_ok) {
    for (var t = lid; t < n; t = t + WG) {
      let b = t / per;
      let s = t % per;
      let x = ld[p.ld_base + (b * p.hq + h) * p.sq + s];
      acc = acc - exp(sink - x.x) * x.y;
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w >> 1u) {
    if (lid < w) {
      part[lid] = part[lid] + part[lid + w];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var r = part[0];
    if (p.bq != 0u) {
      r = r + out[p.out_base + h];
    }
    out[p.out_base + h] = select(quiet_nan(lid), r, cu_ok);
  }
}
