// fused_distill_loss's 'sum' / 'mean' (MEAN): one workgroup over the row losses, strided
// then a fixed tree (the same bits on every run); the mean divides by the row count.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> row_loss: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

struct Params {
  rows: u32,
  mean: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> buf: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < p.rows; k = k + WG) {
    acc = acc + row_loss[k];
  }
  buf[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      buf[lid] = buf[lid] + buf[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = select(buf[0], buf[0] / f32(p.rows), p.mean == 1u);
  }
}
