// The subgroup-matrix gemms after their tile constants (BM, BN, BK, PAD): an SG_M×SG_N grid
// of subgroups each owning FM×FN result fragments of FR×FR, the staged slices' layouts (ST:
// the staged element type), the epilogue staging, and the entry point. Args: FT, ST, FR,
// FRU, STG, RUNS, ITEMS, PAIRS (see gemm_sgmat_main.wgsl and gemm_sgmat_flush.wgsl).
const SG_M: u32 = 2u;
const SG_N: u32 = 4u;
// The subgroup size the layout assumes: the adapter's largest (32 on NVIDIA and Apple).
override SG_SIZE: u32 = 32u;
const FM: u32 = BM / (SG_M * FRU);
const FN: u32 = BN / (SG_N * FRU);
const NSG: u32 = SG_M * SG_N;

#if TRANS_A
// a is [K, M]: the slice is stored [k][m] and op(A) fragments load column-major.
#define A_LAYOUT col_major
const LDA: u32 = BM + PAD;
const A_ROWS: u32 = BK;
const A_COLS: u32 = BM;
#else
#define A_LAYOUT row_major
const LDA: u32 = BK + PAD;
const A_ROWS: u32 = BM;
const A_COLS: u32 = BK;
#endif
#if TRANS_B
// b is [N, K]: the slice is stored [n][k] and op(B) fragments load column-major.
#define B_LAYOUT col_major
const LDB: u32 = BK + PAD;
const B_ROWS: u32 = BN;
const B_COLS: u32 = BK;
#else
#define B_LAYOUT row_major
const LDB: u32 = BN + PAD;
const B_ROWS: u32 = BK;
const B_COLS: u32 = BN;
#endif

var<workgroup> As: array<ST, A_ROWS * LDA>;
var<workgroup> Bs: array<ST, B_ROWS * LDB>;
var<workgroup> stage: array<f32, NSG * STG>;
#include "gemm/gemm_sgmat_flush.wgsl" (FRU=FRU, STG=STG, RUNS=RUNS, ITEMS=ITEMS)

// Offset of the 16×16 fragment of op(A) at tile rows r0.., slice columns k0.. (and of op(B)
// at slice rows k0.., tile columns c0..) in the staged layouts.
#include "gemm/gemm_sgmat_offsets.wgsl"

@compute @workgroup_size(NSG * SG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
#include "gemm/gemm_sgmat_main.wgsl" (FT=FT, FR=FR, FRU=FRU, STG=STG, PAIRS=PAIRS)
}
