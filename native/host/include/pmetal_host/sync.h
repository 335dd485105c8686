// pmetal stand-in <metal_stdlib>: memory flags and orders, threadgroup_barrier. Every
// collective is a rendezvous of fibers keyed by its call site (__builtin_FILE/LINE/COLUMN
// of the call, passed through PM_SITE_PARAMS), so a divergent kernel is reported by line.
#pragma once
#include "math.h"
#include "rt.h"

#define PM_SITE_PARAMS \
  const char *__pm_file = __builtin_FILE(), int __pm_line = __builtin_LINE(), int __pm_col = __builtin_COLUMN()
#define PM_SITE_ARGS __pm_file, __pm_line, __pm_col

namespace metal {

enum class mem_flags : int {
  mem_none = 0,
  mem_device = 1,
  mem_threadgroup = 2,
  mem_texture = 4,
  mem_threadgroup_imageblock = 8,
  mem_object_data = 16,
};
inline constexpr mem_flags operator|(mem_flags a, mem_flags b) { return (mem_flags)((int)a | (int)b); }
inline constexpr mem_flags operator&(mem_flags a, mem_flags b) { return (mem_flags)((int)a & (int)b); }

enum memory_order {
  memory_order_relaxed = 0,
  memory_order_acquire = 2,
  memory_order_release = 3,
  memory_order_acq_rel = 4,
  memory_order_seq_cst = 5,
};
enum thread_scope { thread_scope_thread, thread_scope_simdgroup, thread_scope_threadgroup, thread_scope_device };

inline void threadgroup_barrier(mem_flags = mem_flags::mem_none, PM_SITE_PARAMS) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  ::pmetal::rt::barrier("threadgroup_barrier", PM_SITE_ARGS);
}
inline void atomic_thread_fence(mem_flags, memory_order = memory_order_seq_cst, thread_scope = thread_scope_device) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

}  // namespace metal
