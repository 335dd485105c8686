// decode_attention, Metal 4 tier: decode_split_mpp_<dt>_dv<DV> (DV = Dv exactly, a multiple
// of 32), the split kernel of the Metal 3 tier (attention/decode_attention.metal) with Q·Kᵀ and
// P·V on the MPP tile matmul (gemm/mpp_tile.h) and the online softmax of the Metal 4 forward
// (online_softmax.h: fa4_softmax_tile). The partials are combined by the Metal 3
// decode_reduce_<dt> (no product in it), so one bound — src/ops/decode_attention's, the
// forward's with the split-and-combine terms — covers both tiers.
//
// A threadgroup of 4 SIMD-groups (128 threads) owns 32 rows — (query token, head) pairs of
// the G query heads of one kv head of one sequence: the T·G rows of a GQA group are the M
// side of the matmuls — and one split of its keys, walked in tiles of 32 keys:
//   the tile's key rows are looked up once (contiguous cache, or the block table when paged)
//   into koff/voff; S (32 × 32) = Q · Kᵀ over D in 32-deep slices (Q and K slices staged,
//   zeros for absent rows and keys past the split's last one); softmax over the row's keys
//   [lo, hi] (window, causal position len − T + t) with the lazy rescale; O (32 × DV, a
//   cooperative f32 tensor) = O·α + P · V.
// Each row writes its partial (m, l, 0, 0, O) unnormalised, as the Metal 3 split kernel.
// Operand types as the forward's: Q·Kᵀ in T (16-bit products exact), P·V in PT — half for f16
// (P rounded once: the bound's u_P term), float for f32 and bf16. Threadgroup memory: 8 KiB of
// slices (reused for P) + 4 KiB of scores + 32·DV·sizeof(PT) of V + row data: DV ≤ 128 for
// f32/bf16, ≤ 256 for f16. A sequence that fails the check (da_seq) reads nothing.
#include <metal_stdlib>
#include "attention/decode.h"
#include "attention/fa_mpp_stage.h"
#include "gemm/mpp_tile.h"
using namespace metal;

// The partial's O: part[rec[row] + 4 + col] = v.
struct da4_part_store {
  device float* part;
  threadgroup const uint* rec;
  void operator()(float v, int row, int col) const { part[rec[row] + 4 + uint(col)] = v; }
};

