// embedding_backward, pass 2: dW[v] = dw_in[v] + the dy rows of v's tokens, summed in token
// order by walking the chain embedding_links.wgsl built (f32, one writer per element:
// deterministic). Workgroup L covers vocabulary row r = L / cblocks of this window (rows
// [v0, v0 + rows)) and its column block L % cblocks; rows without tokens get dw_in or 0.
// VEC (h % 4 == 0): 4 columns per invocation (16-byte dW stores; dy as vec4<f32> or 4
// packed halves); otherwise one column.
override WG: u32 = 256;

#include "common/convert.wgsl"
#if VEC
#if X_DT == 0
@group(0) @binding(0) var<storage, read> dy: array<vec4<f32>>;
fn dy4(i: u32) -> vec4<f32> {
  return dy[i];
}
#else
@group(0) @binding(0) var<storage, read> dy: array<vec2<u32>>;
fn unpack16(v: u32) -> vec2<f32> {
#if X_DT == 1
  return unpack2x16float(v);
#else
  return vec2<f32>(bf16_to_f32(v & 0xffffu), bf16_to_f32(v >> 16u));
#endif
}
fn dy4(i: u32) -> vec4<f32> {
  let v = dy[i];
  return vec4<f32>(unpack16(v.x), unpack16(v.y));
}
#endif
alias V = vec4<f32>;
#else
#include "common/tensor.wgsl" (NAME=dy, DT=X_DT, BINDING=0, WRITE=0)
alias V = f32;
#endif
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> links: array<u32>;
@group(0) @binding(3) var<storage, read> head: array<u32>;
@group(0) @binding(4) var<storage, read_write> dw: array<V>;
#if HAS_IN
@group(0) @binding(5) var<storage, read> dw_in: array<V>;
#endif

struct Params {
  rows: u32,
  cols: u32,
  cblocks: u32,
  groups_x: u32,
  v0: u32,
  count: u32,
  pad: i32,
  dw_base: u32,
  in_base: u32,
}
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let l = wid.x + wid.y * p.groups_x;
  let r = l / p.cblocks;
  let c = (l % p.cblocks) * WG + lid;
  if (r >= p.rows || c >= p.cols) {
    return;
  }
  let v = p.v0 + r;
  // The chain's head, if v has one (see embedding_links.wgsl for why head needs no clear).
  var s = head[v];
  if (s < p.count) {
    if (ids[s] != i32(v) || i32(v) == p.pad || (links[s] & 0x80000000u) == 0u) {
      s = 0x7fffffffu;
    }
  } else {
    s = 0x7fffffffu;
  }
#if HAS_IN
  var acc = dw_in[p.in_base + r * p.cols + c];
#else
  var acc = V(0.0);
#endif
  loop {
    if (s >= p.count) {
      break;
    }
#if VEC
    acc = acc + dy4(s * p.cols + c);
#else
    acc = acc + load_dy(s * p.cols + c);
#endif
    s = links[s] & 0x7fffffffu;
  }
  dw[p.dw_base + r * p.cols + c] = acc;
}
