// gemm's split-K second pass: y = ((alpha·Σ_z part[z] + beta·c) + bias) in Y_DT, where
// part[z] (f32, m·n each, from 0) holds the sums of K chunk z (gemm_sgmat_vec / gemm_tiled
// with SPLIT_K). The chunks are added in z order in f32, so the result is the same bits on
// every run, and y is rounded once, by the epilogue every gemm kernel uses: the error is
// that of one f32 sum over K in another order, which the gemm bound already covers (any
// order, any blocking). Here p.k is the number of chunks. One invocation a run of 4
// consecutive elements of y (flat: runs may cross rows; store_run4 masks the words a
// 16-bit run shares with its neighbours).
#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> part: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let mn = p.m * p.n;
  let e = ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
  if (e >= mn) {
    return;
  }
  let cnt = min(4u, mn - e);
  var s = vec4<f32>();
  for (var z = 0u; z < p.k; z = z + 1u) {
    let b = z * mn + e;
    for (var q = 0u; q < 4u; q = q + 1u) {
      if (q < cnt) {
        s[q] = s[q] + part[b + q];
      }
    }
  }
  var v: vec4<f32>;
  for (var q = 0u; q < 4u; q = q + 1u) {
    let j = min(e + q, mn - 1u);
    v[q] = epilogue(s[q], p.y_base + j, j % p.n);
  }
  store_run4(p.y_base + e, v, cnt);
}
