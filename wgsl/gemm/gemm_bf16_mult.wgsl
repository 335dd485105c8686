// gemm_sgmat_bf16.wgsl, head of an exact window: the scale multipliers 2^(142−E) of this
// invocation's staged vectors into ma / mb. A vector of an operand stored K-contiguous (a
// without TRANS_A, b with TRANS_B) lies in one row / column: one multiplier per vector
// (index i of the fetch loop). Otherwise it spans 8 consecutive rows / columns, the same
// 8 for every vector of the invocation (WGT is a multiple of V): one per position.
#if TRANS_A
for (var q = 0u; q < 8u; q = q + 1u) {
  ma[q] = mult(wea[(lid % A_V) * 8u + q]);
}
#else
for (var i = 0u; i < A_PER; i = i + 1u) {
  ma[i] = mult(wea[(lid + i * WGT) / A_V]);
}
#endif
#if TRANS_B
for (var i = 0u; i < B_PER; i = i + 1u) {
  mb[i] = mult(web[(lid + i * WGT) / B_V]);
}
#else
for (var q = 0u; q < 8u; q = q + 1u) {
  mb[q] = mult(web[(lid % B_V) * 8u + q]);
}
#endif
