// Rotary position embedding over x [B, S, H, D], one workgroup per token (b, s): its H head
// rows share one position, so an invocation computes cos/sin for its frequencies once and
// applies them to every head it covers. On each pair (a, b) of a head's first rd dims —
// NEOX=1: (i, i + rd/2), else GPT-J: (2i, 2i + 1) —
//   forward  (BACKWARD=0): y_a = a·c − b·s,  y_b = b·c + a·s
//   backward (BACKWARD=1): the transpose, sin negated
// with c, s = m·cos(θ), m·sin(θ), θ = pos · inv_freq[i]; the other D − rd dims are copied.
// inv_freq (after any scaling) comes from the host as an f32 table.
//
// Needs word-aligned pairs (the launcher checks): D even (every head row starts on a word)
// and, for NeoX, rd/2 even (the two halves of a pair-word line up). Work unit k of a head:
//   NeoX:  words k and k + rd/4 (pairs 2k and 2k + 1), two angles;
//   GPT-J: word k (pair k), one angle;
//   k ≥ rot_units: pass-through word rd/2 + (k − rot_units), copied.
// Whole words are written, so 16-bit outputs need no read-modify-write. rope_elementwise.wgsl
// handles every other layout; layouts on 16-byte words take rope_vec.wgsl (this kernel on
// vec4<u32> words).
//
// Only a portable tier: an elementwise op with no reduction has nothing for subgroups to do.
//
// QK=1: a second tensor kx (binding 5, heads_k heads per token) rotated into yk (binding 6)
// in the same dispatch; a token's heads are q's then k's, sharing its angles (as in
// rope_vec.wgsl). Word w < row_words of head h < heads + heads_k of token tok < tokens stays
// below x_base/2 + tokens·heads·row_words (kx: k_base/2 + tokens·heads_k·row_words): inside
// the windows the launcher binds.
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

#include "rope/rope_params.wgsl"

#include "rope/token_angle.wgsl"

// Word w of head h of token tok: q's heads (x, y) first, then k's (kx, yk) under QK.
fn qw(base: u32, tok: u32, h: u32, w: u32) -> u32 {
  return (base >> 1u) + (tok * p.heads + h) * p.row_words + w;
}
#if QK
fn kw(base: u32, tok: u32, h: u32, w: u32) -> u32 {
  return (base >> 1u) + (tok * p.heads_k + (h - p.heads)) * p.row_words + w;
}
#endif
fn ld2(tok: u32, h: u32, w: u32) -> vec2<f32> {
#if QK
  if (h >= p.heads) {
    return load2_kx(kw(p.k_base, tok, h, w));
  }
#endif
  return load2_x(qw(p.x_base, tok, h, w));
}
fn st2(tok: u32, h: u32, w: u32, v: vec2<f32>) {
#if QK
  if (h >= p.heads) {
    store2_yk(kw(p.yk_base, tok, h, w), v, true, true);
    return;
  }
#endif
  store2_y(qw(p.y_base, tok, h, w), v, true, true);
}
#if X_DT != 0
// A 16-bit pass-through word as is: bit-exact, NaN payloads included.
fn copyw(tok: u32, h: u32, w: u32) {
#if QK
  if (h >= p.heads) {
    storew_yk(kw(p.yk_base, tok, h, w), word_kx(kw(p.k_base, tok, h, w)));
    return;
  }
#endif
  storew_y(qw(p.y_base, tok, h, w), word_x(qw(p.x_base, tok, h, w)));
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tok = wid.x + wid.y * p.groups_x;
  if (tok >= p.tokens) {
    return;
  }
  let ps = position(p.tok0 + tok);
  // heads_k is 0 without QK (the launcher packs it so).
  let nh = p.heads + p.heads_k;
  // Fewer units than invocations: invocation lid takes unit lid % units of heads
  // lid / units, + WG / units, ...; otherwise units lid, lid + WG, ... of every head.
  var k = lid;
  var k_step = WG;
  var h0 = 0u;
  var h_step = 1u;
  if (p.units < WG) {
    k = lid % p.units;
    k_step = p.units;
    h0 = lid / p.units;
    h_step = WG / p.units;
    if (h0 >= h_step) {
      return;
    }
  }
  for (; k < p.units; k = k + k_step) {
    if (k < p.rot_units) {
#if NEOX
      let cs0 = angle_cs(ps, 2u * k);
      let cs1 = angle_cs(ps, 2u * k + 1u);
      let c = vec2<f32>(cs0.x, cs1.x);
      let s = vec2<f32>(cs0.y, cs1.y);
      let hw = p.rot_words / 2u;
      for (var h = h0; h < nh; h = h + h_step) {
        let a = ld2(tok, h, k);
        let b = ld2(tok, h, k + hw);
        st2(tok, h, k, a * c - b * s);
        st2(tok, h, k + hw, b * c + a * s);
      }
#else
      let cs = angle_cs(ps, k);
      for (var h = h0; h < nh; h = h + h_step) {
        let v = ld2(tok, h, k);
        st2(tok, h, k, vec2<f32>(v.x * cs.x - v.y * cs.y, v.y * cs.x + v.x * cs.y));
      }
#endif
    } else {
      let w = p.rot_words + (k - p.rot_units);
      for (var h = h0; h < nh; h = h + h_step) {
#if X_DT == 0
        st2(tok, h, w, ld2(tok, h, w));
#else
        copyw(tok, h, w);
#endif
      }
    }
  }
}
