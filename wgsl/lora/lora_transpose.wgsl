// fused_lora's x·Aᵀ through the decode GEMV (PMETAL_LORA_XA_VARIANT=gemv, launchers/lora_xa.ts):
// the GEMV writes xaᵀ [r, T] (r rows of A as its M ≤ 16 rows, T rows of x as its columns);
// this copies it to xa [T, r], f32 bits unchanged. One invocation an output element.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

struct Params {
  // src is [rows, cols]; dst [cols, rows].
  rows: u32,
  cols: u32,
  groups_x: u32,
  src_base: u32,
  dst_base: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * p.groups_x) * WG + lid;
  if (e >= p.rows * p.cols) {
    return;
  }
  // dst element e = (c, r): read src (r, c).
  let c = e / p.rows;
  let r = e % p.rows;
  dst[p.dst_base + e] = src[p.src_base + r * p.cols + c];
}
