// fused_adamw_step, pass 3: the update, one invocation per element pair of a chunk (chunks
// start on whole 512-element blocks, so every binding's window starts at its first element):
//   g' = g·clip, p ← p·dec_g, m ← β1·m + c1·g', v ← β2·v + c2·g'²,
//   p ← p − (sz_g·m) / (√v / √(1 − β2^t) + eps)
// (PyTorch's fused AdamW order) with the values adamw_finalize.wgsl put in `table`; the
// element's segment g by binary search over the offsets there (HAS_SEG). A set flag copies
// every input to its output instead. src is the f32 master (MASTER) or the f32 params.
// WRITE_P: the params output here (f32 params, or the master rounded to P_DT); without it
// (a master step on an adapter with fewer than 9 storage bindings) adamw_cast.wgsl follows.
// INPLACE: src (the master, or the f32 params), m and v are updated in their own buffers,
// bound read_write (WebGPU forbids binding one buffer read-only and writable in one
// dispatch), and a set flag writes nothing; with MASTER the 16-bit params are pout (WRITE_P).
// Six storage bindings, so the in-place step never needs adamw_cast.wgsl.
override WG: u32 = 256;

#include "common/convert.wgsl"
#if INPLACE
@group(0) @binding(0) var<storage, read_write> src: array<f32>;
#else
@group(0) @binding(0) var<storage, read> src: array<f32>;
#endif
#include "common/tensor.wgsl" (NAME=g, DT=G_DT, BINDING=1, WRITE=0)
#if INPLACE
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
#else
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
#endif
@group(0) @binding(4) var<storage, read> table: array<u32>;
#if WRITE_P
#define ATOMIC_OUT 0
#include "common/tensor.wgsl" (NAME=pout, DT=P_DT, BINDING=5, WRITE=1)
#endif
#if INPLACE == 0
#if MASTER
@group(0) @binding(6) var<storage, read_write> master_out: array<f32>;
#endif
@group(0) @binding(7) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> v_out: array<f32>;
#endif

struct Params {
  count: u32,
  groups_x: u32,
  g0: u32,
  beta1: f32,
  c1: f32,
  beta2: f32,
  c2: f32,
  eps: f32,
}
@group(0) @binding(9) var<uniform> p: Params;

// The segment of global element e: the largest g < n with offsets[g] ≤ e.
fn group_of(e: u32) -> u32 {
#if HAS_SEG
  let n = table[3];
  let ob = 8u + 2u * n;
  var lo = 0u;
  var hi = n - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (table[ob + mid] <= e) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return lo;
#else
  return 0u;
#endif
}

// New (p, m, v) of element e (chunk-relative) with gradient g.
fn adamw(e: u32, g: f32) -> vec3<f32> {
  if (table[0] != 0u) {
    return vec3<f32>(src[e], m[e], v[e]);
  }
  let clip = bitcast<f32>(table[1]);
  let bc2s = bitcast<f32>(table[2]);
  let gi = group_of(p.g0 + e);
  let sz = bitcast<f32>(table[8u + 2u * gi]);
  let dec = bitcast<f32>(table[9u + 2u * gi]);
  let gc = g * clip;
  let pd = src[e] * dec;
  let mn = p.beta1 * m[e] + p.c1 * gc;
  let vn = p.beta2 * v[e] + p.c2 * (gc * gc);
  let den = sqrt(vn) / bc2s + p.eps;
  return vec3<f32>(pd - (sz * mn) / den, mn, vn);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * p.groups_x) * WG + lid;
  let e = 2u * k;
  if (e >= p.count) {
    return;
  }
  let two = e + 1u < p.count;
#if INPLACE
  // Skipped: every in-place buffer keeps its bits (out of place, the inputs are copied).
  if (table[0] != 0u) {
    return;
  }
#endif
  let g = load2_g(k);
  let a = adamw(e, g.x);
  var b = a;
  if (two) {
    b = adamw(e + 1u, g.y);
  }
#if INPLACE
  // Each element is read and written by this invocation only: no other invocation's read races these writes.
  src[e] = a.x;
  m[e] = a.y;
  v[e] = a.z;
  if (two) {
    src[e + 1u] = b.x;
    m[e + 1u] = b.y;
    v[e + 1u] = b.z;
  }
#else
  m_out[e] = a.y;
  v_out[e] = a.z;
#if MASTER
  master_out[e] = a.x;
#endif
  if (two) {
    m_out[e + 1u] = b.y;
    v_out[e + 1u] = b.z;
#if MASTER
    master_out[e + 1u] = b.x;
#endif
  }
#endif
#if WRITE_P
  store2_pout(k, vec2<f32>(a.x, b.x), true, two);
#endif
}
