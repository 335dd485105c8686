// Small-M GEMM (decode-style: y = alpha·A·Bᵀ + beta·C + bias with b stored [N, K], M ≤ 16):
// memory-bound on b, which a tile kernel would read in mostly idle 64-row tiles.
// A workgroup of 8 groups of 32 invocations computes MT = 8 rows × NB = 8 columns of y for
// batch wid.z: group g owns column wid.x·8 + g and its 32 invocations stride along K over
// that column's contiguous row of b (coalesced), each keeping MT partial sums; a tree in
// workgroup memory adds the 32 partial sums of each output. The 8 rows of a are read per
// step through the cache (they are shared by every workgroup). VEC=1 (bases and K multiples
// of 4, the launcher's check) reads runs of 4 as vectors, 4 runs in flight per step; VEC=0
// reads elements. The f32 accumulation order differs from the tiled kernels (per-lane
// strided partial sums, then a pairwise tree): the bound of src/ops/gemm/spec.ts holds for
// any order.
// Defines: A_DT, Y_DT, HAS_C, HAS_BIAS, VEC.

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#if VEC
#include "gemm/gemm_vec.wgsl"
#endif

const MT: u32 = 8u;
const NB: u32 = 8u;
const WG: u32 = 256u;

var<workgroup> red: array<f32, MT * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = lid / 32u;
  let l = lid % 32u;
  let col = wid.x * NB + g;
  let r0 = wid.y * MT;
  let a0 = p.a_base + wid.z * p.a_bstride;
  let b0 = p.b_base + wid.z * p.b_bstride;
  // Rows of this workgroup that exist (rows past M are never read).
  let rows = min(MT, p.m - r0);

  var acc: array<f32, MT>;
  for (var r = 0u; r < MT; r = r + 1u) {
    acc[r] = 0.0;
  }
  if (col < p.n) {
#if VEC
    let nv = p.k / 4u;
    let av0 = a0 / 4u;
    let bv0 = (b0 + col * p.k) / 4u;
    var kv = l;
    for (; kv + 96u < nv; kv = kv + 128u) {
      let x0 = vb(bv0 + kv);
      let x1 = vb(bv0 + kv + 32u);
      let x2 = vb(bv0 + kv + 64u);
      let x3 = vb(bv0 + kv + 96u);
      for (var r = 0u; r < MT; r = r + 1u) {
        if (r < rows) {
          let ar = av0 + (r0 + r) * nv + kv;
          acc[r] = acc[r] + dot(va(ar), x0) + dot(va(ar + 32u), x1) + dot(va(ar + 64u), x2) + dot(va(ar + 96u), x3);
        }
      }
    }
    for (; kv < nv; kv = kv + 32u) {
      let x0 = vb(bv0 + kv);
      for (var r = 0u; r < MT; r = r + 1u) {
        if (r < rows) {
          acc[r] = acc[r] + dot(va(av0 + (r0 + r) * nv + kv), x0);
        }
      }
    }
#else
    for (var kk = l; kk < p.k; kk = kk + 32u) {
      let x = load_b(b0 + col * p.k + kk);
      for (var r = 0u; r < MT; r = r + 1u) {
        if (r < rows) {
          acc[r] = acc[r] + load_a(a0 + (r0 + r) * p.k + kk) * x;
        }
      }
    }
#endif
  }

  for (var r = 0u; r < MT; r = r + 1u) {
    red[r * WG + lid] = acc[r];
  }
  for (var s = 16u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (l < s) {
      for (var r = 0u; r < MT; r = r + 1u) {
        red[r * WG + lid] = red[r * WG + lid] + red[r * WG + lid + s];
      }
    }
  }
  workgroupBarrier();
  // Lane r of group g writes row r0 + r of column col.
  if (l < rows && col < p.n) {
    let row = r0 + l;
    let e = p.y_base + wid.z * p.m * p.n + row * p.n + col;
    store_y(e, epilogue(red[l * WG + g * 32u], e, col));
  }
}
