// fused_adamw_step, the 16-bit params from the new f32 master (after adamw_update.wgsl
// without WRITE_P): exact round-to-nearest-even, one invocation per element pair of a chunk.
override WG: u32 = 256;

#include "common/convert.wgsl"
@group(0) @binding(0) var<storage, read> master: array<f32>;
#define ATOMIC_OUT 0
#include "common/tensor.wgsl" (NAME=pout, DT=P_DT, BINDING=1, WRITE=1)

struct Params {
  count: u32,
  groups_x: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * p.groups_x) * WG + lid;
  let e = 2u * k;
  if (e >= p.count) {
    return;
  }
  let two = e + 1u < p.count;
  let hi = master[min(e + 1u, p.count - 1u)];
  store2_pout(k, vec2<f32>(master[e], select(0.0, hi, two)), true, two);
}
