// Flash attention backward, Metal 4 tier: dk and dv (fa_bwd_dk_mpp_<dt>_d<N>, N = D;
// fa_bwd_dv_mpp_<dt>_d<N>, N = Dv), the structure of the Metal 3 fa_bwd_dkv
// (attention/flash_attention_backward.metal) with every product on the MPP tile matmul
// (gemm/mpp_tile.h). FlashAttention-2: P = exp(z − lse) recomputed from the forward's lse,
// (lse, D = dO·o) from the Metal 3 prep kernel; deterministic (no atomics, fixed orders).
//
// A threadgroup of 4 SIMD-groups (128 threads) owns 32 keys j0 .. j1 of one (batch, kv head)
// and keeps dK or dV (32 × N, a cooperative f32 tensor) across the blocks of 32 rows that
// can see them — rows are (query, head) pairs of the G query heads of the kv head, so the
// sum over a GQA group is the sum over rows (fa_bwd_key_rows, fa_bwd_block_misses). Per
// row block:
//   dk: dP = dO·Vᵀ over Dv in 32-deep slices (dO slice in `blk`, V slice in `sl`) into the
//       f32 tile dpt; S = Q·Kᵀ over D with the whole Q block staged in `blk` (sliced by the
//       matmul) and K slices in `sl`; dS = P·(dP − D)·∂z/∂x per element into `xt`;
//       dK += dSᵀ·Q (the Q block still in `blk`).
//   dv: S = Q·Kᵀ over D (Q and K slices); P per element into `xt`; the dO block into `blk`;
//       dV += Pᵀ·dO.
// dk = scale·dK, dv = dV; NaN everywhere when the cu_seqlens are malformed.
// Every product reduces over whole 32-deep slices (D, Dv multiples of 32; rows and keys past
// the block are staged as zeros): the accelerator matmul is wrong on a partial slice (PMetal).
// Operand type PT: half for f16 (P and dS rounded to f16 before their products, the u16 terms
// of src/ops/flash_attention_backward/bounds.ts), float for f32 and bf16 (exact conversions).
// Threadgroup memory: 32·N·sizeof(PT) (blk) + 3 tiles of 32 × 32 + row data: N ≤ 128 for
// f32/bf16 (≈ 29 KiB), ≤ 256 for f16 (≈ 25 KiB).
#include <metal_stdlib>
#include "attention/fa_bwd_mpp.h"
#include "attention/fa_mpp_stage.h"
#include "gemm/mpp_tile.h"
using namespace metal;

