// pmetal MSL host runtime: running one dispatch — pmetal_launch (abi.h) spreads the
// threadgroups over worker threads; each worker runs its threadgroups one at a time, every
// GPU thread a fiber, until all returned, one failed or they deadlocked. Also the accessors
// kernel code reaches through rt.h: thread info, bound buffers, function constants.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "fiber.h"
#include "worker.h"

namespace pmetal {
namespace rt {

__thread Worker* tls_w = nullptr;

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
  reset_arena(w);
  const uint32_t nsg = (T + 31) / 32;
  for (uint32_t k = 0; k < nsg; k++) {
    SimdState& s = w->sg[k];
    uint32_t lanes = T - k * 32 < 32 ? T - k * 32 : 32;
    s.lanes_mask = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
    s.arrived = s.exited = 0;
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (uint32_t i = 0; i < T; i++) {
    Fiber* f = &w->fibers[i];
    f->stack_lo = w->stacks.base + i * (w->stacks.stack_size + page) + page;
    f->stack_size = w->stacks.stack_size;
#ifdef PM_ASAN
    __asan_unpoison_memory_region(f->stack_lo, f->stack_size);
#endif
    f->sp = pm_fiber_init_stack(f->stack_lo + f->stack_size, &fiber_main, f);
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
  if (!alloc_tg_params(w)) return;
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
  check_guards(w, g);
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
  // after a failure the abandoned fibers' stacks hold stale frames; the memory is fine to reuse
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
  if (!check_bindings(L)) return L->err;
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
