// pmetal MSL host runtime: the scheduler's state, shared by runtime/*.cpp. A dispatch's
// threadgroups are spread over worker threads; a worker runs one threadgroup at a time with
// every GPU thread as a fiber, switching at barriers and SIMD-group collectives.
#pragma once
#include <pmetal_host/abi.h>
#include <pmetal_host/rt.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PM_ASAN 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#define PM_ASAN 1
#endif
#ifdef PM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace pmetal {
namespace rt {

enum FiberState : int { F_READY = 1, F_BLOCKED = 2, F_DONE = 3 };
enum WaitKind : int { W_NONE = 0, W_BARRIER = 1, W_SIMD = 2 };

struct Fiber {
  void* sp;
  uint8_t* stack_lo;
  size_t stack_size;
  int state;
  int wait;
  const char* wait_what;
  const char* wait_file;
  int wait_line, wait_col;
  void* asan_fake;
  ThreadInfo ti;
  // this lane's operands of the SIMD-group collective it waits at
  const void* in;
  const void* in2;
  void* out;
  uint64_t arg;
};

// A SIMD-group's rendezvous: lanes arrive at one call site; the last one computes for all.
struct SimdState {
  uint32_t lanes_mask, arrived, exited;
  const char* what;
  const char* file;
  int line, col;
  SimdCompute fn;
  Fiber* lane_fiber[32];
};

struct TgVar {
  int site;
  void* p;
  size_t size;
  const char* name;
  int line;
};

// Fiber stacks of one worker: `count` stacks with a guard page below each.
struct StackRegion {
  uint8_t* base;
  size_t bytes;
  size_t stack_size;
  uint32_t count;
};

static const size_t kArenaBytes = 1 << 20;  // threadgroup memory arena per worker
static const size_t kGuard = 64;             // guard zone around each threadgroup allocation
static const size_t kTgLimit = 32768;        // Apple GPUs' threadgroup memory limit
static const uint8_t kCanary = 0xCD;         // guard zone fill (without ASan)

// One dispatch, shared by its workers.
struct Shared {
  pm_launch* L;
  std::atomic<uint64_t> next{0};  // next threadgroup to run
  std::atomic<bool> failed{false};
  std::mutex mu;
  uint64_t total = 0;
};

struct Worker {
  Shared* S = nullptr;
  pm_launch* L = nullptr;
  StackRegion stacks{};
  Fiber* fibers = nullptr;
  uint32_t T = 0;  // threads per threadgroup
  void* sched_sp = nullptr;
  Fiber* cur = nullptr;
  std::vector<int> ready;
  size_t ready_head = 0;
  uint32_t ndone = 0;
  uint32_t bar_count = 0;
  const char* bar_file = nullptr;
  int bar_line = 0, bar_col = 0;
  SimdState sg[32];
  uint8_t* arena = nullptr;
  size_t arena_used = 0, tg_bytes = 0;
  std::vector<TgVar> tgvars;
  std::vector<std::pair<uint8_t*, size_t>> guards;
  void* tg_params[PMETAL_MAX_BINDINGS];
  bool failed = false;
  const void* sched_bottom = nullptr;
  size_t sched_size = 0;
};

// The worker of the current OS thread. __thread, not thread_local: no TLS wrapper call on
// every access from another translation unit.
PMETAL_RT_HIDDEN extern __thread Worker* tls_w;

// ---- sync.cpp: fibers, barriers, SIMD-group rendezvous, errors
PMETAL_RT_HIDDEN void set_error(Worker* w, const char* code, const std::string& msg);
PMETAL_RT_HIDDEN std::string where(const char* file, int line, int col);
PMETAL_RT_HIDDEN std::string kname(Worker* w);
PMETAL_RT_HIDDEN void switch_to_fiber(Worker* w, Fiber* f);
PMETAL_RT_HIDDEN void fiber_main(void* arg);
PMETAL_RT_HIDDEN void diagnose_deadlock(Worker* w);

// ---- bindings.cpp: each binding holds what the kernel's parameter reads; false: error set in L
PMETAL_RT_HIDDEN bool check_bindings(pm_launch* L);

// ---- memory.cpp: fiber stacks and threadgroup memory
PMETAL_RT_HIDDEN StackRegion acquire_stacks(uint32_t count, size_t stack_size);
PMETAL_RT_HIDDEN void release_stacks(StackRegion r);
PMETAL_RT_HIDDEN void reset_arena(Worker* w);
PMETAL_RT_HIDDEN bool alloc_tg_params(Worker* w);  // [[threadgroup(n)]] parameters; false: error set
PMETAL_RT_HIDDEN bool check_guards(Worker* w, uint64_t group);  // false: an overrun, error set

}  // namespace rt
}  // namespace pmetal
