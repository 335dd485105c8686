// Copies `count` 32-bit words from src[src_base + i] to dst[dst_base + i]: the sampler packs
// its per-row option tensors into one buffer with it (a kernel binds few storage buffers).
override WG: u32 = 256;
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
struct Params {
  count: u32,
  src_base: u32,
  dst_base: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.count) {
    dst[p.dst_base + gid.x] = src[p.src_base + gid.x];
  }
}
