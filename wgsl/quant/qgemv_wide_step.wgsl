// One unit U of the workgroup's 8 rows in qgemv_wide.wgsl (loaded as A0 … A7): its 4 runs
// of 8 weights, each decoded once and folded into every row of x.
#include "quant/qgemv_wide_run.wgsl" (J=0u)
#include "quant/qgemv_wide_run.wgsl" (J=1u)
#include "quant/qgemv_wide_run.wgsl" (J=2u)
#include "quant/qgemv_wide_run.wgsl" (J=3u)
