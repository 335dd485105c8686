// fa_forward_sgmat.wgsl: Q slice F through the subgroup's P stage (zeros for rows that are
// not queries), then held as the left fragment qf##F. A lane stores its 8 halves of one row.
{
  var w = vec4<u32>(0u);
  if (live) {
    w = q[(g.q + F##u * 16u) / 8u + half];
  }
  let so = sg * PSZ + row * 16u + half * 8u;
  let h0 = bitcast<vec2<f16>>(w.x);
  let h1 = bitcast<vec2<f16>>(w.y);
  let h2 = bitcast<vec2<f16>>(w.z);
  let h3 = bitcast<vec2<f16>>(w.w);
  pstage[so] = h0.x;
  pstage[so + 1u] = h0.y;
  pstage[so + 2u] = h1.x;
  pstage[so + 3u] = h1.y;
  pstage[so + 4u] = h2.x;
  pstage[so + 5u] = h2.y;
  pstage[so + 6u] = h3.x;
  pstage[so + 7u] = h3.y;
  workgroupBarrier();
  qf##F = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * PSZ, 16u);
  workgroupBarrier();
}
