// The aligned subgroup-matrix kernels' staged K slices (gemm_sgmat_vec, gemm_sgmat_bf16): each
// operand's slice as stored rows × contiguous columns (its fragments load column-major when
// the operand is transposed), rows padded by PAD halves, and the 16-byte words each of the
// WGT invocations moves. Needs BM, BN, BK, PAD, WGT; defines A_LAYOUT and B_LAYOUT.
#if TRANS_A
#define A_LAYOUT col_major
const A_ROWS: u32 = BK;
const A_COLS: u32 = BM;
#else
#define A_LAYOUT row_major
const A_ROWS: u32 = BM;
const A_COLS: u32 = BK;
#endif
#if TRANS_B
#define B_LAYOUT col_major
const B_ROWS: u32 = BN;
const B_COLS: u32 = BK;
#else
#define B_LAYOUT row_major
const B_ROWS: u32 = BK;
const B_COLS: u32 = BN;
#endif
const LDA: u32 = A_COLS + PAD;
const LDB: u32 = B_COLS + PAD;
// Vectors per staged row and per invocation.
const A_V: u32 = A_COLS / 8u;
const B_V: u32 = B_COLS / 8u;
const A_PER: u32 = A_ROWS * A_V / WGT;
const B_PER: u32 = B_ROWS * B_V / WGT;
// Halves of one staged slice of each operand.
const A_SZ: u32 = A_ROWS * LDA;
const B_SZ: u32 = B_ROWS * LDB;
