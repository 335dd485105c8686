// Workgroup scans and u32 max/min for the sampler kernels (WG invocations; every one must
// call, from uniform control flow; `sg` is wg_entry's sg_size). Without SUBGROUPS:
// Hillis–Steele and a tree over workgroup memory (log2(WG) steps, two barriers a step). With
// SUBGROUPS: a subgroup scan/reduction, then the subgroup totals through workgroup memory —
// two barriers in all (subgroups cover contiguous local indices, as common/reduce.wgsl assumes).
// Needs sample_common.wgsl (add64) before it.

var<workgroup> scan_buf: array<vec2<u32>, WG>;
var<workgroup> red_u: array<u32, WG>;

#if SUBGROUPS
// Subgroup totals (subgroups have at least 4 invocations).
var<workgroup> scan_part: array<vec2<u32>, WG / 4u>;

// The inclusive prefix over the workgroup from each subgroup's inclusive scan x.
fn across(x: vec2<u32>, lid: u32, sg: u32) -> vec2<u32> {
  if (lid % sg == sg - 1u) {
    scan_part[lid / sg] = x;
  }
  workgroupBarrier();
  // A uniform bound (WGSL's uniformity analysis would make a bound of lid / sg non-uniform
  // control flow for the caller's later barriers).
  let me = lid / sg;
  var pre = vec2<u32>(0u, 0u);
  for (var i = 0u; i < WG / sg; i = i + 1u) {
    pre = pre + select(vec2<u32>(0u, 0u), scan_part[i], i < me);
  }
  workgroupBarrier();
  return x + pre;
}

// Inclusive scan of two u32 counts per invocation (lanewise; totals never exceed 2^32).
// scan_total() right after gives the workgroup's totals.
fn wg_scan2(v: vec2<u32>, lid: u32, sg: u32) -> vec2<u32> {
  let r = across(subgroupInclusiveAdd(v), lid, sg);
  scan_buf[lid] = r;
  return r;
}

// Inclusive 64-bit (lo, hi) scan of one u32 per invocation: its 16-bit halves are scanned
// apart (each total < WG·2^16, no overflow) and recombined.
fn wg_scan_w(w: u32, lid: u32, sg: u32) -> vec2<u32> {
  let h = across(subgroupInclusiveAdd(vec2<u32>(w & 0xffffu, w >> 16u)), lid, sg);
  let r = add64(vec2<u32>(h.x, 0u), vec2<u32>(h.y << 16u, h.y >> 16u));
  scan_buf[lid] = r;
  return r;
}

fn wg_max_u(v: u32, lid: u32, sg: u32) -> u32 {
  let m = subgroupMax(v);
  if (lid % sg == 0u) {
    red_u[lid / sg] = m;
  }
  workgroupBarrier();
  // One invocation combines the subgroups' values; workgroupUniformLoad gives a uniform result.
  if (lid == 0u) {
    var r = red_u[0];
    for (var i = 1u; i < WG / sg; i = i + 1u) {
      r = max(r, red_u[i]);
    }
    red_u[WG - 1u] = r;
  }
  let r = workgroupUniformLoad(&red_u[WG - 1u]);
  workgroupBarrier();
  return r;
}
fn wg_min_u(v: u32, lid: u32, sg: u32) -> u32 {
  let m = subgroupMin(v);
  if (lid % sg == 0u) {
    red_u[lid / sg] = m;
  }
  workgroupBarrier();
  // One invocation combines the subgroups' values; workgroupUniformLoad gives a uniform result.
  if (lid == 0u) {
    var r = red_u[0];
    for (var i = 1u; i < WG / sg; i = i + 1u) {
      r = min(r, red_u[i]);
    }
    red_u[WG - 1u] = r;
  }
  let r = workgroupUniformLoad(&red_u[WG - 1u]);
  workgroupBarrier();
  return r;
}
#else
fn wg_scan2(v: vec2<u32>, lid: u32, sg: u32) -> vec2<u32> {
  var x = v;
  for (var s = 1u; s < WG; s = s << 1u) {
    scan_buf[lid] = x;
    workgroupBarrier();
    if (lid >= s) {
      x = x + scan_buf[lid - s];
    }
    workgroupBarrier();
  }
  scan_buf[lid] = x;
  return x;
}

fn wg_scan_w(w: u32, lid: u32, sg: u32) -> vec2<u32> {
  var x = vec2<u32>(w, 0u);
  for (var s = 1u; s < WG; s = s << 1u) {
    scan_buf[lid] = x;
    workgroupBarrier();
    if (lid >= s) {
      x = add64(x, scan_buf[lid - s]);
    }
    workgroupBarrier();
  }
  scan_buf[lid] = x;
  return x;
}