template <typename T, typename PT, int DV>
[[kernel]] void decode_split_mpp(device const T* q [[buffer(0)]],
                                 device const T* k [[buffer(1)]],
                                 device const T* v [[buffer(2)]],
                                 device const int* lengths [[buffer(3)]],
                                 device const int* table [[buffer(4)]],
                                 device float* part [[buffer(5)]],
                                 constant DecodeParams& p [[buffer(8)]],
                                 uint3 tg [[threadgroup_position_in_grid]],
                                 uint lid [[thread_index_in_threadgroup]]) {
  constexpr int BQ = 32, BK = 32, BD = 32, SG = 4;
  constexpr uint TPG = 128;
  threadgroup atomic_uint bad;
  threadgroup uint qoff[BQ], recoff[BQ];
  threadgroup uint koff[BK], voff[BK];
  threadgroup float alpha_s[BQ];
  threadgroup float ss[BQ * BK];
  threadgroup float qkp[2 * BQ * BD];  // the Q and K slices (T), then P (PT)
  threadgroup PT vs[BK * DV];
  threadgroup T* qs = (threadgroup T*)qkp;
  threadgroup T* ks = qs + BQ * BD;
  threadgroup PT* ps = (threadgroup PT*)qkp;

  const uint s = tg.y % p.splits, kvh = tg.y / p.splits, b = tg.z;
  uint len;
  const bool ok = da_seq(lengths, table, p, b, &bad, lid, TPG, len);
  const int s0 = int(s * p.split_len);
  const int s1 = min(int((s + 1) * p.split_len), int(len)) - 1;
  const uint r_first = tg.x * BQ;
  const uint r_last = min(r_first + BQ, p.rows) - 1;
  const int kstart = ok ? da_keys(p, len, r_first, s0, s1).x : 0;
  const int kend = ok ? da_keys(p, len, r_last, s0, s1).y : -1;

  // The softmax role: row srow, keys scol .. scol + 7 of each tile.
  const uint srow = lid / 4, scol = (lid % 4) * 8;
  const uint r = r_first + srow;
  const bool in_rows = r < p.rows;
  const bool live = in_rows && ok;
  const uint rc = min(r, p.rows - 1);
  const int2 rk = da_keys(p, len, rc, s0, s1);
  const uint t = rc / p.group, h = kvh * p.group + rc % p.group;
  if (lid % 4 == 0) {
    qoff[srow] = live ? ((b * p.t + t) * p.hq + h) * p.d : FA4_NONE;
    recoff[srow] = (((b * p.hq + h) * p.t + t) * p.splits + s) * p.rec;
  }
  float m = FA_LOWEST, l = 0.0f;

  auto Qt = tensor<threadgroup T, dextents<int32_t, 2>, tensor_inline>(qs, dextents<int32_t, 2>(BD, BQ));
  // K slice stored keys × dims (N × K): transpose_right.
  auto Kt = tensor<threadgroup T, dextents<int32_t, 2>, tensor_inline>(ks, dextents<int32_t, 2>(BD, BK));
  auto Pt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(ps, dextents<int32_t, 2>(BK, BQ));
  // V tile stored keys × columns (K × N).
  auto Vt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(vs, dextents<int32_t, 2>(DV, BK));
  typename mpp_tile<BQ, BK, BD, false, true, SG>::op_type qk_op;
  typename mpp_tile<BQ, DV, BK, false, false, SG>::op_type pv_op;
  auto sacc = qk_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Qt)>, __remove_addrspace_t<decltype(Kt)>, float>();
  auto oacc = pv_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Pt)>, __remove_addrspace_t<decltype(Vt)>, float>();
  mpp_acc_zero(oacc);
  const fa4_tile_store sstore{ss};

  for (int k0 = kstart; k0 <= kend; k0 += BK) {
    // Orders the previous tile's P · V (the last reader of P, V and the key rows) and, on the
    // first tile, qoff before the writes.
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid < uint(BK)) {
      const int j = k0 + int(lid);
      koff[lid] = j <= kend ? da_key_row(table, p, b, kvh, uint(j), p.d) : FA4_NONE;
      voff[lid] = j <= kend ? da_key_row(table, p, b, kvh, uint(j), p.dv) : FA4_NONE;
    }
    mpp_acc_zero(sacc);
    for (uint d0 = 0; d0 < p.d; d0 += BD) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      fa4_stage_rows(qs, q, qoff, d0, BD, lid, TPG);
      fa4_stage_rows(ks, k, koff, d0, BD, lid, TPG);
      threadgroup_barrier(mem_flags::mem_threadgroup);
      qk_op.run(Qt, Kt, sacc);
    }
    fa4_stage_rows(vs, v, voff, 0, DV, lid, TPG);
    mpp_acc_store(sacc, 0, 0, BQ, BK, sstore);
    threadgroup_barrier(mem_flags::mem_threadgroup);

    const float alpha = fa4_softmax_tile(ss, ps, srow, scol, k0, live, rk.x, rk.y, p.scale, p.has_cap != 0, p.cap, p.inv_cap, m, l);
    if (lid % 4 == 0) alpha_s[srow] = alpha;
    threadgroup_barrier(mem_flags::mem_threadgroup);

    // O = O·α (per row) + P · V.
    fa4_acc_rescale(oacc, alpha_s);
    pv_op.run(Pt, Vt, oacc);
  }
  l += simd_shuffle_xor(l, 1);
  l += simd_shuffle_xor(l, 2);
  if (lid % 4 == 0 && in_rows) {
    device float* rec = part + recoff[srow];
    rec[0] = m;
    rec[1] = l;
    rec[2] = 0.0f;
    rec[3] = 0.0f;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);  // recoff, when no key tile was walked
  const da4_part_store st{part, recoff};
  mpp_acc_store(oacc, 0, 0, int(r_last - r_first) + 1, DV, st);
}

#define da4_str_(x) #x
#define da4_str(x) da4_str_(x)
#define instantiate_da4(tname, T, PT, DV) \
  template [[host_name(da4_str(decode_split_mpp_##tname##_dv##DV))]] [[kernel]] decltype(decode_split_mpp<T, PT, DV>) decode_split_mpp<T, PT, DV>;
// 32·DV·sizeof(PT) of V beside the 12 KiB of slices and scores: DV ≤ 128 for a float P,
// ≤ 256 for a half one.
#define instantiate_da4_dims(tname, T, PT) \
  instantiate_da4(tname, T, PT, 32) instantiate_da4(tname, T, PT, 64) instantiate_da4(tname, T, PT, 96) instantiate_da4(tname, T, PT, 128)

instantiate_da4_dims(f32, float, float)
instantiate_da4_dims(bf16, bfloat, float)
instantiate_da4_dims(f16, half, half)
instantiate_da4(f16, half, half, 160)
instantiate_da4(f16, half, half, 192)
instantiate_da4(f16, half, half, 224)
instantiate_da4(f16, half, half, 256)
