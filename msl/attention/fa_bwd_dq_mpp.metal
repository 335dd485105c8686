// Flash attention backward, Metal 4 tier: dq (fa_bwd_dq_mpp_<dt>_d<N>, N = D), the structure
// of the Metal 3 fa_bwd_dq (attention/flash_attention_backward.metal) with every product on
// the MPP tile matmul (gemm/mpp_tile.h). P = exp(z − lse) recomputed from the forward's lse,
// (lse, D = dO·o) from the Metal 3 prep kernel; deterministic (no atomics, fixed orders).
//
// A threadgroup of 4 SIMD-groups (128 threads) owns 32 rows — (query, head) pairs of the G
// query heads of one (batch, kv head) — keeps dQ (32 × N, a cooperative f32 tensor) and walks
// the block's key range [kstart, kend] in tiles of 32 keys:
//   dP = dO·Vᵀ over Dv in 32-deep slices (dO slice in `sl`, V slice in `blk`) into the f32
//   tile dpt; S = Q·Kᵀ over D with the whole K tile staged in `blk` (sliced by the matmul)
//   and Q slices in `sl`; dS = P·(dP − D)·∂z/∂x per element into `xt`; dQ += dS·K (the K tile
//   still in `blk`).
// dq = scale·dQ; 0 for a row that sees no key; NaN everywhere when the cu_seqlens are
// malformed. Keys past kend and rows past `rows` are staged as zeros (whole 32-deep slices:
// D, Dv multiples of 32). Operand type PT and threadgroup memory as fa_bwd_dkv_mpp.metal.
#include <metal_stdlib>
#include "attention/fa_bwd_mpp.h"
#include "attention/fa_mpp_stage.h"
#include "gemm/mpp_tile.h"
using namespace metal;

