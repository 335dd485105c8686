// pmetal MSL host runtime — the C ABI between the Node addon (or the ASan helper process)
// and a compiled kernel shared object. Plain C structs only; bump PMETAL_ABI_VERSION on change.
#pragma once
#include <stdint.h>

#define PMETAL_ABI_VERSION 3
#define PMETAL_MAX_BINDINGS 31
#define PMETAL_MAX_FC 64

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_fc_value {
  int32_t index;
  int32_t defined;
  int64_t i;
  double f;
} pm_fc_value;

typedef struct pm_launch {
  int32_t abi_version;
  const char* kernel_name;
  void (*entry)(void);  // the generated trampoline
  void* buffers[PMETAL_MAX_BINDINGS];
  uint64_t buffer_sizes[PMETAL_MAX_BINDINGS];
  uint64_t tg_sizes[PMETAL_MAX_BINDINGS];  // [[threadgroup(n)]] parameters
  uint32_t grid[3];                        // threadgroups per grid
  uint32_t tptg[3];                        // threads per threadgroup
  const pm_fc_value* fcs;
  int32_t nfc;
  int32_t nworkers;
  uint64_t stack_size;
  // results
  int32_t err;  // 0 ok
  char err_code[32];
  char err_msg[2048];
} pm_launch;

typedef int (*pm_launch_fn)(pm_launch*);

#ifdef __cplusplus
}
#endif
