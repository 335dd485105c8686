// Subgroup-matrix GEMM (f16 inputs, f32 accumulation): the 'subgroup-matrix' tier.
// y = alpha·op(A)·op(B) + beta·C + bias, y in Y_DT.
//
// A workgroup computes a BM×BN tile of y for batch wid.z. Each BK-deep slice of op(A) and
// op(B) is staged through workgroup memory as f16 (zero-padded past M, N and K, so ragged
// shapes need no other care). The workgroup is a SG_M×SG_N grid of logical subgroups of
// SG_SIZE invocations (the adapter's largest subgroup size); each owns FM×FN result
// matrices of 16×16 (a (FM·16)×(FN·16) block of the tile) and accumulates them in f32 with
// subgroupMatrixMultiplyAccumulate. Transposes are absorbed by the staging layout: a
// slice is stored in the operand's own contiguous order and loaded row- or column-major.
// The epilogue moves one result matrix at a time through a per-subgroup f32 staging area
// and writes it with the common dtype store helpers (exact RNE for f16/bf16 outputs).
//
// Subgroup matrix builtins need subgroup-uniform offsets, so a subgroup's place in the grid
// comes from @builtin(subgroup_id). The workgroup has NSG·SG_SIZE invocations with SG_SIZE
// the adapter's largest subgroup size, so there are at least NSG subgroups; if the
// hardware runs smaller ones, subgroup s and s + NSG compute the same matrices redundantly
// (same inputs, same staged values): correct, just slower.
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS (A_DT is f16), WIDE_SMEM. Override: SG_SIZE.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "gemm/gemm_pair.wgsl" (NAME=a)
#include "gemm/gemm_pair.wgsl" (NAME=b)

// 128×128 tiles; a 2×4 grid of subgroups, each owning 4×2 result matrices (64×32).
const BM: u32 = 128u;
const BN: u32 = 128u;
#if WIDE_SMEM
// 32-deep slices with padded rows (padding staggers rows across banks): up to 28 KiB of
// workgroup memory, for adapters whose limit allows it (the launcher checks).
const BK: u32 = 32u;
const PAD: u32 = 8u;
#else
// Within WebGPU's default 16 KiB: 16-deep slices, unpadded.
const BK: u32 = 16u;
const PAD: u32 = 0u;
#endif
#include "gemm/gemm_sgmat_kernel.wgsl" (FT=f16, ST=f16, FR=16, FRU=16u, STG=256u, RUNS=4u, ITEMS=64u, PAIRS=gemm/gemm_sgmat_pairs.wgsl)
