// pmetal host-runtime tests: device and threadgroup atomics under contention.
#include <metal_stdlib>
using namespace metal;

kernel void contend(device atomic_uint* counter [[buffer(0)]],
                    device atomic_int* maxv [[buffer(1)]],
                    device atomic_float* fsum [[buffer(2)]],
                    device uint* perGroup [[buffer(3)]],
                    device atomic_uint* cas [[buffer(4)]],
                    uint gid [[thread_position_in_grid]],
                    uint lid [[thread_index_in_threadgroup]],
                    uint tg [[threadgroup_position_in_grid]]) {
  threadgroup atomic_uint local;
  if (lid == 0) atomic_store_explicit(&local, 0u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  atomic_fetch_add_explicit(counter, 1u, memory_order_relaxed);
  atomic_fetch_max_explicit(maxv, int((gid * 7919u) % 100003u), memory_order_relaxed);
  atomic_fetch_add_explicit(fsum, 0.5f, memory_order_relaxed);
  atomic_fetch_add_explicit(&local, lid, memory_order_relaxed);
  // compare-exchange increment loop
  uint expected = atomic_load_explicit(cas, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(cas, &expected, expected + 2u, memory_order_relaxed, memory_order_relaxed)) {
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == 0) perGroup[tg] = atomic_load_explicit(&local, memory_order_relaxed);
}
