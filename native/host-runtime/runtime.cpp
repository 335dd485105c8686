// pmetal MSL host runtime: runs one kernel dispatch on the CPU.
// Every GPU thread of a threadgroup is a cooperative fiber (hand-written context switch below);
// threadgroup_barrier and the SIMD-group collectives are rendezvous points; threadgroups are
// spread over worker threads. Compiled once per compiler/flags into an object that is linked
// into every kernel shared object (and, with -fsanitize=address, into the ASan variant).
#include <pmetal_host/abi.h>
#include <pmetal_host/rt.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>
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

// ------------------------------------------------------------------ context switch
// void pm_fiber_switch(void** save_sp, void* new_sp): saves the callee-saved registers and the
// FP control state on the current stack, stores the stack pointer, loads the other one.
extern "C" void pm_fiber_switch(void** save_sp, void* new_sp);
extern "C" void pm_fiber_start();

#if defined(__x86_64__)
asm(R"(
  .text
  .p2align 4
  .globl pm_fiber_switch
  .hidden pm_fiber_switch
  .type pm_fiber_switch,@function
pm_fiber_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size pm_fiber_switch,.-pm_fiber_switch

  .p2align 4
  .globl pm_fiber_start
  .hidden pm_fiber_start
  .type pm_fiber_start,@function
pm_fiber_start:
  movq %r13, %rdi
  callq *%r12
  ud2
  .size pm_fiber_start,.-pm_fiber_start
)");
static void* init_stack(void* top_, void (*fn)(void*), void* arg) {
  uintptr_t top = (uintptr_t)top_ & ~(uintptr_t)15;
  uint64_t* s = (uint64_t*)top;
  s[-1] = (uint64_t)(uintptr_t)&pm_fiber_start;  // ret
  s[-2] = 0;                                      // rbp
  s[-3] = 0;                                      // rbx
  s[-4] = (uint64_t)(uintptr_t)fn;                // r12
  s[-5] = (uint64_t)(uintptr_t)arg;               // r13
  s[-6] = 0;                                      // r14
  s[-7] = 0;                                      // r15
  uint32_t* ctl = (uint32_t*)&s[-8];
  ctl[0] = 0x1F80;  // mxcsr
  ctl[1] = 0x037F;  // x87 control word
  return &s[-8];
}
#elif defined(__aarch64__)
asm(R"(
  .text
  .p2align 4
  .globl pm_fiber_switch
  .hidden pm_fiber_switch
  .type pm_fiber_switch,%function
pm_fiber_switch:
  sub sp, sp, #176
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  mrs x9, fpcr
  str x9, [sp, #160]
  mov x9, sp
  str x9, [x0]
  mov sp, x1
  ldr x9, [sp, #160]
  msr fpcr, x9
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #176
  ret
  .size pm_fiber_switch,.-pm_fiber_switch

  .p2align 4
  .globl pm_fiber_start
  .hidden pm_fiber_start
  .type pm_fiber_start,%function
pm_fiber_start:
  mov x0, x20
  blr x19
  brk #0
  .size pm_fiber_start,.-pm_fiber_start
)");
static void* init_stack(void* top_, void (*fn)(void*), void* arg) {
  uintptr_t top = (uintptr_t)top_ & ~(uintptr_t)15;
  uint64_t* s = (uint64_t*)(top - 176);
  memset(s, 0, 176);
  s[0] = (uint64_t)(uintptr_t)fn;                 // x19
  s[1] = (uint64_t)(uintptr_t)arg;                // x20
  s[11] = (uint64_t)(uintptr_t)&pm_fiber_start;   // x30
  s[20] = 0;                                      // fpcr
  return s;
}
#else
#error "pmetal host runtime: no context switch for this architecture (x86-64 and aarch64 only)"
#endif

// bfloat conversions: Debian 12's libgcc 12 lacks these; round to nearest even.
extern "C" __attribute__((weak)) __bf16 __truncsfbf2(float f) {
  uint32_t u = __builtin_bit_cast(uint32_t, f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __builtin_bit_cast(__bf16, (uint16_t)((u >> 16) | 0x40));
  u += 0x7fffu + ((u >> 16) & 1u);
  return __builtin_bit_cast(__bf16, (uint16_t)(u >> 16));
}
extern "C" __attribute__((weak)) __bf16 __truncdfbf2(double d) { return __truncsfbf2((float)d); }

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
  const void* in;
  const void* in2;
  void* out;
  uint64_t arg;
};

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

struct StackRegion {
  uint8_t* base;
  size_t bytes;
  size_t stack_size;
  uint32_t count;
};

static std::mutex g_stack_mu;
static std::vector<StackRegion> g_stack_pool;

static const size_t kArenaBytes = 1 << 20;
static const size_t kGuard = 64;
static const size_t kTgLimit = 32768;
static const uint8_t kCanary = 0xCD;

struct Shared {
  pm_launch* L;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  uint64_t total = 0;
};

struct Worker {
  Shared* S = nullptr;
  pm_launch* L = nullptr;
  StackRegion stacks{};
  Fiber* fibers = nullptr;
  uint32_t T = 0;
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

static thread_local Worker* tls_w = nullptr;

static void set_error(Worker* w, const char* code, const std::string& msg) {
  Shared* S = w->S;
  std::lock_guard<std::mutex> g(S->mu);
  if (!S->L->err) {
    S->L->err = 1;
    snprintf(S->L->err_code, sizeof S->L->err_code, "%s", code);
    snprintf(S->L->err_msg, sizeof S->L->err_msg, "%s", msg.c_str());
  }
  S->failed.store(true);
  w->failed = true;
}

static std::string where(const char* file, int line, int col) {
  char b[512];
  snprintf(b, sizeof b, "%s:%d:%d", file ? file : "?", line, col);
  return b;
}

static std::string kname(Worker* w) { return std::string("kernel '") + (w->L->kernel_name ? w->L->kernel_name : "?") + "'"; }

// ---- switching
static void switch_to_fiber(Worker* w, Fiber* f) {
  w->cur = f;
#ifdef PM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f->stack_lo, f->stack_size);
  pm_fiber_switch(&w->sched_sp, f->sp);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  pm_fiber_switch(&w->sched_sp, f->sp);
#endif
  w->cur = nullptr;
}

static void switch_to_scheduler(Worker* w, Fiber* f, bool dying) {
#ifdef PM_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &f->asan_fake, w->sched_bottom, w->sched_size);
  pm_fiber_switch(&f->sp, w->sched_sp);
  __sanitizer_finish_switch_fiber(f->asan_fake, &w->sched_bottom, &w->sched_size);
#else
  (void)dying;
  pm_fiber_switch(&f->sp, w->sched_sp);
#endif
}

static void make_ready(Worker* w, Fiber* f) {
  f->state = F_READY;
  f->wait = W_NONE;
  w->ready.push_back((int)(f - w->fibers));
}

static void block(Worker* w, Fiber* f) {
  f->state = F_BLOCKED;
  switch_to_scheduler(w, f, false);
  if (w->failed) {  // never resumed after a failure, but be safe
    switch_to_scheduler(w, f, true);
  }
}

static void simd_complete(Worker* w, SimdState& s, Fiber* self) {
  SimdView v;
  v.active = s.arrived;
  v.lanes = s.lanes_mask;
  for (int l = 0; l < 32; l++) {
    if (s.arrived >> l & 1) {
      Fiber* f = s.lane_fiber[l];
      v.in[l] = f->in;
      v.in2[l] = f->in2;
      v.out[l] = f->out;
      v.arg[l] = f->arg;
    } else {
      v.in[l] = v.in2[l] = nullptr;
      v.out[l] = nullptr;
      v.arg[l] = 0;
    }
  }
  s.fn(v);
  uint32_t arrived = s.arrived;
  s.arrived = 0;
  for (int l = 0; l < 32; l++)
    if ((arrived >> l & 1) && s.lane_fiber[l] != self) make_ready(w, s.lane_fiber[l]);
}

static void fiber_main(void* arg) {
  Fiber* f = (Fiber*)arg;
  Worker* w = tls_w;
#ifdef PM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w->sched_bottom, &w->sched_size);
#endif
  w->L->entry();
  // the thread returned
  f->state = F_DONE;
  w->ndone++;
  SimdState& s = w->sg[f->ti.sgiitg];
  s.exited |= 1u << f->ti.tiisg;
  if (w->bar_count > 0) {
    char b[256];
    snprintf(b, sizeof b, ": thread %u returned while %u thread(s) wait at ", f->ti.tiitg, w->bar_count);
    set_error(w, "DIVERGENT_BARRIER",
              "DIVERGENT_BARRIER: " + kname(w) + b + "threadgroup_barrier at " + where(w->bar_file, w->bar_line, w->bar_col) +
                  " (line " + std::to_string(w->bar_line) + "); every thread of the threadgroup must reach the same barrier");
  } else if (s.arrived && (s.arrived | s.exited) == s.lanes_mask) {
    simd_complete(w, s, nullptr);
  }
  switch_to_scheduler(w, f, true);
  __builtin_trap();
}

// ---- rt interface used by kernel code
ThreadInfo* cur_thread() { return &tls_w->cur->ti; }

void* buffer_ptr(int index) {
  Worker* w = tls_w;
  if (index < 0 || index >= PMETAL_MAX_BINDINGS) return nullptr;
  return w->L->buffers[index];
}

void* tg_param_ptr(int index) {
  Worker* w = tls_w;
  if (index < 0 || index >= PMETAL_MAX_BINDINGS) return nullptr;
  return w->tg_params[index];
}

[[noreturn]] void kernel_error(const char* code, const char* msg) {
  Worker* w = tls_w;
  set_error(w, code, std::string(code) + ": " + kname(w) + ": " + msg);
  Fiber* f = w->cur;
  f->state = F_DONE;
  switch_to_scheduler(w, f, true);
  __builtin_trap();
}

void barrier(const char* what, const char* file, int line, int col) {
  Worker* w = tls_w;
  Fiber* f = w->cur;
  if (w->ndone > 0) {
    uint32_t who = 0;
    for (uint32_t i = 0; i < w->T; i++)
      if (w->fibers[i].state == F_DONE) { who = i; break; }
    char b[256];
    snprintf(b, sizeof b, ": thread %u reached %s at ", f->ti.tiitg, what);
    set_error(w, "DIVERGENT_BARRIER", "DIVERGENT_BARRIER: " + kname(w) + b + where(file, line, col) + " (line " +
                                          std::to_string(line) + ") but thread " + std::to_string(who) +
                                          " of its threadgroup already returned; every thread must reach the barrier");
    f->state = F_DONE;
    switch_to_scheduler(w, f, true);
  }
  if (w->bar_count > 0 && (w->bar_line != line || w->bar_col != col || strcmp(w->bar_file, file) != 0)) {
    set_error(w, "DIVERGENT_BARRIER", "DIVERGENT_BARRIER: " + kname(w) + ": threads of one threadgroup wait at two different barriers: " +
                                          where(w->bar_file, w->bar_line, w->bar_col) + " (line " + std::to_string(w->bar_line) +
                                          ") and " + where(file, line, col) + " (line " + std::to_string(line) + ")");
    f->state = F_DONE;
    switch_to_scheduler(w, f, true);
  }
  w->bar_file = file;
  w->bar_line = line;
  w->bar_col = col;
  w->bar_count++;
  if (w->bar_count == w->T) {
    w->bar_count = 0;
    for (uint32_t i = 0; i < w->T; i++) {
      Fiber* g = &w->fibers[i];
      if (g != f && g->state == F_BLOCKED && g->wait == W_BARRIER) make_ready(w, g);
    }
    return;
  }
  f->wait = W_BARRIER;
  f->wait_what = what;
  f->wait_file = file;
  f->wait_line = line;
  f->wait_col = col;
  block(w, f);
}

void simd_collective(const void* in, const void* in2, void* out, uint64_t arg, SimdCompute fn, const char* what,
                     const char* file, int line, int col) {
  Worker* w = tls_w;
  Fiber* f = w->cur;
  SimdState& s = w->sg[f->ti.sgiitg];
  if (s.arrived && (s.line != line || s.col != col || s.fn != fn || strcmp(s.file, file) != 0)) {
    set_error(w, "SIMD_LANE_MISSING",
              "SIMD_LANE_MISSING: " + kname(w) + ": lanes of SIMD-group " + std::to_string(f->ti.sgiitg) +
                  " wait at two different SIMD-group calls: " + s.what + " at " + where(s.file, s.line, s.col) + " (line " +
                  std::to_string(s.line) + ") and " + what + " at " + where(file, line, col) + " (line " + std::to_string(line) +
                  "); every active lane must make the same call");
    f->state = F_DONE;
    switch_to_scheduler(w, f, true);
  }
  f->in = in;
  f->in2 = in2;
  f->out = out;
  f->arg = arg;
  s.what = what;
  s.file = file;
  s.line = line;
  s.col = col;
  s.fn = fn;
  s.lane_fiber[f->ti.tiisg] = f;
  s.arrived |= 1u << f->ti.tiisg;
  if ((s.arrived | s.exited) == s.lanes_mask) {
    simd_complete(w, s, f);
    return;
  }
  f->wait = W_SIMD;
  f->wait_what = what;
  f->wait_file = file;
  f->wait_line = line;
  f->wait_col = col;
  block(w, f);
}

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

int64_t fc_int(int index) {
  pm_launch* L = tls_w->L;
  for (int i = 0; i < L->nfc; i++)
    if (L->fcs[i].index == index) return L->fcs[i].defined ? L->fcs[i].i : 0;
  return 0;
}
double fc_float(int index) {
  pm_launch* L = tls_w->L;
  for (int i = 0; i < L->nfc; i++)
    if (L->fcs[i].index == index) return L->fcs[i].defined ? L->fcs[i].f : 0.0;
  return 0.0;
}
bool fc_defined(int index) {
  pm_launch* L = tls_w->L;
  for (int i = 0; i < L->nfc; i++)
    if (L->fcs[i].index == index) return L->fcs[i].defined != 0;
  return false;
}

// ---- stacks
static StackRegion acquire_stacks(uint32_t count, size_t stack_size) {
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
static void release_stacks(StackRegion r) {
  if (!r.base) return;
  std::lock_guard<std::mutex> g(g_stack_mu);
  if (g_stack_pool.size() < 64) {
    g_stack_pool.push_back(r);
  } else {
    munmap(r.base, r.bytes);
  }
}

static void diagnose_deadlock(Worker* w) {
  for (int k = 0; k < 32; k++) {
    SimdState& s = w->sg[k];
    if (!s.arrived) continue;
    uint32_t missing = s.lanes_mask & ~(s.arrived | s.exited);
    int ml = missing ? __builtin_ctz(missing) : -1;
    std::string other;
    if (ml >= 0) {
      Fiber* g = &w->fibers[k * 32 + ml];
      if (g->state == F_BLOCKED)
        other = std::string("; lane ") + std::to_string(ml) + " waits at " + g->wait_what + " at " +
                where(g->wait_file, g->wait_line, g->wait_col) + " (line " + std::to_string(g->wait_line) + ")";
    }
    char b[64];
    snprintf(b, sizeof b, "0x%08x", missing);
    set_error(w, "SIMD_LANE_MISSING", "SIMD_LANE_MISSING: " + kname(w) + ": " + s.what + " at " + where(s.file, s.line, s.col) +
                                          " (line " + std::to_string(s.line) + "): lanes " + b + " of SIMD-group " +
                                          std::to_string(k) + " never arrived" + other);
    return;
  }
  // only barrier waiters left (cannot normally happen: barriers are checked eagerly)
  set_error(w, "DIVERGENT_BARRIER", "DIVERGENT_BARRIER: " + kname(w) + ": threadgroup_barrier at " +
                                        where(w->bar_file, w->bar_line, w->bar_col) + " (line " + std::to_string(w->bar_line) +
                                        ") never completed");
}

static void run_group(Worker* w, uint64_t g) {
  pm_launch* L = w->L;
  const uint32_t gx = L->grid[0], gy = L->grid[1];
  uint32_t tg[3] = {(uint32_t)(g % gx), (uint32_t)((g / gx) % gy), (uint32_t)(g / ((uint64_t)gx * gy))};
  const uint32_t tx = L->tptg[0], ty = L->tptg[1];
  const uint32_t T = w->T;
  // reset per-group state
  w->ready.clear();
  w->ready_head = 0;
  w->ndone = 0;
  w->bar_count = 0;
  w->tgvars.clear();
  w->guards.clear();
  w->arena_used = 0;
  w->tg_bytes = 0;
#ifdef PM_ASAN
  __asan_unpoison_memory_region(w->arena, kArenaBytes);
#endif
  const uint32_t nsg = (T + 31) / 32;
  for (uint32_t k = 0; k < nsg; k++) {
    SimdState& s = w->sg[k];
    uint32_t lanes = T - k * 32 < 32 ? T - k * 32 : 32;
    s.lanes_mask = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
    s.arrived = s.exited = 0;
  }
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) w->tg_params[i] = nullptr;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (uint32_t i = 0; i < T; i++) {
    Fiber* f = &w->fibers[i];
    f->stack_lo = w->stacks.base + i * (w->stacks.stack_size + page) + page;
    f->stack_size = w->stacks.stack_size;
#ifdef PM_ASAN
    __asan_unpoison_memory_region(f->stack_lo, f->stack_size);
#endif
    f->sp = init_stack(f->stack_lo + f->stack_size, &fiber_main, f);
    f->state = F_READY;
    f->wait = W_NONE;
    f->asan_fake = nullptr;
    ThreadInfo& t = f->ti;
    uint32_t lid[3] = {i % tx, (i / tx) % ty, i / (tx * ty)};
    for (int d = 0; d < 3; d++) {
      t.tpitg[d] = lid[d];
      t.tgpig[d] = tg[d];
      t.tptg[d] = L->tptg[d];
      t.tgpg[d] = L->grid[d];
      t.tpig[d] = tg[d] * L->tptg[d] + lid[d];
      t.tpg[d] = L->grid[d] * L->tptg[d];
    }
    t.tiitg = i;
    t.tiisg = i % 32;
    t.sgiitg = i / 32;
    t.tpsg = 32;
    t.sgptg = nsg;
    t.sg_lanes = T - (i / 32) * 32 < 32 ? T - (i / 32) * 32 : 32;
    w->ready.push_back((int)i);
  }
  // [[threadgroup(n)]] parameters come first in the arena
  bool setup_failed = false;
  for (int i = 0; i < PMETAL_MAX_BINDINGS && !setup_failed; i++) {
    if (!L->tg_sizes[i]) continue;
    size_t start = (w->arena_used + kGuard + 15) & ~(size_t)15;
    size_t size = (size_t)L->tg_sizes[i];
    w->tg_bytes += size;
    if (start + size + kGuard > kArenaBytes || w->tg_bytes > kTgLimit) {
      set_error(w, "UNSUPPORTED", "UNSUPPORTED: " + kname(w) + ": threadgroup memory of " + std::to_string(w->tg_bytes) +
                                      " bytes exceeds the 32768-byte limit of Apple GPUs");
      setup_failed = true;
      break;
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
  if (setup_failed) return;
  while (w->ready_head < w->ready.size()) {
    int i = w->ready[w->ready_head++];
    Fiber* f = &w->fibers[i];
    if (f->state != F_READY) continue;
    switch_to_fiber(w, f);
    if (w->failed) return;
    if (w->ready_head > 4096 && w->ready_head * 2 > w->ready.size()) {
      w->ready.erase(w->ready.begin(), w->ready.begin() + (long)w->ready_head);
      w->ready_head = 0;
    }
  }
  if (w->ndone < T) {
    diagnose_deadlock(w);
    return;
  }
#ifndef PM_ASAN
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
        return;
      }
    }
  }
#endif
}

static void worker_main(Shared* S) {
  pm_launch* L = S->L;
  Worker* w = new Worker();
  w->S = S;
  w->L = L;
  w->T = L->tptg[0] * L->tptg[1] * L->tptg[2];
  w->stacks = acquire_stacks(w->T, (size_t)L->stack_size);
  w->fibers = new Fiber[w->T];
  w->ready.reserve(w->T * 4);
  void* arena = mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!w->stacks.base || arena == MAP_FAILED) {
    set_error(w, "UNSUPPORTED", "UNSUPPORTED: cannot allocate fiber stacks for " + std::to_string(w->T) + " threads");
  } else {
    w->arena = (uint8_t*)arena;
    tls_w = w;
    for (;;) {
      if (S->failed.load(std::memory_order_relaxed)) break;
      uint64_t g = S->next.fetch_add(1);
      if (g >= S->total) break;
      run_group(w, g);
      if (w->failed) break;
    }
    tls_w = nullptr;
  }
#ifdef PM_ASAN
  if (w->arena) __asan_unpoison_memory_region(w->arena, kArenaBytes);
#endif
  if (arena != MAP_FAILED) munmap(arena, kArenaBytes);
  if (w->failed) {
    // abandoned fibers: do not reuse their stacks' state, but the memory is fine to reuse
  }
  release_stacks(w->stacks);
  delete[] w->fibers;
  delete w;
}

}  // namespace rt
}  // namespace pmetal

