// Rotary position embedding, any layout (odd D, NeoX with rotaryDim/2 odd, any window
// parity): the fallback of rope.wgsl, which needs word-aligned pairs. Over x [B, S, H, D]
// (rows of D = one head): on each pair (a, b)
// of a row's first 2·half dims — NEOX=1: (i, i + half), else GPT-J: (2i, 2i + 1) —
//   forward  (BACKWARD=0): y_a = a·c − b·s,  y_b = b·c + a·s
//   backward (BACKWARD=1): the transpose, sin negated
// with c, s = m·cos(θ), m·sin(θ), θ = pos · inv_freq[i]; the remaining dims are copied.
// inv_freq (after any scaling) comes from the host as an f32 table, so the kernel only forms
// the angle. One invocation per output word (two elements), each element computed on its
// own — so words shared by two rows (odd D, 16-bit) need no atomics except at chunk edges.
//
// Only a portable tier: an elementwise op with no reduction has nothing for subgroups to do.
//
// QK=1: a second tensor kx (binding 5) rotated into yk (binding 6) in the same dispatch:
// the grid's invocations cover y's words of the chunk first, then yk's (count_k elements,
// heads_k rows per token, its own window bases and parity). Each part indexes only its own
// window: word q < ⌈(count + par)/2⌉ of a window of count elements from base.
//
// Defines: X_DT, NEOX (0/1), BACKWARD (0/1), POSITIONS (1: an i32 positions binding; 0:
// position = offset + s), QK (0/1).

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=freq, DT=DT_F32, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=y, DT=X_DT, BINDING=2, WRITE=1)
#include "rope/trig.wgsl"
#if POSITIONS
@group(0) @binding(3) var<storage, read> pos: array<i32>;
#endif
#if QK
#include "common/tensor.wgsl" (NAME=kx, DT=X_DT, BINDING=5, WRITE=0)
#include "common/tensor.wgsl" (NAME=yk, DT=X_DT, BINDING=6, WRITE=1)
#endif

struct Params {
  // Elements in this chunk (whole rows), their row length D, and half the rotary dim.
  count: u32,
  d: u32,
  half: u32,
  heads: u32,
  seq: u32,
  // Global index of the chunk's first row (for its position).
  row0: u32,
  groups_x: u32,
  x_base: u32,
  y_base: u32,
  // Elements between batches in positions: S for [B, S], 0 for [S].
  pos_bstride: u32,
  offset: i32,
  mscale: f32,
  // QK: k's elements in this chunk, rows per token, first row, window bases (0 without QK).
  count_k: u32,
  heads_k: u32,
  row0_k: u32,
  k_base: u32,
  yk_base: u32,
}
@group(0) @binding(4) var<uniform> p: Params;

// One part of the dispatch: x → y, or (QK) kx → yk.
struct Part {
  isk: bool,
  count: u32,
  heads: u32,
  row0: u32,
  x_base: u32,
  y_base: u32,
}

fn ld(isk: bool, ei: u32) -> f32 {
#if QK
  if (isk) {
    return load_kx(ei);
  }
#endif
  return load_x(ei);
}

fn position(row: u32, heads: u32) -> f32 {
  let s = (row / heads) % p.seq;
#if POSITIONS
  let b = row / (heads * p.seq);
  return f32(pos[b * p.pos_bstride + s]);
#else
  return f32(p.offset + i32(s));
#endif
}

// Output element j of the part's chunk, whose own input value is `a`.
fn elem(pt: Part, j: u32, a: f32) -> f32 {
  let dd = j % p.d;
  if (dd >= 2u * p.half) {
    return a;
  }
  let xi = pt.x_base + j;
#if NEOX
  let lo = dd < p.half;
  let i = select(dd - p.half, dd, lo);
  let b = ld(pt.isk, select(xi - p.half, xi + p.half, lo));
#else
  let lo = (dd & 1u) == 0u;
  let i = dd >> 1u;
  let b = ld(pt.isk, select(xi - 1u, xi + 1u, lo));
#endif
  let cs = cos_sin(position(pt.row0 + j / p.d, pt.heads) * load_freq(i)) * p.mscale;
  let t = b * cs.y;
#if BACKWARD
  let neg = !lo;
#else
  let neg = lo;
#endif
  return a * cs.x + select(t, -t, neg);
}

// Word q of a part: chunk elements 2q − par and 2q + 1 − par (input and output windows
// share the parity: they start at even element offsets).
fn word(pt: Part, q: u32) {
  let par = pt.x_base & 1u;
  let j0 = i32(2u * q) - i32(par);
  let m0 = j0 >= 0;
  let m1 = u32(j0 + 1) < pt.count;
  var a: vec2<f32>;
#if QK
  if (pt.isk) {
    a = load2_kx((pt.x_base >> 1u) + q);
  } else {
    a = load2_x((pt.x_base >> 1u) + q);
  }
#else
  a = load2_x((pt.x_base >> 1u) + q);
#endif
  var v = vec2<f32>(0.0);
  if (m0) {
    v.x = elem(pt, u32(j0), a.x);
  }
  if (m1) {
    v.y = elem(pt, u32(j0 + 1), a.y);
  }
#if QK
  if (pt.isk) {
    store2_yk((pt.y_base >> 1u) + q, v, m0, m1);
    return;
  }
#endif
  store2_y((pt.y_base >> 1u) + q, v, m0, m1);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.x + wid.y * p.groups_x) * WG + lid;
  let nq = (p.count + (p.x_base & 1u) + 1u) / 2u;
  if (q < nq) {
    word(Part(false, p.count, p.heads, p.row0, p.x_base, p.y_base), q);
    return;
  }
#if QK
  let nk = (p.count_k + (p.k_base & 1u) + 1u) / 2u;
  if (q - nq < nk) {
    word(Part(true, p.count_k, p.heads_k, p.row0_k, p.k_base, p.yk_base), q - nq);
  }
#endif
}
