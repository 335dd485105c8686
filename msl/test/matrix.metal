// pmetal host-runtime tests: simdgroup_matrix load / multiply_accumulate / store.
#include <metal_stdlib>
using namespace metal;

// C[M x N] = A[M x K] * B[K x N] (+ C when accumulate); one SIMD-group per 8x8 output tile,
// 4 SIMD-groups per threadgroup (a 16x16 block); A staged through threadgroup memory.
kernel void matmul8(device const float* A [[buffer(0)]],
                    device const float* B [[buffer(1)]],
                    device float* C [[buffer(2)]],
                    constant uint3& mnk [[buffer(3)]],
                    uint3 tg [[threadgroup_position_in_grid]],
                    ushort sg [[simdgroup_index_in_threadgroup]],
                    ushort lid [[thread_index_in_threadgroup]]) {
  const uint M = mnk.x, N = mnk.y, K = mnk.z;
  threadgroup float As[16 * 8];
  const uint row0 = tg.y * 16, col0 = tg.x * 16;
  const uint r = row0 + (sg / 2) * 8, c = col0 + (sg % 2) * 8;
  simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
  for (uint k = 0; k < K; k += 8) {
    // stage a 16x8 slab of A
    for (uint i = lid; i < 16 * 8; i += 128) As[i] = A[(row0 + i / 8) * K + k + i % 8];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    simdgroup_float8x8 a, b;
    simdgroup_load(a, As, 8, ulong2(0, (sg / 2) * 8));
    simdgroup_load(b, B + k * N + c, N);
    simdgroup_multiply_accumulate(acc, a, b, acc);
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  simdgroup_store(acc, C + r * N + c, N);
  (void)M;
}

// transposed loads/stores, simdgroup_multiply, half matrices, thread_elements
kernel void matrix_misc(device const half* A [[buffer(0)]],
                        device const half* B [[buffer(1)]],
                        device float* out [[buffer(2)]],
                        ushort lane [[thread_index_in_simdgroup]]) {
  simdgroup_half8x8 a, bt;
  simdgroup_load(a, A, 8);
  simdgroup_load(bt, B, 8, ulong2(0, 0), true);  // B^T
  simdgroup_float8x8 d;
  simdgroup_multiply(d, a, bt);                   // A * B^T
  simdgroup_store(d, out, 8);
  simdgroup_store(d, out + 64, 8, ulong2(0, 0), true);  // (A * B^T)^T
  // scale this lane's two elements, then accumulate with the identity: I * A + d2
  simdgroup_float8x8 d2 = d;
  d2.thread_elements() *= 2.0f;
  simdgroup_float8x8 eye(1.0f);
  simdgroup_float8x8 fa;
  simdgroup_load(fa, out, 8);
  simdgroup_multiply_accumulate(d2, eye, fa, d2);  // 3 * (A * B^T)
  simdgroup_store(d2, out + 128, 8);
  out[192 + lane * 2] = d2.thread_elements()[0];
  out[192 + lane * 2 + 1] = d2.thread_elements()[1];
}
