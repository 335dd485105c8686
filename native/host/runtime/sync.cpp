// pmetal MSL host runtime: fibers meeting — threadgroup barriers and SIMD-group collectives
// as rendezvous points, keyed by call site (lanes waiting at two different SIMD calls must
// never be merged), and the errors a divergent kernel gets instead of a hang.
#include <cstdio>
#include <cstring>

#include "fiber.h"
#include "worker.h"

namespace pmetal {
namespace rt {

void set_error(Worker* w, const char* code, const std::string& msg) {
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

std::string where(const char* file, int line, int col) {
  char b[512];
  snprintf(b, sizeof b, "%s:%d:%d", file ? file : "?", line, col);
  return b;
}

std::string kname(Worker* w) { return std::string("kernel '") + (w->L->kernel_name ? w->L->kernel_name : "?") + "'"; }

// ---- switching
void switch_to_fiber(Worker* w, Fiber* f) {
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

void fiber_main(void* arg) {
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

void diagnose_deadlock(Worker* w) {
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

}  // namespace rt
}  // namespace pmetal
