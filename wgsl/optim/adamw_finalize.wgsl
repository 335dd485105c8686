// fused_adamw_step, pass 2 (one workgroup): the global gradient norm, the clip factor, the
// flags that skip the step, and per segment the step size and decay factor, into `table`:
//   [0] flags  [1] clip  [2] √(1 − β2^t)  [3] n  [8 + 2g] lr_g / (1 − β1^t)  [9 + 2g] 1 − lr_g·wd_g
//   [8 + 2n + k] offsets[k] (HAS_SEG)
// with lr_g = lr·lrScale_g, wd_g = wd·wdScale_g. The partials are summed in a fixed order
// (strided, then a tree), so the result is the same on every run. HAS_SCALARS: lr and the
// step come from the device (bias corrections by square-and-multiply), else from Params.
// HAS_NORMSQ: the norm is √normSq (a list split across calls), not this call's Σg².
// ACC_FLAG: flag_out is the caller's accumulated flag (the op's `flag` input, in place):
// this call's bits are OR-ed into it; `table` (what skips this call) holds this call's only.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> flag_out: array<i32>;
@group(0) @binding(3) var<storage, read_write> norm_out: array<f32>;
#if HAS_SEG
@group(0) @binding(4) var<storage, read> segments: array<i32>;
@group(0) @binding(5) var<storage, read> groups: array<f32>;
#endif
#if HAS_SCALARS
@group(0) @binding(6) var<storage, read> scalars: array<f32>;
#endif
#if HAS_NORMSQ
// Σg² of the whole list (the op's normSq input): the norm and clip factor come from it.
@group(0) @binding(8) var<storage, read> norm_sq: array<f32>;
#endif

struct Params {
  parts: u32,
  count: u32,
  nseg: u32,
  clip_on: u32,
  max_norm: f32,
  lr: f32,
  wd: f32,
  bc1: f32,
  bc2s: f32,
  beta1: f32,
  beta2: f32,
}
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> red: array<vec2<f32>, WG>;
var<workgroup> bad: array<u32, WG>;

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// b^t by square-and-multiply (relative error ≤ t·u to first order; powError in reference.ts).
fn pow_int(b: f32, t: u32) -> f32 {
  var r = 1.0;
  var x = b;
  var k = t;
  loop {
    if ((k & 1u) == 1u) {
      r = r * x;
    }
    k = k >> 1u;
    if (k == 0u) {
      break;
    }
    x = x * x;
  }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2<f32>(0.0);
  for (var i = lid; i < p.parts; i = i + WG) {
    acc = acc + part[i];
  }
  var b = 0u;
#if HAS_SEG
  for (var k = lid; k < p.nseg; k = k + WG) {
    if (segments[k] > segments[k + 1u] || !finite(groups[2u * k]) || !finite(groups[2u * k + 1u])) {
      b = 1u;
    }
  }
  if (lid == 0u && (segments[0] != 0 || segments[p.nseg] != i32(p.count))) {
    b = 1u;
  }
#endif
  red[lid] = acc;
  bad[lid] = b;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
      bad[lid] = bad[lid] | bad[lid + s];
    }
    workgroupBarrier();
  }
  var tot = red[0];
#if HAS_NORMSQ
  tot.x = norm_sq[0];
  if (!finite(tot.x)) {
    tot.y = 1.0;
  }
#endif
  var flags = select(0u, 1u, tot.y > 0.0) | select(0u, 2u, bad[0] != 0u);
  var lr = p.lr;
  var bc1 = p.bc1;
  var bc2s = p.bc2s;
#if HAS_SCALARS
  lr = scalars[0];
  let st = scalars[1];
  if (finite(lr) && lr >= 0.0 && finite(st) && st >= 1.0 && st <= 16777216.0 && floor(st) == st) {
    bc1 = 1.0 - pow_int(p.beta1, u32(st));
    bc2s = sqrt(1.0 - pow_int(p.beta2, u32(st)));
  } else {
    flags = flags | 4u;
  }
#endif
  let norm = sqrt(tot.x);
  var clip = 1.0;
  if (p.clip_on == 1u) {
    clip = min(p.max_norm / (norm + 1e-6), 1.0);
  }
  let n = max(p.nseg, 1u);
  for (var k = lid; k < n; k = k + WG) {
    var ls = 1.0;
    var ws = 1.0;
#if HAS_SEG
    ls = groups[2u * k];
    ws = groups[2u * k + 1u];
#endif
    let a = lr * ls;
    table[8u + 2u * k] = bitcast<u32>(a / bc1);
    table[9u + 2u * k] = bitcast<u32>(1.0 - a * (p.wd * ws));
  }
#if HAS_SEG
  for (var k = lid; k <= p.nseg; k = k + WG) {
    table[8u + 2u * n + k] = bitcast<u32>(segments[k]);
  }
#endif
  if (lid == 0u) {
    table[0] = flags;
    table[1] = bitcast<u32>(clip);
    table[2] = bitcast<u32>(bc2s);
    table[3] = n;
#if ACC_FLAG
    flag_out[0] = flag_out[0] | i32(flags);
#else
    flag_out[0] = i32(flags);
#endif
    norm_out[0] = norm;
  }
}