template <typename T, typename PT, int N>
[[kernel]] void fa_bwd_dq_mpp(device const T* q [[buffer(0)]],
                              device const T* k [[buffer(1)]],
                              device const T* v [[buffer(2)]],
                              device const T* dO [[buffer(3)]],
                              device const float2* ld [[buffer(4)]],
                              device T* dq [[buffer(5)]],
                              device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                              device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                              constant FaBwdParams& p [[buffer(8)]],
                              uint3 tg [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]]) {
  constexpr int B = 32, SG = 4;
  constexpr uint TPG = 128;
  threadgroup atomic_uint bad_count;
  threadgroup int rlo[B], rhi[B];
  threadgroup float2 rld[B];
  threadgroup uint rq[B], ro[B];
  threadgroup PT blk[B * N];     // V slices, then the K tile (keys × N)
  threadgroup PT sl[B * B];      // the dO or Q slice (rows × 32)
  threadgroup float dpt[B * B];  // dP (rows × keys)
  threadgroup PT xt[B * B];      // dS (rows × keys)
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, TPG);
  const uint kvh = tg.y, bz = tg.z;
  const uint r_first = tg.x * B;
  const uint r_last = min(r_first + B, p.rows) - 1;
  const int kstart = fa_row(r_first, bz, kvh, cu_ok, p, cuq, cuk).lo;
  const int kend = fa_row(r_last, bz, kvh, cu_ok, p, cuq, cuk).hi;
  const uint kb = bz * p.k_sb + kvh * p.k_sh, vb = bz * p.v_sb + kvh * p.v_sh;
  if (lid < uint(B)) {
    const uint r = r_first + lid;
    const bool in_rows = r < p.rows;
    const FaRow g = fa_row(min(r, p.rows - 1), bz, kvh, cu_ok, p, cuq, cuk);
    const bool sees = in_rows && cu_ok && g.lo <= g.hi;
    rlo[lid] = sees ? g.lo : 1;
    rhi[lid] = sees ? g.hi : 0;
    rld[lid] = sees ? ld[g.lse] : float2(0.0f);
    rq[lid] = in_rows ? g.q : FA4_NONE;
    ro[lid] = in_rows ? g.o : FA4_NONE;
  }

  auto Blk = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(blk, dextents<int32_t, 2>(N, B));
  auto Blk32 = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(blk, dextents<int32_t, 2>(B, B));
  auto Sl = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(sl, dextents<int32_t, 2>(B, B));
  auto Xt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(xt, dextents<int32_t, 2>(B, B));
  // S and dP: rows × keys, the right operand stored keys × dims (transpose_right).
  typename mpp_tile<B, B, B, false, true, SG>::op_type s_op;
  // dQ += dS · K: dS rows × keys, the K tile keys × N.
  typename mpp_tile<B, N, B, false, false, SG>::op_type o_op;
  auto sacc = s_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Sl.slice(0, 0))>, __remove_addrspace_t<decltype(Blk.slice(0, 0))>, float>();
  auto acc = o_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Xt.slice(0, 0))>, __remove_addrspace_t<decltype(Blk.slice(0, 0))>, float>();
  mpp_acc_zero(acc);
  const fa4_tile_store dpstore{dpt};

  for (int k0 = kstart; k0 <= kend; k0 += B) {
    // The first barrier also orders the previous tile's dQ product (the last reader of blk
    // and xt) and, on the first tile, the row data, before the writes.
    mpp_acc_zero(sacc);
    for (uint c0 = 0; c0 < p.dv; c0 += B) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      fa4_stage_rows(sl, dO, ro, c0, B, lid, TPG);
      fa4_stage_keys(blk, v, vb, p.v_ss, k0, kend, c0, B, lid, TPG);
      threadgroup_barrier(mem_flags::mem_threadgroup);
      s_op.run(Sl.slice(0, 0), Blk32.slice(0, 0), sacc);
    }
    mpp_acc_store(sacc, 0, 0, B, B, dpstore);
    mpp_acc_zero(sacc);
    for (uint d0 = 0; d0 < p.d; d0 += B) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      if (d0 == 0) fa4_stage_keys(blk, k, kb, p.k_ss, k0, kend, 0, N, lid, TPG);
      fa4_stage_rows(sl, q, rq, d0, B, lid, TPG);
      threadgroup_barrier(mem_flags::mem_threadgroup);
      s_op.run(Sl.slice(0, 0), Blk.slice(d0, 0), sacc);
    }
    const fa4_bwd_px<PT, true> px{xt, dpt, rlo, rhi, rld, &p, k0, kend};
    mpp_acc_store(sacc, 0, 0, B, B, px);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    o_op.run(Xt.slice(0, 0), Blk.slice(0, 0), acc);
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);  // rq, when no key tile was walked
  const fa4_bwd_row_out<T> st{dq, rq, p.scale, cu_ok};
  mpp_acc_store(acc, 0, 0, int(r_last - r_first) + 1, N, st);
}

#define fa4q_str_(x) #x
#define fa4q_str(x) fa4q_str_(x)
#define instantiate_fa4_dq(tname, T, PT, N) \
  template [[host_name(fa4q_str(fa_bwd_dq_mpp_##tname##_d##N))]] [[kernel]] decltype(fa_bwd_dq_mpp<T, PT, N>) fa_bwd_dq_mpp<T, PT, N>;
// The 32 × N K tile beside three 32 × 32 tiles: N ≤ 128 for a float PT, ≤ 256 for half.
#define instantiate_fa4_dq_dims(tname, T, PT) \
  instantiate_fa4_dq(tname, T, PT, 32) instantiate_fa4_dq(tname, T, PT, 64) instantiate_fa4_dq(tname, T, PT, 96) instantiate_fa4_dq(tname, T, PT, 128)

instantiate_fa4_dq_dims(f32, float, float)
instantiate_fa4_dq_dims(bf16, bfloat, float)
instantiate_fa4_dq_dims(f16, half, half)
instantiate_fa4_dq(f16, half, half, 160)
instantiate_fa4_dq(f16, half, half, 192)
instantiate_fa4_dq(f16, half, half, 224)
instantiate_fa4_dq(f16, half, half, 256)
