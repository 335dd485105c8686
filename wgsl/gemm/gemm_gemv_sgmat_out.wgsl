// gemm_gemv_sgmat.wgsl's epilogue for tile T (a literal): the 8 subgroups' partial 16 × NX
// results through `stage`, then invocation t < 16·NX adds up element (row i = t % 16 of the
// tile, column m = t / 16), so consecutive invocations store consecutive columns of y's row
// m. Rows before c_T (the overlap of a tile moved back at N's edge) belong to tile T − 1.
{
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&stage, sg * 16u * NX, acc##T, NX);
  workgroupBarrier();
  if (lid < 16u * NX) {
    let m = lid / 16u;
    let i = lid % 16u;
    var s = 0.0;
    for (var g = 0u; g < 8u; g = g + 1u) {
      s = s + stage[g * 16u * NX + i * NX + m];
    }
    let col = r##T + i;
    if (m < MT && col >= n0 + T##u * 16u && col < p.n) {
      let e = e0 + m * p.n + col;
      store_y(e, epilogue(s, e, col));
    }
  }
}
