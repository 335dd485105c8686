// Cross-entropy backward on 16-byte words (4 f32 or 8 f16/bf16 logits per load and store),
// for rows whose byte length is a multiple of 16 (the launcher checks; otherwise
// cross_entropy_backward.wgsl). Same per-logit arithmetic (loss/ce_grad.wgsl), so the same
// bound. Each workgroup takes one chunk of WG·ITEMS words of one row, as the scalar kernel.
override WG: u32 = 256;
override ITEMS: u32 = 4;

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=X_DT)
@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> gbuf: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4<u32>>;
#include "loss/softcap.wgsl"

#include "loss/ce_backward_params.wgsl"

#include "loss/ce_grad.wgsl"

// dx of the four logits at columns j0..j0+3.
fn grad4(z: vec4<f32>, j0: i32, tgt: i32, l: f32, g: f32) -> vec4<f32> {
  return vec4<f32>(grad(z.x, j0, tgt, l, g), grad(z.y, j0 + 1, tgt, l, g), grad(z.z, j0 + 2, tgt, l, g), grad(z.w, j0 + 3, tgt, l, g));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let flat = wid.x + wid.y * p.groups_x;
  let row = flat / p.chunks;
  if (row >= p.rows) {
    return;
  }
  let k0 = (flat % p.chunks) * WG * ITEMS;
  let k1 = min(p.nv, k0 + WG * ITEMS);
  let tgt = targets[p.t_base + row];
  let ignored = tgt == p.ignore_index;
  let invalid = !ignored && (tgt < 0 || u32(tgt) >= p.v);
  let l = lse[p.lse_base + row];
  let g = gbuf[p.g_base + row * p.g_stride];
  for (var k = k0 + lid; k < k1; k = k + WG) {
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (invalid) {
      lo = vec4<f32>(quiet_nan(k));
      hi = lo;
    } else if (!ignored) {
      let xv = x[p.x_base + row * p.nv + k];
      let j0 = i32(k * EPV);
      lo = grad4(dec_lo(xv), j0, tgt, l, g);
      if (EPV == 8u) {
        hi = grad4(dec_hi(xv), j0 + 4, tgt, l, g);
      }
    }
    dx[p.dx_base + row * p.nv + k] = enc(lo, hi);
  }
}
