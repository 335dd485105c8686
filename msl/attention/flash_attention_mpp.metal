// Flash attention forward, Metal 4 tier: Q·Kᵀ and P·V on the MPP tile matmul of the Metal 4
// gemm (gemm/mpp_tile.h: matmul2d, on the neural accelerators where the chip has them), in
// the online-softmax structure of the Metal 3 kernel (attention/flash_attention.metal):
// fa_fwd_mpp_<dt>_dv<DV>, DV = Dv exactly (a multiple of 32).
//
// A threadgroup of 4 SIMD-groups (128 threads) owns BQ = 32 problem rows of one (batch, kv
// head) — rows are (query, head) pairs of the G query heads sharing the kv head — and walks
// the block's key range [kstart, kend] in tiles of BK = 32 keys:
//   S (32 × 32) = Q · Kᵀ accumulated over the head dim in BD = 32 slices (Q and K slices
//   staged in T; Q is restaged per key tile so that no head dim is limited by a whole Q tile
//   in threadgroup memory), f32 in a cooperative tensor, then stored to a threadgroup tile;
//   softmax (online_softmax.h, fa4_softmax_tile, shared with decode_attention_mpp.metal):
//   4 adjacent lanes per row, 8 keys each — scale, softcap, mask by the row's
//   [lo, hi], the row max over the 4 lanes (simd_shuffle_xor 1 and 2), the lazy rescale of
//   bounds.ts (m moves only when a tile's max exceeds m + FA_TAU); P = exp(s − m) into
//   threadgroup memory as PT, the rescale factor of each row beside it;
//   O (32 × DV, a cooperative f32 tensor kept across key tiles): each thread scales the
//   elements it holds by their row's factor, then O += P · V.
// Every product reduces over a whole 32-deep slice (D % 32 == 0, BK = 32): the accelerator
// matmul is wrong on a partial K slice (PMetal). Keys past kend are staged as zeros and
// masked; rows past `rows` are staged as zeros and never stored.
//
// Operand types: Q·Kᵀ multiplies T (16-bit products are exact, sums in f32). P·V multiplies PT:
// half for f16 (P rounded to f16 once before the product: the u_P term of bounds.ts, as the
// WebGPU subgroup-matrix tier), float for f32 and bf16 (bounds.ts counts no rounding of P for
// them; V converts exactly).
// Threadgroup memory: 8 KiB (the Q and K slices, reused for P) + 4 KiB (S) + 32·DV·sizeof(PT)
// (V) + row data: DV ≤ 128 for f32/bf16 (28 KiB), ≤ 256 for f16 (28 KiB).
// varlen: cu_seqlens are device data — checked first by the threadgroup (as Metal 3: every
// output NaN when malformed); every index is then in range.
#include <metal_stdlib>
#include "attention/attention.h"
#include "attention/fa_params.h"
#include "gemm/mpp_tile.h"
using namespace metal;

// The score tile S[row, col] for mpp_acc_store.
struct fa4_score_store {
  threadgroup float* s;
  int stride;
  void operator()(float v, int row, int col) const { s[row * stride + col] = v; }
};

// o[row, col] = O / l of the row (0 for a row without keys, NaN for malformed cu_seqlens).
template <typename T>
struct fa4_out_store {
  device T* o;
  threadgroup const float* l;
  threadgroup const uint* ooff;
  bool cu_ok;
  void operator()(float v, int row, int col) const {
    const float lr = l[row];
    const float x = !cu_ok ? as_type<float>(0x7fc00000u) : lr == 0.0f ? 0.0f : v / lr;
    o[ooff[row] + uint(col)] = T(x);
  }
};

