// Test kernel (test/runtime/convert-gpu.test.ts): the library's f32 → f16 / bf16 encoders applied to
// raw f32 bit patterns, so the tests compare them with the host's encoders on the GPU itself.
override WG: u32 = 256;

#include "common/convert.wgsl"

@group(0) @binding(0) var<storage, read> src: array<u32>;
// out[2i] = f16 bits, out[2i + 1] = bf16 bits.
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

struct Params {
  count: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  let v = bitcast<f32>(src[i]);
  out[2u * i] = f32_to_f16(v);
  out[2u * i + 1u] = f32_to_bf16(v);
}
