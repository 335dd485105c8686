// fa_forward_sgmat.wgsl: rows TR .. TR+BK−1 of a K or V tile (NAME = k or v, row stride LD,
// DW = head dim / 8 words a row) from keys k0.. into ARR; zeros past kend. Each invocation
// stores the 8 halves of one 16-byte word (never a 32-bit word shared with another writer).
for (var t = lid; t < BK * DW; t = t + WG) {
  let jj = t / DW;
  let e8 = t % DW;
  let j = k0 + i32(jj);
  var w = vec4<u32>(0u);
  if (j <= kend) {
    w = NAME[(NAME##b + u32(j) * p.NAME##_ss) / 8u + e8];
  }
#include "attention/fa_sg_put8.wgsl" (AT=(jj * LD + e8 * 8u))
}
