// The bandwidth yardstick: a plain 16-byte-per-invocation copy. Memory-bound ops are
// reported as a fraction of what this kernel reaches on the same adapter in the same run.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;

struct Params {
  count: u32,
  groups_x: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.groups_x) * WG + lid;
  if (i < p.count) {
    dst[i] = src[i];
  }
}
