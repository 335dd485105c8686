// pmetal MSL host runtime — the interface between compiled kernel code (the stand-in
// <metal_stdlib>) and the fiber scheduler (native/host/runtime/). Both are
// compiled into every kernel shared object; the addon talks to it only through abi.h.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define PMETAL_RT_HIDDEN __attribute__((visibility("hidden")))

namespace pmetal {
namespace rt {

enum ParamKind : int {
  PK_BUFFER = 1,
  PK_THREADGROUP,
  PK_TPIG,    // thread_position_in_grid
  PK_TPITG,   // thread_position_in_threadgroup
  PK_TGPIG,   // threadgroup_position_in_grid
  PK_TPTG,    // threads_per_threadgroup
  PK_TGPG,    // threadgroups_per_grid
  PK_TIITG,   // thread_index_in_threadgroup
  PK_TIISG,   // thread_index_in_simdgroup
  PK_SGIITG,  // simdgroup_index_in_threadgroup
  PK_TPSG,    // threads_per_simdgroup
  PK_SGPTG,   // simdgroups_per_threadgroup
  PK_TEW,     // thread_execution_width
  PK_TPG,     // threads_per_grid
};

struct ParamSpec {
  int kind;
  int index;
};

// One kernel of a compiled library, as the rewrite step's generated code lists it in
// `pmetal_kernels` (ended by an entry with a null `entry`): its trampoline, name, parameter
// bindings and names, and the bytes each parameter reads from its binding — sizeof(T) for a
// `constant T&` or a by-value parameter, 0 for a pointer (its reach is the binding's length).
struct KernelDesc {
  void (*entry)(void);
  const char* name;
  const ParamSpec* params;  // ended by {0, 0}
  const uint64_t* bytes;
  const char* const* names;
};

// Per-GPU-thread values, owned by the current fiber.
struct ThreadInfo {
  uint32_t tpig[3], tpitg[3], tgpig[3], tptg[3], tgpg[3], tpg[3];
  uint32_t tiitg, tiisg, sgiitg, tpsg, sgptg;
  uint32_t sg_lanes;  // lanes that exist in this thread's simdgroup (32 unless partial)
};

// What a SIMD-group collective's compute function sees, once every active lane arrived.
struct SimdView {
  uint32_t active;  // bit per lane that takes part
  uint32_t lanes;   // lanes that exist in the simdgroup
  const void* in[32];
  const void* in2[32];
  void* out[32];
  uint64_t arg[32];
};
typedef void (*SimdCompute)(SimdView& v);

PMETAL_RT_HIDDEN ThreadInfo* cur_thread();
PMETAL_RT_HIDDEN void* buffer_ptr(int index);
PMETAL_RT_HIDDEN void* tg_param_ptr(int index);
PMETAL_RT_HIDDEN void barrier(const char* what, const char* file, int line, int col);
PMETAL_RT_HIDDEN void simd_collective(const void* in, const void* in2, void* out, uint64_t arg,
                                      SimdCompute fn, const char* what, const char* file, int line,
                                      int col);
PMETAL_RT_HIDDEN void* tg_var(size_t size, size_t align, int site, const char* name, int line);
PMETAL_RT_HIDDEN int64_t fc_int(int index);
PMETAL_RT_HIDDEN double fc_float(int index);
PMETAL_RT_HIDDEN bool fc_defined(int index);
[[noreturn]] PMETAL_RT_HIDDEN void kernel_error(const char* code, const char* msg);

}  // namespace rt
}  // namespace pmetal
