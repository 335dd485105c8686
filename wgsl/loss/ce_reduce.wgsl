// One workgroup over the T rows of a cross-entropy batch; counts the non-ignored targets
// exactly (u32 workgroup atomic).
//   SCALE=0: out[0] = Σ row losses (MEAN: divided by the count; NaN when it is 0, as PyTorch).
//   SCALE=1: out[0] = dloss[0] / count, the backward's per-row factor for reduction 'mean'
//            (0 when nothing is counted: then every row is ignored and the factor unused).
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

// SCALE=0: the per-row losses; SCALE=1: dloss.
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
#include "common/reduce.wgsl"
#include "loss/softcap.wgsl"

struct Params {
  rows: u32,
  t_base: u32,
  ignore_index: i32,
}
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> counted: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32,
#if SUBGROUPS
        @builtin(subgroup_size) sg_size: u32,
#endif
) {
#if SUBGROUPS == 0
  let sg_size = 1u;
#endif
  var acc = 0.0;
  var c = 0u;
  for (var k = lid; k < p.rows; k = k + WG) {
    if (targets[p.t_base + k] != p.ignore_index) {
      c = c + 1u;
    }
#if SCALE == 0
    acc = acc + src[k];
#endif
  }
  atomicAdd(&counted, c);
#if SCALE == 0
  let total = wg_sum(acc, lid, sg_size);
#endif
  workgroupBarrier();
  let n = atomicLoad(&counted);
  if (lid == 0u) {
#if SCALE
    out[0] = select(src[0] / f32(n), 0.0, n == 0u);
#elif MEAN
    out[0] = select(total / f32(n), quiet_nan(n), n == 0u);
#else
    out[0] = total;
#endif
  }
}
