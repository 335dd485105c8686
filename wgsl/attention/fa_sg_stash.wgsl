// fa_forward_sgmat.wgsl's PREFETCH, registers → workgroup memory: the PER words fetched by
// fa_sg_fetch.wgsl into ARR (row stride LD, DW words a row), as fa_sg_tile.wgsl places them.
#for TI PER
{
  let t = lid + TI * WG;
  if (t < BK * DW) {
    let w = REG[TI];
#include "attention/fa_sg_put8.wgsl" (AT=((t / DW) * LD + (t % DW) * 8u))
  }
}
#endfor
