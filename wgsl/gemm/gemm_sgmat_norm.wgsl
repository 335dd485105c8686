// gemm_sgmat_vec.wgsl's normalised operand (NORM_A or NORM_B), the subgroup-matrix twin of
// gemm_norm.wgsl: the operand x as stored, [rows, cols] row-major f16, is read as
// n = (x·rs[row])·g[col] in f32, zeroed where the LoRA dropout mask drops element
// row·cols + col (when thr ≠ 0), and rounded to f16 as it is stashed (the matrix units take
// f16: that rounding is counted in fused_norm_lora's bound, normOperandError).
// The fetch (gemm_sgmat_fetch_op.wgsl) loads the row's rs and the 8 halves of g beside x's
// vector and computes the keep bits, all into registers; the stash (gemm_sgmat_stash_op)
// does the arithmetic, after the slice's matrix work, so the loads' latency stays hidden as
// it is for x. rs is f32 and g f16 with g_base a multiple of 8 (the launcher checks);
// rows and columns are relative to the operand's first element.
#include "lora/mix32.wgsl"

@group(0) @binding(6) var<storage, read> rs: array<f32>;
@group(0) @binding(7) var<storage, read> gm: array<vec4<u32>>;

struct NormParams {
  rs_base: u32,
  g_base: u32,
  thr: u32,
  seed_mix: u32,
}
// NORM_PARAMS in src/backend/webgpu/launchers/norm_gemm.ts (a storage buffer: the Params
// uniform at binding 5 is gemm_common.wgsl's).
@group(0) @binding(8) var<storage, read> np: NormParams;

// Per fetched vector: the row's rs (0 past the edge), g's 8 halves and the keep bits.
#if NORM_A
var<private> nra: array<f32, A_PER>;
var<private> nga: array<vec4<u32>, A_PER>;
var<private> nka: array<u32, A_PER>;
#endif
#if NORM_B
var<private> nrb: array<f32, B_PER>;
var<private> ngb: array<vec4<u32>, B_PER>;
var<private> nkb: array<u32, B_PER>;
#endif

// Keep bits of the 8 elements from e (bit j: element e + j survives the dropout mask).
fn norm_keep8(e: u32) -> u32 {
  var bits = 0xffu;
  if (np.thr != 0u) {
    bits = 0u;
    for (var j = 0u; j < 8u; j = j + 1u) {
      bits = bits | (select(1u, 0u, mix32((e + j) ^ np.seed_mix) < np.thr) << j);
    }
  }
  return bits;
}

// One word of two halves of x: (x·r)·g in f32 (two roundings, as gemm_norm.wgsl), the
// dropped ones 0, rounded to f16 (WGSL's conversion: either neighbour).
fn norm_word(x: u32, r: f32, g: u32, keep: u32) -> u32 {
  let n = (vec2<f32>(bitcast<vec2<f16>>(x)) * r) * vec2<f32>(bitcast<vec2<f16>>(g));
  let kept = select(vec2<f32>(), n, vec2<bool>((keep & 1u) != 0u, (keep & 2u) != 0u));
  return bitcast<u32>(vec2<f16>(kept));
}

// A fetched vector of 8 halves, normalised.
fn norm_vec(x: vec4<u32>, r: f32, g: vec4<u32>, keep: u32) -> vec4<u32> {
  return vec4<u32>(norm_word(x.x, r, g.x, keep), norm_word(x.y, r, g.y, keep >> 2u), norm_word(x.z, r, g.z, keep >> 4u), norm_word(x.w, r, g.w, keep >> 6u));
}
