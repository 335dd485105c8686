// Tiled shared-memory GEMM (the portable tier): y = alpha·op(A)·op(B) + beta·C + bias.
// A workgroup computes a BM×BN tile of y for batch wid.z, staging BK-deep slices of op(A)
// and op(B) through workgroup memory as f32; each invocation owns a TM×TN register
// micro-tile (TN a multiple of 4: columns go out in runs of four through store_run4).
// Loads follow the contiguous direction of each operand (TRANS_A/TRANS_B) so neighbouring
// invocations read neighbouring words; 16-bit inputs are read as packed u32 words and
// unpacked to f32 (load_a/load_b); ragged edges load zeros and mask the stores.
// Defines: A_DT, Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS, LARGE_TILE (the tile shape below;
// the register micro-tile needs constant sizes, so shapes are switched, not overridden).

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"

#if LARGE_TILE
// 128×128 tile, 8×8 per invocation: twice the reuse of each loaded value, for big M and N.
const BM: u32 = 128u;
const BN: u32 = 128u;
const BK: u32 = 16u;
const TM: u32 = 8u;
const TN: u32 = 8u;
#else
// 64×64 tile, 4×4 per invocation: small, skinny or ragged problems.
const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
const TM: u32 = 4u;
const TN: u32 = 4u;
#endif
const WG_X: u32 = BN / TN;
const WG_Y: u32 = BM / TM;
const WG: u32 = WG_X * WG_Y;

// op(A) slice as [k][m] and op(B) slice as [k][n]: the inner loop reads rows of both.
var<workgroup> As: array<f32, BK * BM>;
var<workgroup> Bs: array<f32, BK * BN>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let a0 = p.a_base + wid.z * p.a_bstride;
  let b0 = p.b_base + wid.z * p.b_bstride;
  let tx = lid % WG_X;
  let ty = lid / WG_X;

  var acc: array<f32, TM * TN>;
  for (var i = 0u; i < TM * TN; i = i + 1u) {
    acc[i] = 0.0;
  }

  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
    for (var t = lid; t < BM * BK; t = t + WG) {
#if TRANS_A
      // a is [K, M]: m is contiguous.
      let mm = t % BM;
      let kk = t / BM;
#else
      let kk = t % BK;
      let mm = t / BK;
#endif
      let gm = m0 + mm;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < p.m && gk < p.k) {
#if TRANS_A
        v = load_a(a0 + gk * p.m + gm);
#else
        v = load_a(a0 + gm * p.k + gk);
#endif
      }
      As[kk * BM + mm] = v;
    }
    for (var t = lid; t < BN * BK; t = t + WG) {
#if TRANS_B
      // b is [N, K]: k is contiguous.
      let kk = t % BK;
      let nn = t / BK;
#else
      let nn = t % BN;
      let kk = t / BN;
#endif
      let gn = n0 + nn;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < p.n && gk < p.k) {
#if TRANS_B
        v = load_b(b0 + gn * p.k + gk);
#else
        v = load_b(b0 + gk * p.n + gn);
#endif
      }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      var ar: array<f32, TM>;
      var br: array<f32, TN>;
      for (var i = 0u; i < TM; i = i + 1u) {
        ar[i] = As[kk * BM + ty * TM + i];
      }
      for (var j = 0u; j < TN; j = j + 1u) {
        br[j] = Bs[kk * BN + tx * TN + j];
      }
      for (var i = 0u; i < TM; i = i + 1u) {
        for (var j = 0u; j < TN; j = j + 1u) {
          acc[i * TN + j] = acc[i * TN + j] + ar[i] * br[j];
        }
      }
    }
    workgroupBarrier();
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
  for (var i = 0u; i < TM; i = i + 1u) {
    let row = m0 + ty * TM + i;
    if (row >= p.m) {
      break;
    }
    for (var j4 = 0u; j4 < TN; j4 = j4 + 4u) {
      let col = n0 + tx * TN + j4;
      if (col >= p.n) {
        break;
      }
      let e = ybz + row * p.n + col;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        v[q] = epilogue(acc[i * TN + j4 + q], e + q, min(col + q, p.n - 1u));
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
}
