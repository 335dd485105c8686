// Prepass of the bf16 gemm on f16 matrix units (gemm_sgmat_bf16.wgsl; the method and its
// bound: src/ops/gemm/bf16_mma.ts): for every index r of an operand's outer dimension (a row
// of op(A) or a column of op(B)) and every K window t of p.kf elements, the window's entry
// E | (inexact << 8) at out[z·p.out_bstride + t·p.r + r] (window-major: the gemm's workgroup
// reads its tile's 128 entries of a window as one run).
//   E: the largest exponent field among the window's nonzero values (0: all zero);
//   inexact: a NaN/±inf or a bf16 subnormal, E < 16, or a nonzero value below E − 29 —
//   then bf16 → f16 after scaling by 2^(142−E) would not be exact and the gemm computes the
//   window on SIMT fma instead.
// One invocation per (r, t), the window walked serially (kf ≤ 512 values).
// K_CONTIG: the operand is stored [R, K] (K contiguous; the launcher guarantees K and the
// base are multiples of 8, so whole 16-byte words are read), else [K, R] (one half per k,
// adjacent invocations adjacent halves).

#if K_CONTIG
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
#else
@group(0) @binding(0) var<storage, read> src: array<u32>;
#endif
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

struct Params {
  r: u32,
  k: u32,
  kf: u32,
  nwin: u32,
  base: u32,
  bstride: u32,
  out_bstride: u32,
  groups_x: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

var<private> emax: u32;
var<private> emin: u32;

// One bf16 value (in the low 16 bits of h).
fn take(h: u32) {
  let mag = h & 0x7fffu;
  let e = mag >> 7u;
  if (mag != 0u) {
    emax = max(emax, e);
    emin = min(emin, e);
  }
}

fn take2(w: u32) {
  take(w & 0xffffu);
  take(w >> 16u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * p.groups_x) * 256u + lid;
  if (gid >= p.r * p.nwin) {
    return;
  }
  let r = gid % p.r;
  let t = gid / p.r;
  let k0 = t * p.kf;
  let k1 = min(p.k, k0 + p.kf);
  let zb = p.base + wid.z * p.bstride;
  emax = 0u;
  emin = 255u;
#if K_CONTIG
  let row = (zb + r * p.k) / 8u;
  for (var kv = k0 / 8u; kv < k1 / 8u; kv = kv + 1u) {
    let v = src[row + kv];
    take2(v.x);
    take2(v.y);
    take2(v.z);
    take2(v.w);
  }
#else
  for (var k = k0; k < k1; k = k + 1u) {
    let e = zb + k * p.r + r;
    take((src[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu);
  }
#endif
  var entry = 0u;
  if (emin <= emax) {
    let exact = emax < 255u && emax >= 16u && emin >= 1u && emin + 29u >= emax;
    entry = emax | select(0x100u, 0u, exact);
  }
  out[wid.z * p.out_bstride + t * p.r + r] = entry;
}
