// The Params of cross_entropy_backward.wgsl and cross_entropy_backward_vec.wgsl (one list,
// CROSS_ENTROPY_BACKWARD_PARAMS in the launcher).
struct Params {
  rows: u32,
  // Row length, and its 16-byte words (V / EPV: the vec kernel only).
  v: u32,
  nv: u32,
  groups_x: u32,
  chunks: u32,
  // Window bases: in elements, except x and dx in words for the vec kernel.
  x_base: u32,
  t_base: u32,
  lse_base: u32,
  g_base: u32,
  g_stride: u32,
  dx_base: u32,
  ignore_index: i32,
  cap: f32,
  inv_cap: f32,
  c1: f32,
  c2: f32,
}
@group(0) @binding(5) var<uniform> p: Params;
