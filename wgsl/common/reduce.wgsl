// Workgroup reductions over WG invocations (WG is the kernel's `override`).
// SUBGROUPS=1: a subgroup reduction first, then one value per subgroup through workgroup
// memory (subgroups are assumed to cover contiguous local indices, as on every Vulkan,
// Metal and D3D12 driver Dawn runs on). Otherwise a shared-memory tree.
// Call from uniform control flow with every invocation of the workgroup.

var<workgroup> red_buf: array<f32, WG>;
// wg_sum2's: two sums for the price of one set of barriers (unused, it takes no memory).
var<workgroup> red_buf2: array<vec2<f32>, WG>;

#if SUBGROUPS
fn wg_sum(v: f32, lid: u32, sg_size: u32) -> f32 {
  let s = subgroupAdd(v);
  if (subgroupElect()) {
    red_buf[lid / sg_size] = s;
  }
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG / sg_size; i = i + 1u) {
    t = t + red_buf[i];
  }
  workgroupBarrier();
  return t;
}
fn wg_sum2(v: vec2<f32>, lid: u32, sg_size: u32) -> vec2<f32> {
  let s = subgroupAdd(v);
  if (subgroupElect()) {
    red_buf2[lid / sg_size] = s;
  }
  workgroupBarrier();
  var t = vec2<f32>(0.0);
  for (var i = 0u; i < WG / sg_size; i = i + 1u) {
    t = t + red_buf2[i];
  }
  workgroupBarrier();
  return t;
}
fn wg_max(v: f32, lid: u32, sg_size: u32) -> f32 {
  let s = subgroupMax(v);
  if (subgroupElect()) {
    red_buf[lid / sg_size] = s;
  }
  workgroupBarrier();
  var t = red_buf[0];
  for (var i = 1u; i < WG / sg_size; i = i + 1u) {
    t = max(t, red_buf[i]);
  }
  workgroupBarrier();
  return t;
}
#else
fn wg_sum(v: f32, lid: u32, sg_size: u32) -> f32 {
  red_buf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red_buf[lid] = red_buf[lid] + red_buf[lid + s];
    }
    workgroupBarrier();
  }
  let r = red_buf[0];
  workgroupBarrier();
  return r;
}
fn wg_sum2(v: vec2<f32>, lid: u32, sg_size: u32) -> vec2<f32> {
  red_buf2[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red_buf2[lid] = red_buf2[lid] + red_buf2[lid + s];
    }
    workgroupBarrier();
  }
  let r = red_buf2[0];
  workgroupBarrier();
  return r;
}
fn wg_max(v: f32, lid: u32, sg_size: u32) -> f32 {
  red_buf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red_buf[lid] = max(red_buf[lid], red_buf[lid + s]);
    }
    workgroupBarrier();
  }
  let r = red_buf[0];
  workgroupBarrier();
  return r;
}
#endif