fn wg_max_u(v: u32, lid: u32, sg: u32) -> u32 {
  red_u[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      red_u[lid] = max(red_u[lid], red_u[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}
fn wg_min_u(v: u32, lid: u32, sg: u32) -> u32 {
  red_u[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      red_u[lid] = min(red_u[lid], red_u[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}
#endif

// Two reductions for one set of barriers (a row's or a chunk's record): (max of a u32 key, max
// of an f32) and (min of a u32 id, sum of an f32), f32s as their bits. The same order of
// operations as wg_max_u/wg_min_u and common/reduce.wgsl's wg_max/wg_sum (the sum's partials
// added in the same order: the same bits), uniform results. Through scan_buf (between scans).
fn pair_max(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(max(a.x, b.x), bitcast<u32>(max(bitcast<f32>(a.y), bitcast<f32>(b.y))));
}
fn pair_min_sum(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(min(a.x, b.x), bitcast<u32>(bitcast<f32>(a.y) + bitcast<f32>(b.y)));
}
#if SUBGROUPS
fn wg_max_kf(k: u32, f: f32, lid: u32, sg: u32) -> vec2<u32> {
  let a = vec2<u32>(subgroupMax(k), bitcast<u32>(subgroupMax(f)));
  if (lid % sg == 0u) {
    scan_buf[lid / sg] = a;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var r = scan_buf[0];
    for (var i = 1u; i < WG / sg; i = i + 1u) {
      r = pair_max(r, scan_buf[i]);
    }
    scan_buf[WG - 1u] = r;
  }
  let r = workgroupUniformLoad(&scan_buf[WG - 1u]);
  workgroupBarrier();
  return r;
}
fn wg_min_sum(k: u32, f: f32, lid: u32, sg: u32) -> vec2<u32> {
  let a = vec2<u32>(subgroupMin(k), bitcast<u32>(subgroupAdd(f)));
  if (lid % sg == 0u) {
    scan_buf[lid / sg] = a;
  }
  workgroupBarrier();
  if (lid == 0u) {
    // wg_sum's order: 0 + the partials from the first.
    var r = pair_min_sum(vec2<u32>(0xffffffffu, 0u), scan_buf[0]);
    for (var i = 1u; i < WG / sg; i = i + 1u) {
      r = pair_min_sum(r, scan_buf[i]);
    }
    scan_buf[WG - 1u] = r;
  }
  let r = workgroupUniformLoad(&scan_buf[WG - 1u]);
  workgroupBarrier();
  return r;
}
#else
fn wg_max_kf(k: u32, f: f32, lid: u32, sg: u32) -> vec2<u32> {
  scan_buf[lid] = vec2<u32>(k, bitcast<u32>(f));
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      scan_buf[lid] = pair_max(scan_buf[lid], scan_buf[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&scan_buf[0]);
  workgroupBarrier();
  return r;
}
fn wg_min_sum(k: u32, f: f32, lid: u32, sg: u32) -> vec2<u32> {
  scan_buf[lid] = vec2<u32>(k, bitcast<u32>(f));
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      scan_buf[lid] = pair_min_sum(scan_buf[lid], scan_buf[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&scan_buf[0]);
  workgroupBarrier();
  return r;
}
#endif

// Inclusive 64-bit scan of one value x < 2^51 per invocation whose workgroup total stays below
// 2^51 (the open rows' weights: V ≤ NCMAX·CHUNK = 2^20 tokens of ≤ 2^31): one wg_scan2 of its
// 22-bit low limb (WG ≤ 1024 of them sum below 2^32) and of the rest, recombined.
fn wg_scan64(x: vec2<u32>, lid: u32, sg: u32) -> vec2<u32> {
  let l = wg_scan2(vec2<u32>(x.x & 0x3fffffu, (x.x >> 22u) | (x.y << 10u)), lid, sg);
  let r = add64(vec2<u32>(l.y << 22u, l.y >> 10u), vec2<u32>(l.x, 0u));
  scan_buf[lid] = r;
  return r;
}

// The last invocation's inclusive value of the scan just done (uniform; the barrier after
// keeps the next scan's first writes after every invocation's read).
fn scan_total() -> vec2<u32> {
  let r = workgroupUniformLoad(&scan_buf[WG - 1u]);
  workgroupBarrier();
  return r;
}
