// Subgroup-matrix GEMM on an f32 8×8×8 configuration (Apple GPUs through Dawn's Metal
// backend report f32→f32 and f16→f16 8×8×8): f16 inputs, f32 accumulation. The tier's
// kernel where the adapter has no f16→f32 16×16×16 configuration (gemm_sgmat.wgsl's).
// y = alpha·op(A)·op(B) + beta·C + bias, y in Y_DT.
//
// Why f32 fragments of f16 data: the f16→f16 configurations accumulate in f16, which the
// gemm bound (f32 accumulation, src/ops/gemm/spec.ts) does not allow; an f16 value is exact
// in f32 and the product of two is exact in f32 too (11 + 11 significant bits ≤ 24), so
// staging the slices as f32 gives the very sums the f16→f32 kernel forms — same bound.
//
// A workgroup computes a 64×64 tile of y for batch wid.z through 16-deep slices of op(A)
// and op(B) staged in workgroup memory as f32 (zero-padded past M, N and K), a 2×4 grid of
// logical subgroups each owning 4×2 result matrices of 8×8 (a 32×16 block). ~11 KiB of
// workgroup memory: within WebGPU's 16 KiB default. Transposes are absorbed by the staging
// layout as in gemm_sgmat.wgsl. Subgroup matrix builtins need subgroup-uniform offsets, so
// a subgroup's place comes from @builtin(subgroup_id) (modulo the grid: smaller hardware
// subgroups compute the same matrices redundantly — correct, just slower).
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS (A_DT is f16). Override: SG_SIZE.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "gemm/gemm_pair.wgsl" (NAME=a)
#include "gemm/gemm_pair.wgsl" (NAME=b)

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
// Row padding staggers f32 rows across banks (a multiple of 4 keeps 16-byte alignment).
const PAD: u32 = 4u;
#include "gemm/gemm_sgmat_kernel.wgsl" (FT=f32, ST=f32, FR=8, FRU=8u, STG=64u, RUNS=2u, ITEMS=16u, PAIRS=gemm/gemm_sgmat8_pairs.wgsl)