template <typename T, typename PT, int DV>
[[kernel]] void fa_fwd_mpp(device const T* q [[buffer(0)]],
                           device const T* k [[buffer(1)]],
                           device const T* v [[buffer(2)]],
                           device T* o [[buffer(3)]],
                           device float* lse [[buffer(4)]],
                           device const float* sinks [[buffer(5), function_constant(fa_has_sinks)]],
                           device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                           device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                           constant FaParams& p [[buffer(8)]],
                           uint3 tg [[threadgroup_position_in_grid]],
                           uint lid [[thread_index_in_threadgroup]]) {
  constexpr int BQ = 32, BK = 32, BD = 32, SG = 4;
  constexpr uint TPG = 128;
  constexpr uint NONE = 0xffffffffu;
  threadgroup atomic_uint bad_count;
  threadgroup uint qoff[BQ];
  threadgroup uint ooff[BQ];
  threadgroup float alpha_s[BQ];
  threadgroup float l_s[BQ];
  threadgroup float ss[BQ * BK];
  threadgroup float qkp[2 * BQ * BD];  // the Q and K slices (T), then P (PT)
  threadgroup PT vs[BK * DV];
  threadgroup T* qs = (threadgroup T*)qkp;
  threadgroup T* ks = qs + BQ * BD;
  threadgroup PT* ps = (threadgroup PT*)qkp;
  const uint d = p.d, dv = p.dv;

  // varlen: validate both cu_seqlens before anything is read through them.
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, TPG);

  const uint kvh = tg.y, bz = tg.z;
  const uint r_first = tg.x * BQ;
  const uint r_last = min(r_first + BQ, p.rows) - 1;
  const int kstart = fa_row(r_first, bz, kvh, cu_ok, p, cuq, cuk).lo;
  const int kend = fa_row(r_last, bz, kvh, cu_ok, p, cuq, cuk).hi;

  // The softmax role: row srow, keys scol .. scol + 7 of each tile.
  const uint srow = lid / 4, scol = (lid % 4) * 8;
  const uint r = r_first + srow;
  const bool in_rows = r < p.rows;
  const bool live = in_rows && cu_ok;
  const FaRow g = fa_row(min(r, p.rows - 1), bz, kvh, cu_ok, p, cuq, cuk);
  if (lid % 4 == 0) {
    qoff[srow] = live ? fa_row(r, bz, kvh, false, p, cuq, cuk).q : NONE;
    ooff[srow] = g.o;
  }

  float m = FA_LOWEST;
  float l = 0.0f;
  if (fa_has_sinks && live && !g.pad) {
    m = sinks[g.h];
    // The sink joins the denominator once: the first of the row's four lanes.
    l = lid % 4 == 0 ? 1.0f : 0.0f;
  }

  auto Qt = tensor<threadgroup T, dextents<int32_t, 2>, tensor_inline>(qs, dextents<int32_t, 2>(BD, BQ));
  // K slice stored keys × dims (N × K): transpose_right.
  auto Kt = tensor<threadgroup T, dextents<int32_t, 2>, tensor_inline>(ks, dextents<int32_t, 2>(BD, BK));
  auto Pt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(ps, dextents<int32_t, 2>(BK, BQ));
  // V tile stored keys × columns (K × N).
  auto Vt = tensor<threadgroup PT, dextents<int32_t, 2>, tensor_inline>(vs, dextents<int32_t, 2>(DV, BK));
  typename mpp_tile<BQ, BK, BD, false, true, SG>::op_type qk_op;
  typename mpp_tile<BQ, DV, BK, false, false, SG>::op_type pv_op;
  auto oacc = pv_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Pt)>, __remove_addrspace_t<decltype(Vt)>, float>();
  mpp_acc_zero(oacc);

  const uint kb0 = bz * p.k_sb + kvh * p.k_sh;
  const uint vb0 = bz * p.v_sb + kvh * p.v_sh;
  const fa4_score_store sstore{ss, BK};
  for (int k0 = kstart; k0 <= kend; k0 += BK) {
    // S = Q · Kᵀ over the head dim. The first barrier also orders the previous tile's P · V
    // (the last reader of P, which shares the slices' memory, and of V) before the writes.
    auto sacc = qk_op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(Qt)>, __remove_addrspace_t<decltype(Kt)>, float>();
    mpp_acc_zero(sacc);
    for (uint d0 = 0; d0 < d; d0 += BD) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      for (uint e = lid; e < uint(BQ * BD); e += TPG) {
        const uint qo = qoff[e / BD];
        qs[e] = qo == NONE ? T(0) : q[qo + d0 + e % BD];
        const int j = k0 + int(e / BD);
        ks[e] = j <= kend ? k[kb0 + uint(j) * p.k_ss + d0 + e % BD] : T(0);
      }
      threadgroup_barrier(mem_flags::mem_threadgroup);
      qk_op.run(Qt, Kt, sacc);
    }
    for (uint e = lid; e < uint(BK * DV); e += TPG) {
      const int j = k0 + int(e / DV);
      const uint c = e % DV;
      vs[e] = j <= kend && c < dv ? PT(v[vb0 + uint(j) * p.v_ss + c]) : PT(0);
    }
    mpp_acc_store(sacc, 0, 0, BQ, BK, sstore);
    threadgroup_barrier(mem_flags::mem_threadgroup);

    const float alpha = fa4_softmax_tile(ss, ps, srow, scol, k0, live, g.lo, g.hi, p.scale, fa_has_softcap, p.cap, p.inv_cap, m, l);
    if (lid % 4 == 0) alpha_s[srow] = alpha;
    threadgroup_barrier(mem_flags::mem_threadgroup);

    // O = O·α (per row) + P · V.
    fa4_acc_rescale(oacc, alpha_s);
    pv_op.run(Pt, Vt, oacc);
  }
  l += simd_shuffle_xor(l, 1);
  l += simd_shuffle_xor(l, 2);
  if (lid % 4 == 0) {
    l_s[srow] = l;
    if (in_rows) lse[g.lse] = !cu_ok ? as_type<float>(0x7fc00000u) : l == 0.0f ? -INFINITY : m + precise::log(l);
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  const fa4_out_store<T> ostore{o, l_s, ooff, cu_ok};
  mpp_acc_store(oacc, 0, 0, int(min(uint(BQ), p.rows - r_first)), int(dv), ostore);
}

#define fa4_str_(x) #x
#define fa4_str(x) fa4_str_(x)
#define instantiate_fa4(tname, T, PT, DV) \
  template [[host_name(fa4_str(fa_fwd_mpp_##tname##_dv##DV))]] [[kernel]] decltype(fa_fwd_mpp<T, PT, DV>) fa_fwd_mpp<T, PT, DV>;
// 32·DV·sizeof(PT) of V must fit beside the 12 KiB of slices and scores: DV ≤ 128 for a
// float P, ≤ 256 for a half one.
#define instantiate_fa4_dims(tname, T, PT) \
  instantiate_fa4(tname, T, PT, 32) instantiate_fa4(tname, T, PT, 64) instantiate_fa4(tname, T, PT, 96) instantiate_fa4(tname, T, PT, 128)

instantiate_fa4_dims(f32, float, float)
instantiate_fa4_dims(bf16, bfloat, float)
instantiate_fa4_dims(f16, half, half)
instantiate_fa4(f16, half, half, 160)
instantiate_fa4(f16, half, half, 192)
instantiate_fa4(f16, half, half, 224)
instantiate_fa4(f16, half, half, 256)
