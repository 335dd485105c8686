// One tile's S = Q·Kᵀ of fa_forward_sgmat.wgsl: the K tile (keys k0.., zeros past kend) into
// kvtile, then the subgroup's 16×16 scores into its stage, visible to its lanes on return.
// Each invocation writes 8 consecutive halves: 16-bit workgroup stores of different
// invocations into one 32-bit word lose writes on the H100 (measured: V rows came out
// permuted), so no word is ever shared between writers.
    workgroupBarrier();
    for (var t = lid; t < BK * p.d / 8u; t = t + WG) {
      let e = t * 8u;
      let j = k0 + i32(e / p.d);
      for (var c = 0u; c < 8u; c = c + 1u) {
        var x = f16(0.0);
        if (j <= kend) {
          x = k[kb + u32(j) * p.k_ss + e % p.d + c];
        }
        kvtile[e + c] = x;
      }
    }
    workgroupBarrier();
    var s = subgroup_matrix_result<f32, 16, 16>();
    for (var i = 0u; i < NF; i = i + 1u) {
      if (i * 16u < p.d) {
        // Kᵀ (dims × keys): column `key` is the key's row of the tile.
        let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kvtile, i * 16u, p.d);
        s = subgroupMatrixMultiplyAccumulate(qf[i], b, s);
      }
    }
    subgroupMatrixStore<row_major>(&stage, sg * 256u, s, 16u);
    workgroupBarrier();
