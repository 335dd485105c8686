// gemm_gemv_sgmat.wgsl's SWIGLU_ROWS epilogue: tile 0's partial results (g) then tile 1's (u)
// through `stage`; invocation t < 16·NX adds up element (row i = t % 16, column m = t / 16)
// of each and stores h = g·σ(g)·u for column r0 + i of row m (and g, u with WRITE_GU), as
// gemm_gemv_swiglu.wgsl evaluates it. Rows before n0 (the tile moved back at I's edge)
// belong to the previous workgroup.
{
  var g = 0.0;
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&stage, sg * 16u * NX, acc0, NX);
  workgroupBarrier();
  let m = lid / 16u;
  let i = lid % 16u;
  if (lid < 16u * NX) {
    for (var s = 0u; s < 8u; s = s + 1u) {
      g = g + stage[s * 16u * NX + i * NX + m];
    }
  }
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&stage, sg * 16u * NX, acc1, NX);
  workgroupBarrier();
  let col = r0 + i;
  if (lid < 16u * NX && m < MT && col >= n0 && col < p.n) {
    var u = 0.0;
    for (var s = 0u; s < 8u; s = s + 1u) {
      u = u + stage[s * 16u * NX + i * NX + m];
    }
    let e = e0 + m * p.n + col;
    store_y(e, g * sigmoid_pair(g).x * u);
#if WRITE_GU
    store_gout(p.g_base + e - p.y_base, g);
    store_uout(p.u_base + e - p.y_base, u);
#endif
  }
}
