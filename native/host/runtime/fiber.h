// pmetal MSL host runtime: the fiber primitives (fiber_switch.cpp).
#pragma once

// Saves the callee-saved registers and the FP control state on the current stack, stores
// the stack pointer in *save_sp and continues on new_sp.
extern "C" void pm_fiber_switch(void** save_sp, void* new_sp);
// A fresh fiber's first "return address": calls fn(arg) (fn never returns).
extern "C" void pm_fiber_start();
// Lays out a fiber stack below `top` so that switching to the returned stack pointer runs
// fn(arg) with a clean FP control state.
__attribute__((visibility("hidden"))) void* pm_fiber_init_stack(void* top, void (*fn)(void*), void* arg);
