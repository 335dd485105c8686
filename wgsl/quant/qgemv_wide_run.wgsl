// Run J of unit U of the 8 rows (A0 … A7) in qgemv_wide.wgsl: rows 0–3 as part w, 4–7 as v.
{
  let w = Part(unit_part(A##0, J), unit_part(A##1, J), unit_part(A##2, J), unit_part(A##3, J));
  let v = Part(unit_part(A##4, J), unit_part(A##5, J), unit_part(A##6, J), unit_part(A##7, J));
  let e = p.x_base + unit_k(U, J);
#include "common/frags.wgsl" (FRAG=quant/qgemv_wide_slot.wgsl, N=MT, STEP=1)
}
