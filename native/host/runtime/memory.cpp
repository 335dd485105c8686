// pmetal MSL host runtime: memory of the fibers — their stacks (pooled, a guard page below
// each) and threadgroup memory: a per-worker arena with guard zones around every variable,
// poisoned under ASan and canary-filled otherwise, so an overrun is reported, not silent.
// (Running a threadgroup on one OS thread would make `static thread_local` arrays shared
// memory too, but ASan cannot guard those.)
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "worker.h"

namespace pmetal {
namespace rt {

// ---- threadgroup variables, allocated at first use per call site
static void* arena_alloc(Worker* w, size_t size, size_t align, const char* what) {
  if (align < 16) align = 16;
  size_t start = (w->arena_used + kGuard + align - 1) & ~(align - 1);
  size_t end = start + size;
  if (end + kGuard > kArenaBytes) {
    kernel_error("UNSUPPORTED", (std::string("threadgroup memory arena exhausted by ") + what).c_str());
  }
  w->tg_bytes += size;
  if (w->tg_bytes > kTgLimit) {
    kernel_error("UNSUPPORTED", ("threadgroup memory of " + std::to_string(w->tg_bytes) +
                                 " bytes exceeds the 32768-byte limit of Apple GPUs (" + what + ")")
                                    .c_str());
  }
  uint8_t* p = w->arena + start;
  memset(p, 0, size);
  // guard zones before and after
  uint8_t* g0 = w->arena + w->arena_used;
  size_t g0n = start - w->arena_used;
  uint8_t* g1 = p + size;
  size_t g1n = kGuard;
#ifdef PM_ASAN
  __asan_poison_memory_region(g0, g0n);
  __asan_poison_memory_region(g1, g1n);
#else
  memset(g0, kCanary, g0n);
  memset(g1, kCanary, g1n);
  w->guards.push_back({g0, g0n});
  w->guards.push_back({g1, g1n});
#endif
  w->arena_used = end + kGuard;
  return p;
}

void* tg_var(size_t size, size_t align, int site, const char* name, int line) {
  Worker* w = tls_w;
  for (auto& v : w->tgvars)
    if (v.site == site) return v.p;
  std::string what = std::string("threadgroup variable '") + name + "' (line " + std::to_string(line) + ")";
  void* p = arena_alloc(w, size, align, what.c_str());
  w->tgvars.push_back({site, p, size, name, line});
  return p;
}

// ---- per-threadgroup state of the arena
void reset_arena(Worker* w) {
  w->tgvars.clear();
  w->guards.clear();
  w->arena_used = 0;
  w->tg_bytes = 0;
#ifdef PM_ASAN
  __asan_unpoison_memory_region(w->arena, kArenaBytes);
#endif
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) w->tg_params[i] = nullptr;
}

// [[threadgroup(n)]] parameters come first in the arena
bool alloc_tg_params(Worker* w) {
  pm_launch* L = w->L;
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) {
    if (!L->tg_sizes[i]) continue;
    size_t start = (w->arena_used + kGuard + 15) & ~(size_t)15;
    size_t size = (size_t)L->tg_sizes[i];
    w->tg_bytes += size;
    if (start + size + kGuard > kArenaBytes || w->tg_bytes > kTgLimit) {
      set_error(w, "UNSUPPORTED", "UNSUPPORTED: " + kname(w) + ": threadgroup memory of " + std::to_string(w->tg_bytes) +
                                      " bytes exceeds the 32768-byte limit of Apple GPUs");
      return false;
    }
    uint8_t* g0 = w->arena + w->arena_used;
    size_t g0n = start - w->arena_used;
    uint8_t* p = w->arena + start;
    memset(p, 0, size);
#ifdef PM_ASAN
    __asan_poison_memory_region(g0, g0n);
    __asan_poison_memory_region(p + size, kGuard);
#else
    memset(g0, kCanary, g0n);
    memset(p + size, kCanary, kGuard);
    w->guards.push_back({g0, g0n});
    w->guards.push_back({p + size, kGuard});
#endif
    w->arena_used = start + size + kGuard;
    w->tg_params[i] = p;
  }
  return true;
}

// Without ASan the guard zones hold a canary: one that changed is a write past the end of
// the allocation just below it (under ASan, the poisoned zones trap at the access instead).
bool check_guards(Worker* w, uint64_t g) {
#ifndef PM_ASAN
  pm_launch* L = w->L;
  for (auto& gz : w->guards) {
    for (size_t k = 0; k < gz.second; k++) {
      if (gz.first[k] != kCanary) {
        // find the variable just below this guard
        std::string what = "threadgroup memory";
        for (auto& v : w->tgvars)
          if ((uint8_t*)v.p + v.size == gz.first)
            what = std::string("threadgroup variable '") + v.name + "' (line " + std::to_string(v.line) + ")";
        for (int b = 0; b < PMETAL_MAX_BINDINGS; b++)
          if (w->tg_params[b] && (uint8_t*)w->tg_params[b] + L->tg_sizes[b] == gz.first)
            what = "[[threadgroup(" + std::to_string(b) + ")]] memory";
        set_error(w, "OUT_OF_BOUNDS", "OUT_OF_BOUNDS: " + kname(w) + ": write past the end of " + what +
                                          " (guard zone overwritten in threadgroup " + std::to_string(g) + ")");
        return false;
      }
    }
  }
#else
  (void)w;
  (void)g;
#endif
  return true;
}

static std::mutex g_stack_mu;
static std::vector<StackRegion> g_stack_pool;

// ---- fiber stacks: pooled across dispatches (mmap + a guard page per stack is not free)
StackRegion acquire_stacks(uint32_t count, size_t stack_size) {
  {
    std::lock_guard<std::mutex> g(g_stack_mu);
    for (size_t i = 0; i < g_stack_pool.size(); i++) {
      if (g_stack_pool[i].count >= count && g_stack_pool[i].stack_size == stack_size) {
        StackRegion r = g_stack_pool[i];
        g_stack_pool.erase(g_stack_pool.begin() + i);
        return r;
      }
    }
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t per = stack_size + page;  // guard page below each stack
  size_t bytes = per * count;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return StackRegion{nullptr, 0, 0, 0};
  for (uint32_t i = 0; i < count; i++) mprotect((uint8_t*)m + i * per, page, PROT_NONE);
  return StackRegion{(uint8_t*)m, bytes, stack_size, count};
}
void release_stacks(StackRegion r) {
  if (!r.base) return;
  std::lock_guard<std::mutex> g(g_stack_mu);
  if (g_stack_pool.size() < 64) {
    g_stack_pool.push_back(r);
  } else {
    munmap(r.base, r.bytes);
  }
}

}  // namespace rt
}  // namespace pmetal
