// dw_j = Σ_rows dy_j·x_j·r, in two deterministic levels (no float atomics):
// PARTIAL: invocation j of workgroup (bx, chunk) sums `chunk_rows` rows of column j into
//          part[(chunk0 + chunk)·n + j];
// otherwise: invocation j sums the `chunks` partials of column j into dw[j].
override WG: u32 = 256;

#include "common/convert.wgsl"
#if PARTIAL
#include "common/tensor.wgsl" (NAME=dy, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=rs, DT=DT_F32, BINDING=2, WRITE=0)
#else
#include "common/tensor.wgsl" (NAME=part, DT=DT_F32, BINDING=2, WRITE=0)
#endif
#include "common/tensor.wgsl" (NAME=out, DT=DT_F32, BINDING=3, WRITE=1)

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
  let j = wid.x * WG + lid;
  if (j >= p.n) {
    return;
  }
#if PARTIAL
  let r0 = wid.y * p.chunk_rows;
  let r1 = min(p.rows, r0 + p.chunk_rows);
  var acc = 0.0;
  for (var r = r0; r < r1; r = r + 1u) {
    let e = p.x_base + r * p.n + j;
    acc = acc + load_dy(e) * load_x(e) * load_rs(p.rs_base + r);
  }
  store_out(p.out_base + wid.y * p.n + j, acc);
#else
  var acc = 0.0;
  for (var c = 0u; c < p.chunks; c = c + 1u) {
    acc = acc + load_part(c * p.n + j);
  }
  store_out(p.out_base + j, acc);
#endif
}
