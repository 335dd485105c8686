// The embedding's `invalid` output: how many of `count` ids lie outside [0, vocab). One
// workgroup; integer sums, so the order does not matter.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> invalid: array<i32>;

struct Params {
  count: u32,
  vocab: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> part: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var c = 0u;
  for (var i = lid; i < p.count; i = i + WG) {
    let id = ids[i];
    c = c + select(0u, 1u, id < 0 || u32(id) >= p.vocab);
  }
  part[lid] = c;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      part[lid] = part[lid] + part[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    invalid[0] = i32(part[0]);
  }
}
