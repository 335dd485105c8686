// One unit U of the workgroup's 4 rows in qgemv_sg.wgsl (loaded as A0 … A3): its 4 runs of
// 8 weights, each decoded once and folded into every row of x.
{
  let w = Part(unit_part(A##0, 0u), unit_part(A##1, 0u), unit_part(A##2, 0u), unit_part(A##3, 0u));
  let e = p.x_base + unit_k(U, 0u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=1)
}
{
  let w = Part(unit_part(A##0, 1u), unit_part(A##1, 1u), unit_part(A##2, 1u), unit_part(A##3, 1u));
  let e = p.x_base + unit_k(U, 1u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=1)
}
{
  let w = Part(unit_part(A##0, 2u), unit_part(A##1, 2u), unit_part(A##2, 2u), unit_part(A##3, 2u));
  let e = p.x_base + unit_k(U, 2u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=1)
}
{
  let w = Part(unit_part(A##0, 3u), unit_part(A##1, 3u), unit_part(A##2, 3u), unit_part(A##3, 3u));
  let e = p.x_base + unit_k(U, 3u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=1)
}
