// The entry point of the one-row-per-workgroup kernels, up to the row index: the including
// kernel's body continues after this include (and closes the function). Gives `wid`, `lid`,
// `sg_size` (common/wg_entry.wgsl) and `row`; workgroups past the
// last row (the 2-D grid's tail) return. Needs the kernel's Params `p` with rows, groups_x.
#include "common/wg_entry.wgsl"
  let row = wid.x + wid.y * p.groups_x;
  if (row >= p.rows) {
    return;
  }
