// Columns 16F.. of the subgroup's 16 rows of SRC (a lane's row starts at element OFF; zeros
// unless `live`) through its P stage into the left fragment DST##F. A lane stores its 8
// halves of one row (16-byte rows: OFF and the row strides are multiples of 8).
{
  var w = vec4<u32>(0u);
  if (live) {
    w = SRC[(OFF + F##u * 16u) / 8u + half];
  }
#include "attention/fa_sg_put8.wgsl" (ARR=pstage, AT=(sg * PSZ + row * 16u + half * 8u))
  workgroupBarrier();
  DST##F = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * PSZ, 16u);
  workgroupBarrier();
}
