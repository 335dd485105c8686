// gemm_tiled.wgsl, the BK-deep slice staged in As and Bs (Bs2 with SWIGLU): every
// invocation's 4·R × 4·R block of products into acc (acc2). Included with an argument, AT,
// that it does not use: a plain include is pasted once, and the K loop and LORA_K's tail
// both need it.
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      var av: array<vec4<f32>, R>;
      var bv: array<vec4<f32>, R>;
      for (var q = 0u; q < R; q = q + 1u) {
        av[q] = As[kk * (BM / 4u) + q * 16u + ty];
        bv[q] = Bs[kk * (BN / 4u) + q * 16u + tx];
      }
      for (var bi = 0u; bi < R; bi = bi + 1u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
          for (var bj = 0u; bj < R; bj = bj + 1u) {
            let t = (bi * 4u + i) * R + bj;
            acc[t] = acc[t] + av[bi][i] * bv[bj];
          }
        }
      }
#if SWIGLU
      for (var q = 0u; q < R; q = q + 1u) {
        bv[q] = Bs2[kk * (BN / 4u) + q * 16u + tx];
      }
      for (var bi = 0u; bi < R; bi = bi + 1u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
          for (var bj = 0u; bj < R; bj = bj + 1u) {
            let t = (bi * 4u + i) * R + bj;
            acc2[t] = acc2[t] + av[bi][i] * bv[bj];
          }
        }
      }
#endif
    }
