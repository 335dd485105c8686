// The ceiling of each stage of the subgroup-matrix gemm (gemm_sgmat_vec.wgsl) on an adapter:
// `pmetal bench --sgmat-ceiling` times this kernel with STAGE = 0..3, each adding one stage
// of the real kernel's K loop, over a 128×256 tile per workgroup of 8 subgroups (64×64 and
// 16 accumulators each), f16 inputs and f32 accumulation:
//   0  multiply-accumulate only, on fragments loaded once (the matrix units' rate);
//   1  + fragment loads from workgroup memory every 16-deep step, a barrier per 32-deep slice;
//   2  + each slice stashed from registers into workgroup memory (a second barrier);
//   3  + each slice fetched from a 4096×4096 A and B in global memory (the real loop's
//      traffic; k wraps, so any number of slices can run).
// ITER slices per workgroup; the accumulators are stored at the end so nothing is dead.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

override ITER: u32 = 1024;

alias L = subgroup_matrix_left<f16, 16, 16>;
alias R = subgroup_matrix_right<f16, 16, 16>;
alias C = subgroup_matrix_result<f32, 16, 16>;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
// A (4096×4096) then B (4096×4096), f16 as 16-byte words.
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;

const LDA: u32 = 40u;
const LDB: u32 = 264u;
var<workgroup> As: array<f16, 128u * LDA>;
var<workgroup> Bs: array<f16, 32u * LDB>;
var<private> ra: array<vec4<u32>, 2>;
var<private> rb: array<vec4<u32>, 4>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32) {
  let sg = sg_id % 8u;
  let m0 = (wid.x % 32u) * 128u;
  let n0 = ((wid.x / 32u) % 16u) * 256u;
  for (var i = 0u; i < 2u; i = i + 1u) {
    ra[i] = src[lid + i * 256u];
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    rb[i] = src[lid + i * 256u + 4096u];
  }
  var c0 = C();
  var c1 = C();
  var c2 = C();
  var c3 = C();
  var c4 = C();
  var c5 = C();
  var c6 = C();
  var c7 = C();
  var c8 = C();
  var c9 = C();
  var c10 = C();
  var c11 = C();
  var c12 = C();
  var c13 = C();
  var c14 = C();
  var c15 = C();
#if STAGE == 0
  let l0 = subgroupMatrixLoad<L, row_major>(&As, (sg / 4u) * 64u * LDA, LDA);
  let l1 = subgroupMatrixLoad<L, row_major>(&As, (sg / 4u) * 64u * LDA + 16u * LDA, LDA);
  let l2 = subgroupMatrixLoad<L, row_major>(&As, (sg / 4u) * 64u * LDA + 32u * LDA, LDA);
  let l3 = subgroupMatrixLoad<L, row_major>(&As, (sg / 4u) * 64u * LDA + 48u * LDA, LDA);
  let r0 = subgroupMatrixLoad<R, row_major>(&Bs, (sg % 4u) * 64u, LDB);
  let r1 = subgroupMatrixLoad<R, row_major>(&Bs, (sg % 4u) * 64u + 16u, LDB);
  let r2 = subgroupMatrixLoad<R, row_major>(&Bs, (sg % 4u) * 64u + 32u, LDB);
  let r3 = subgroupMatrixLoad<R, row_major>(&Bs, (sg % 4u) * 64u + 48u, LDB);
  for (var it = 0u; it < 2u * ITER; it = it + 1u) {
#include "bench/sgmat_mma16.wgsl"
  }
#else
  for (var it = 0u; it < ITER; it = it + 1u) {
#if STAGE >= 2
    // Registers → workgroup memory, 8 halves per word (gemm_sgmat_stash.wgsl's indexing).
    for (var i = 0u; i < 2u; i = i + 1u) {
      let t = lid + i * 256u;
      let o = (t / 4u) * LDA + (t % 4u) * 8u;
      let v = ra[i];
      let h0 = bitcast<vec2<f16>>(v.x);
      let h1 = bitcast<vec2<f16>>(v.y);
      let h2 = bitcast<vec2<f16>>(v.z);
      let h3 = bitcast<vec2<f16>>(v.w);
      As[o] = h0.x;
      As[o + 1u] = h0.y;
      As[o + 2u] = h1.x;
      As[o + 3u] = h1.y;
      As[o + 4u] = h2.x;
      As[o + 5u] = h2.y;
      As[o + 6u] = h3.x;
      As[o + 7u] = h3.y;
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
      let t = lid + i * 256u;
      let o = (t / 32u) * LDB + (t % 32u) * 8u;
      let v = rb[i];
      let h0 = bitcast<vec2<f16>>(v.x);
      let h1 = bitcast<vec2<f16>>(v.y);
      let h2 = bitcast<vec2<f16>>(v.z);
      let h3 = bitcast<vec2<f16>>(v.w);
      Bs[o] = h0.x;
      Bs[o + 1u] = h0.y;
      Bs[o + 2u] = h1.x;
      Bs[o + 3u] = h1.y;
      Bs[o + 4u] = h2.x;
      Bs[o + 5u] = h2.y;
      Bs[o + 6u] = h3.x;
      Bs[o + 7u] = h3.y;
    }
    workgroupBarrier();
#if STAGE == 3
    // Global → registers: the next 32-deep slice of A (rows m0..) and B (columns n0..).
    let k0 = ((it + 1u) * 32u) % 4096u;
    for (var i = 0u; i < 2u; i = i + 1u) {
      let t = lid + i * 256u;
      ra[i] = src[(m0 + t / 4u) * 512u + k0 / 8u + t % 4u];
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
      let t = lid + i * 256u;
      rb[i] = src[2097152u + (k0 + t / 32u) * 512u + n0 / 8u + t % 32u];
    }
#else
    // Fresh register values each slice, so the stash cannot be hoisted.
    for (var i = 0u; i < 2u; i = i + 1u) {
      ra[i] = ra[i] ^ vec4<u32>(it);
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
      rb[i] = rb[i] ^ vec4<u32>(it);
    }
#endif
#endif
#include "bench/sgmat_mma.wgsl" (KS=0)
#include "bench/sgmat_mma.wgsl" (KS=16)
    workgroupBarrier();
  }
#endif
  let o = (wid.x * 8u + sg) * 4096u;
  subgroupMatrixStore<row_major>(&out, o, c0, 16u);
  subgroupMatrixStore<row_major>(&out, o + 256u, c1, 16u);
  subgroupMatrixStore<row_major>(&out, o + 512u, c2, 16u);
  subgroupMatrixStore<row_major>(&out, o + 768u, c3, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1024u, c4, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1280u, c5, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1536u, c6, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1792u, c7, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2048u, c8, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2304u, c9, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2560u, c10, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2816u, c11, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3072u, c12, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3328u, c13, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3584u, c14, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3840u, c15, 16u);
}
