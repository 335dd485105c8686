// pmetal MSL host runtime: the context switch between fibers (x86-64 and aarch64). A
// hand-written switch saves only the callee-saved registers and the FP control state —
// ucontext's swapcontext makes a system call per switch, which dominated barrier-heavy
// kernels. Compiled into every kernel shared object with the rest of runtime/.
#include <cstdint>
#include <cstring>

#include "fiber.h"

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
void* pm_fiber_init_stack(void* top_, void (*fn)(void*), void* arg) {
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
void* pm_fiber_init_stack(void* top_, void (*fn)(void*), void* arg) {
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

