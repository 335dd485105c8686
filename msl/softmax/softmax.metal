// Row softmax of scale·x, one threadgroup a row, three sweeps (max, Σexp, write) so every
// term is exp(z − max) evaluated once — the error bound in src/ops/softmax/spec.ts assumes
// exactly that (an online max would add a rescale error per new maximum). The re-reads of
// a row hit the cache. causal: row r is query q = r mod sq and sees keys k < q + offset + 1
// (bottom-right alignment when offset = Sk − Sq; any int offset, formed in 64 bits); masked
// entries are exactly 0, and a row whose visible entries are all −Inf is NaN on them.
#include <metal_stdlib>
#include "common/reduce.h"
using namespace metal;

constant bool causal [[function_constant(0)]];

// Same fields, in order, as SOFTMAX_PARAMS in src/backend/metal/launchers/softmax.ts.
struct SoftmaxParams {
  uint rows;
  uint n;
  uint sq;
  int offset;
  float scale;
};

template <typename T>
kernel void softmax(device const T* x [[buffer(0)]],
                    device T* y [[buffer(1)]],
                    constant SoftmaxParams& p [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]],
                    uint lid [[thread_index_in_threadgroup]],
                    uint tpg [[threads_per_threadgroup]],
                    uint sg [[simdgroup_index_in_threadgroup]],
                    uint lane [[thread_index_in_simdgroup]],
                    uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  const ulong base = ulong(row) * p.n;
  uint limit = p.n;
  if (causal) {
    // In 64 bits: q + offset + 1 overflows int for an offset near 2^31 (undefined behaviour,
    // and a wrong mask); q < 2^32 and |offset| ≤ 2^31 keep the long sum exact.
    const long lim = long(row % p.sq) + long(p.offset) + 1;
    limit = lim <= 0 ? 0u : lim >= long(p.n) ? p.n : uint(lim);
  }

  float m = -FLT_MAX;
  for (uint j = lid; j < limit; j += tpg) m = max(m, p.scale * float(x[base + j]));
  const float mx = tg_max(m, scratch, sg, lane, nsg);

  float s = 0.0f;
  for (uint j = lid; j < limit; j += tpg) s += precise::exp(p.scale * float(x[base + j]) - mx);
  const float total = tg_sum(s, scratch, sg, lane, nsg);

  // total = 0 only when every visible entry is −Inf: those entries are NaN (as torch.softmax),
  // written explicitly rather than left to 0/0 under fast math; masked entries are 0.
  for (uint j = lid; j < p.n; j += tpg) {
    const float v = j < limit ? (total > 0.0f ? precise::exp(p.scale * float(x[base + j]) - mx) / total : NAN) : 0.0f;
    y[base + j] = T(v);
  }
}

#define instantiate_softmax(name, T) \
  template [[host_name(name)]] [[kernel]] decltype(softmax<T>) softmax<T>;
instantiate_softmax("softmax_f32", float)
instantiate_softmax("softmax_f16", half)
instantiate_softmax("softmax_bf16", bfloat)