template <typename T, typename PT, int N, bool DV>
[[kernel]] void fa_bwd_dkv_mpp(device const T* q [[buffer(0)]],
                               device const T* k [[buffer(1)]],
                               device const T* v [[buffer(2)]],
                               device const T* dO [[buffer(3)]],
                               device const float2* ld [[buffer(4)]],
                               device T* out [[buffer(5)]],
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
  threadgroup PT blk[B * N];             // dk: dO slices, then the Q block; dv: Q slices, then the dO block
  threadgroup PT sl[B * B];              // the V or K slice (keys × 32)
  threadgroup float dpt[DV ? 1 : B * B];  // dk: dP (rows × keys)
  threadgroup PT xt[B * B];              // dk: dS, dv: P (rows × keys)
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, TPG);
  const uint kvh = tg.y, bz = tg.z;
  const uint j0 = tg.x * B;
  const uint j1 = min(j0 + B, p.sk) - 1;
  const uint kb = bz * p.k_sb + kvh * p.k_sh, vb = bz * p.v_sb + kvh * p.v_sh;
  const uint3 rk = fa_bwd_key_rows(cuk, cuq, p, cu_ok, j0, j1, j0);

  auto Blk = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(blk, dextents<int32_t, 2>(N, B));
  auto Blk32 = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(blk, dextents<int32_t, 2>(B, B));
  auto Sl = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(sl, dextents<int32_t, 2>(B, B));
  auto Xt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(xt, dextents<int32_t, 2>(B, B));
  // S and dP: rows × keys, the right operand stored keys × dims (transpose_right).
  typename mpp_tile<B, B, B, false, true, SG>::op_type s_op;
  // dK / dV += Xᵀ · block: X stored rows × keys (transpose_left), the block rows × N.
  typename mpp_tile<B, N, B, true, false, SG>::op_type o_op;
  auto sacc = s_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Blk.slice(0, 0))>, __remove_addrspace_t<decltype(Sl.slice(0, 0))>, float>();
  auto acc = o_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Xt.slice(0, 0))>, __remove_addrspace_t<decltype(Blk.slice(0, 0))>, float>();
  mpp_acc_zero(acc);
  const fa4_tile_store dpstore{dpt};
  const fa4_bwd_px<PT, !DV> px{xt, dpt, rlo, rhi, rld, &p, int(j0), int(j1)};

  for (uint rb0 = rk.x; rb0 < rk.y; rb0 += B) {
    if (fa_bwd_block_misses(rb0, min(rb0 + B, rk.y) - 1, bz, kvh, p, cuq, cuk, j0, j1)) continue;
    // Orders the previous block's dK/dV product (the last reader of blk and xt) first.
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid < uint(B)) {
      const FaBwdRow w = fa_bwd_row(rb0 + lid, rk.y, bz, kvh, p, cuq, cuk, ld, FA4_NONE);
      rlo[lid] = w.lo;
      rhi[lid] = w.hi;
      rld[lid] = w.ld;
      rq[lid] = w.q;
      ro[lid] = w.o;
    }
    if (!DV) {
      mpp_acc_zero(sacc);
      for (uint c0 = 0; c0 < p.dv; c0 += B) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        fa4_stage_rows(blk, dO, ro, c0, B, lid, TPG);
        fa4_stage_keys(sl, v, vb, p.v_ss, int(j0), int(j1), c0, B, lid, TPG);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        s_op.run(Blk32.slice(0, 0), Sl.slice(0, 0), sacc);
      }
      mpp_acc_store(sacc, 0, 0, B, B, dpstore);
    }
    mpp_acc_zero(sacc);
    for (uint d0 = 0; d0 < p.d; d0 += B) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      if (DV) fa4_stage_rows(blk, q, rq, d0, B, lid, TPG);
      else if (d0 == 0) fa4_stage_rows(blk, q, rq, 0, N, lid, TPG);
      fa4_stage_keys(sl, k, kb, p.k_ss, int(j0), int(j1), d0, B, lid, TPG);
      threadgroup_barrier(mem_flags::mem_threadgroup);
      s_op.run(DV ? Blk32.slice(0, 0) : Blk.slice(d0, 0), Sl.slice(0, 0), sacc);
    }
    mpp_acc_store(sacc, 0, 0, B, B, px);
    if (DV) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      fa4_stage_rows(blk, dO, ro, 0, N, lid, TPG);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    o_op.run(Xt.slice(0, 0), Blk.slice(0, 0), acc);
  }
  const uint base = DV ? bz * p.v_sb + j0 * p.v_ss + kvh * p.v_sh : bz * p.k_sb + j0 * p.k_ss + kvh * p.k_sh;
  const fa4_bwd_key_out<T> st{out, base, DV ? p.v_ss : p.k_ss, DV ? 1.0f : p.scale, cu_ok};
  mpp_acc_store(acc, 0, 0, int(j1 - j0) + 1, N, st);
}

#define fa4b_str_(x) #x
#define fa4b_str(x) fa4b_str_(x)
#define instantiate_fa4_dkv(tname, T, PT, N)                                                                                                          \
  template [[host_name(fa4b_str(fa_bwd_dk_mpp_##tname##_d##N))]] [[kernel]] decltype(fa_bwd_dkv_mpp<T, PT, N, false>) fa_bwd_dkv_mpp<T, PT, N, false>; \
  template [[host_name(fa4b_str(fa_bwd_dv_mpp_##tname##_d##N))]] [[kernel]] decltype(fa_bwd_dkv_mpp<T, PT, N, true>) fa_bwd_dkv_mpp<T, PT, N, true>;
// The 32 × N block beside three 32 × 32 tiles: N ≤ 128 for a float PT, ≤ 256 for half.
#define instantiate_fa4_dkv_dims(tname, T, PT) \
  instantiate_fa4_dkv(tname, T, PT, 32) instantiate_fa4_dkv(tname, T, PT, 64) instantiate_fa4_dkv(tname, T, PT, 96) instantiate_fa4_dkv(tname, T, PT, 128)

instantiate_fa4_dkv_dims(f32, float, float)
instantiate_fa4_dkv_dims(bf16, bfloat, float)
instantiate_fa4_dkv_dims(f16, half, half)
instantiate_fa4_dkv(f16, half, half, 160)
instantiate_fa4_dkv(f16, half, half, 192)
instantiate_fa4_dkv(f16, half, half, 224)
instantiate_fa4_dkv(f16, half, half, 256)
