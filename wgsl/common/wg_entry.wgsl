// The head of a workgroup-reduction entry point: the signature and `sg_size` (1 without
// SUBGROUPS, for common/reduce.wgsl); the including kernel's body continues after this
// include (and closes the function). Gives `wid`, `lid`, `sg_size`.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
#if SUBGROUPS
        @builtin(subgroup_size) sg_size: u32,
#endif
) {
#if SUBGROUPS == 0
  let sg_size = 1u;
#endif
