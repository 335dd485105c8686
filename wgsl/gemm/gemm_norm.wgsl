// gemm_tiled's normalised operand (NORM_A or NORM_B): the operand x as stored, [rows, cols]
// row-major, is read as n = (x·rs[row])·g[col] in f32 and, where thr ≠ 0, zeroed where the
// LoRA dropout mask drops element row·cols + col (mix32(e XOR seed_mix) < thr, the mask of
// src/ops/fused_lora_forward/dropout.ts). fused_norm_lora's forward reads its activations
// this way (rs = the row's rstd, g = γ), so the normalised tensor never goes to memory.
// rs is f32 and g of A_DT; rows and columns are relative to the operand's first element.
#include "lora/mix32.wgsl"
#include "common/tensor.wgsl" (NAME=rs, DT=DT_F32, BINDING=6, WRITE=0)
#include "common/tensor.wgsl" (NAME=gm, DT=A_DT, BINDING=7, WRITE=0)

struct NormParams {
  rs_base: u32,
  g_base: u32,
  thr: u32,
  seed_mix: u32,
}
// A small storage buffer (the Params uniform at binding 5 is gemm_common.wgsl's): NORM_PARAMS
// in src/backend/webgpu/launchers/norm_gemm.ts.
@group(0) @binding(8) var<storage, read> np: NormParams;

// Run v of the operand: elements (row, col..col+3), the first `cnt` in bounds (cnt > 0
// implies row < rows and col + cnt ≤ cols: rs and g are read in range only).
fn norm_run(v: vec4<f32>, row: u32, col: u32, cols: u32, cnt: u32) -> vec4<f32> {
  var o = vec4<f32>();
  if (cnt == 0u) {
    return o;
  }
  let r = load_rs(np.rs_base + row);
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (j < cnt) {
      var e = (v[j] * r) * load_gm(np.g_base + col + j);
      if (np.thr != 0u && mix32((row * cols + col + j) ^ np.seed_mix) < np.thr) {
        e = 0.0;
      }
      o[j] = e;
    }
  }
  return o;
}
