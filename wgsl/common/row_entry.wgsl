// The entry point of the one-row-per-workgroup kernels, up to the row index: the including
// kernel's body continues after this include (and closes the function). Gives `wid`, `lid`,
// `sg_size` (1 without SUBGROUPS, for common/reduce.wgsl) and `row`; workgroups past the
// last row (the 2-D grid's tail) return. Needs the kernel's Params `p` with rows, groups_x.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
#if SUBGROUPS
        @builtin(subgroup_size) sg_size: u32,
#endif
) {
#if SUBGROUPS == 0
  let sg_size = 1u;
#endif
  let row = wid.x + wid.y * p.groups_x;
  if (row >= p.rows) {
    return;
  }
