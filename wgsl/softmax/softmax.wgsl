// Row softmax of scale·x, one workgroup a row, three sweeps (max, Σexp, write) so every
// term is exp(z − max) evaluated once — the error bound in src/ops/softmax/spec.ts assumes
// exactly that (an online max would add a rescale error per new maximum). The re-reads of
// a row hit the cache. CAUSAL: row r is query q = r mod sq and sees keys k < q + offset + 1
// (softmax/sm_row.wgsl: without overflow). A row whose visible entries are all −Inf is NaN there.
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=y, DT=X_DT, BINDING=1, WRITE=1)
#include "common/reduce.wgsl"
#include "softmax/sm_row.wgsl"

struct Params {
  rows: u32,
  n: u32,
  groups_x: u32,
  x_base: u32,
  y_base: u32,
  sq: u32,
  row0: u32,
  offset: i32,
  scale: f32,
}
@group(0) @binding(2) var<uniform> p: Params;

const LOWEST: f32 = -0x1.fffffep+127f;

#include "common/row_entry.wgsl"
  let start = row * p.n;
  let par = (p.x_base + start) & 1u;
  let nwords = (p.n + par + 1u) / 2u;
  let xw0 = (p.x_base + start) >> 1u;
  let yw0 = (p.y_base + start) >> 1u;
#if CAUSAL
  let limit = causal_limit((p.row0 + row) % p.sq, p.offset, p.n);
#else
  let limit = p.n;
#endif

  var m = LOWEST;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let z = p.scale * load2_x(xw0 + k);
    if (j0 >= 0 && u32(j0) < limit) {
      m = max(m, z.x);
    }
    if (u32(j0 + 1) < limit) {
      m = max(m, z.y);
    }
  }
  let mx = wg_max(m, lid, sg_size);

  var s = 0.0;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let z = p.scale * load2_x(xw0 + k);
    if (j0 >= 0 && u32(j0) < limit) {
      s = s + exp(z.x - mx);
    }
    if (u32(j0 + 1) < limit) {
      s = s + exp(z.y - mx);
    }
  }
  let total = wg_sum(s, lid, sg_size);
  // Σexp = 0 only when every visible entry is −Inf: those entries are NaN (not WGSL's
  // indeterminate 0/0), masked ones 0.
  let nan = sm_nan(p.n);
  let some = total > 0.0;

  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let z = p.scale * load2_x(xw0 + k);
    let v0 = select(0.0, select(nan, exp(z.x - mx) / total, some), j0 >= 0 && u32(j0) < limit);
    let v1 = select(0.0, select(nan, exp(z.y - mx) / total, some), u32(j0 + 1) < limit);
    store2_y(yw0 + k, vec2<f32>(v0, v1), j0 >= 0, u32(j0 + 1) < p.n);
  }
}
