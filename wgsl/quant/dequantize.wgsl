// dequantize: W [N, K] → y [N, K] (Y_DT), 8 consecutive elements of a row per invocation
// (quant/decode.wgsl). K is a multiple of 32 and every row starts on an even element, so
// 16-bit outputs are whole words no other invocation touches (plain stores).
override WG: u32 = 256;

struct Params {
  n: u32,
  k: u32,
  groups_x: u32,
  w_base: u32,
  row_units: u32,
  s_base: u32,
  group: u32,
  gpr: u32,
  y_base: u32,
}
@group(0) @binding(4) var<uniform> p: Params;

#include "quant/decode.wgsl"
#define ATOMIC_OUT 0
#include "common/tensor.wgsl" (NAME=y, DT=Y_DT, BINDING=3, WRITE=1)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let runs = p.k / 8u;
  let t = (wid.x + wid.y * p.groups_x) * WG + lid;
  if (t >= p.n * runs) {
    return;
  }
  let row = t / runs;
  let k0 = (t % runs) * 8u;
  let v = decode8(row, k0);
  let e = p.y_base + row * p.k + k0;
#if Y_DT == 0
  for (var i = 0u; i < 4u; i = i + 1u) {
    store_y(e + i, v.lo[i]);
    store_y(e + 4u + i, v.hi[i]);
  }
#else
  let wd = e / 2u;
  storew_y(wd, pack_y(v.lo.xy));
  storew_y(wd + 1u, pack_y(v.lo.zw));
  storew_y(wd + 2u, pack_y(v.hi.xy));
  storew_y(wd + 3u, pack_y(v.hi.zw));
#endif
}
