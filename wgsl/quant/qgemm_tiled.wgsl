// quantized_gemm, prefill path (M > 16): 64×64 tiles of y, 16×16 invocations with 4×4
// outputs each. Per 16-deep K slice, half the workgroup loads the 64×16 slice of x (8
// elements each), the other half decodes the 64×16 slice of W (one decode8 each) — both
// into workgroup memory as f32, k-major — then every invocation adds its 4×4 outer
// products. f32 accumulation: the bound of src/ops/quantized_gemm/spec.ts.
#include "quant/qgemm_common.wgsl"

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
const LDS: u32 = 68u;

var<workgroup> xs: array<f32, BK * LDS>;
var<workgroup> ws: array<f32, BK * LDS>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  // The slice element this invocation stages: x (lid < 128) or W (lid ≥ 128), row r, 8 from kk.
  let half = lid % 128u;
  let r = half / 2u;
  let kk = (half % 2u) * 8u;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i = i + 1u) {
    acc[i] = vec4<f32>(0.0);
  }
  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
    var v = W8(vec4<f32>(0.0), vec4<f32>(0.0));
    if (lid < 128u) {
      if (row0 + r < p.m) {
        v = load_x8(p.x_base + (row0 + r) * p.k + k0 + kk);
      }
    } else if (col0 + r < p.n) {
      v = decode8(col0 + r, k0 + kk);
    }
    workgroupBarrier();
    for (var i = 0u; i < 4u; i = i + 1u) {
      if (lid < 128u) {
        xs[(kk + i) * LDS + r] = v.lo[i];
        xs[(kk + 4u + i) * LDS + r] = v.hi[i];
      } else {
        ws[(kk + i) * LDS + r] = v.lo[i];
        ws[(kk + 4u + i) * LDS + r] = v.hi[i];
      }
    }
    workgroupBarrier();
    for (var t = 0u; t < BK; t = t + 1u) {
      let a = vec4<f32>(xs[t * LDS + ty * 4u], xs[t * LDS + ty * 4u + 1u], xs[t * LDS + ty * 4u + 2u], xs[t * LDS + ty * 4u + 3u]);
      let b = vec4<f32>(ws[t * LDS + tx * 4u], ws[t * LDS + tx * 4u + 1u], ws[t * LDS + tx * 4u + 2u], ws[t * LDS + tx * 4u + 3u]);
      acc[0] = acc[0] + a.x * b;
      acc[1] = acc[1] + a.y * b;
      acc[2] = acc[2] + a.z * b;
      acc[3] = acc[3] + a.w * b;
    }
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    let row = row0 + ty * 4u + i;
    for (var j = 0u; j < 4u; j = j + 1u) {
      let col = col0 + tx * 4u + j;
      if (row < p.m && col < p.n) {
        store_y(p.y_base + row * p.ldy + col, acc[i][j]);
      }
    }
  }
}
