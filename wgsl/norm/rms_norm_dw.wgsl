// dw_j = Σ_rows dy_j·x_j·r, in two deterministic levels (no float atomics):
// PARTIAL: invocation j of workgroup (bx, chunk) sums `chunk_rows` rows of column j into
//          part[(chunk0 + chunk)·n + j] (for rms_norm_backward.wgsl, which leaves r in `rs`);
// otherwise: sums the `chunks` partial rows of part (from PARTIAL or from
//          rms_norm_backward_vec.wgsl) into dw, in a fixed order.
override WG: u32 = 256;

#if PARTIAL
#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=dy, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=rs, DT=DT_F32, BINDING=2, WRITE=0)
#include "common/tensor.wgsl" (NAME=out, DT=DT_F32, BINDING=3, WRITE=1)
#else
// Partials are read as V: vec4<f32> when n is a multiple of 4 (VEC: 16-byte loads), else
// f32. A workgroup covers COLS words of the row with WG/COLS slices of the partial rows,
// so a large partial buffer is read by many invocations with several loads in flight
// (a lone column loop per invocation leaves the GPU latency-bound). COLS words are 128
// bytes of a partial row; WG must be a power of two ≥ COLS.
#if VEC
alias V = vec4<f32>;
const EPW: u32 = 4u;
const COLS: u32 = 8u;
#else
alias V = f32;
const EPW: u32 = 1u;
const COLS: u32 = 32u;
#endif
@group(0) @binding(2) var<storage, read> part: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;
var<workgroup> acc_buf: array<V, WG>;
#endif

struct Params {
  rows: u32,
  n: u32,
  chunk_rows: u32,
  chunks: u32,
  x_base: u32,
  rs_base: u32,
  out_base: u32,
}
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#if PARTIAL
  let j = wid.x * WG + lid;
  if (j >= p.n) {
    return;
  }
  let r0 = wid.y * p.chunk_rows;
  let r1 = min(p.rows, r0 + p.chunk_rows);
  var acc = 0.0;
  for (var r = r0; r < r1; r = r + 1u) {
    let e = p.x_base + r * p.n + j;
    acc = acc + load_dy(e) * load_x(e) * load_rs(p.rs_base + r);
  }
  store_out(p.out_base + wid.y * p.n + j, acc);
#else
  // Word j of every partial row; slice s takes rows s, s + S, s + 2S, … in order (four
  // loads issued ahead of their adds), then the S slice sums meet in a fixed tree.
  let nw = p.n / EPW;
  let slices = WG / COLS;
  let s = lid / COLS;
  let j = wid.x * COLS + lid % COLS;
  var acc = V(0.0);
  if (j < nw) {
    var q = s;
    for (; q + 3u * slices < p.chunks; q = q + 4u * slices) {
      let a = part[q * nw + j];
      let b = part[(q + slices) * nw + j];
      let c = part[(q + 2u * slices) * nw + j];
      let d = part[(q + 3u * slices) * nw + j];
      acc = acc + a;
      acc = acc + b;
      acc = acc + c;
      acc = acc + d;
    }
    for (; q < p.chunks; q = q + slices) {
      acc = acc + part[q * nw + j];
    }
  }
  acc_buf[lid] = acc;
  workgroupBarrier();
  for (var h = slices / 2u; h > 0u; h = h >> 1u) {
    if (s < h) {
      acc_buf[lid] = acc_buf[lid] + acc_buf[lid + h * COLS];
    }
    workgroupBarrier();
  }
  if (s == 0u && j < nw) {
    out[p.out_base + j] = acc_buf[lid];
  }
#endif
}