extern "C" __attribute__((visibility("default"))) int pmetal_abi_version() { return PMETAL_ABI_VERSION; }

extern "C" __attribute__((visibility("default"))) int pmetal_launch(pm_launch* L) {
  using namespace pmetal::rt;
  if (L->abi_version != PMETAL_ABI_VERSION) {
    L->err = 1;
    snprintf(L->err_code, sizeof L->err_code, "UNSUPPORTED");
    snprintf(L->err_msg, sizeof L->err_msg, "UNSUPPORTED: kernel object ABI %d, addon ABI %d", PMETAL_ABI_VERSION,
             L->abi_version);
    return 1;
  }
  Shared S;
  S.L = L;
  S.total = (uint64_t)L->grid[0] * L->grid[1] * L->grid[2];
  uint64_t T = (uint64_t)L->tptg[0] * L->tptg[1] * L->tptg[2];
  if (S.total == 0 || T == 0) return 0;
  if (L->stack_size < 65536) L->stack_size = 65536;
  int n = L->nworkers < 1 ? 1 : L->nworkers;
  if ((uint64_t)n > S.total) n = (int)S.total;
  std::vector<std::thread> threads;
  for (int i = 1; i < n; i++) threads.emplace_back(worker_main, &S);
  worker_main(&S);
  for (auto& t : threads) t.join();
  return L->err;
}
