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
// Defines: X_DT, NEOX (0/1), BACKWARD (0/1), POSITIONS (1: an i32 positions binding; 0:
// position = offset + s).

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=freq, DT=DT_F32, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=y, DT=X_DT, BINDING=2, WRITE=1)
#include "rope/trig.wgsl"
#if POSITIONS
@group(0) @binding(3) var<storage, read> pos: array<i32>;
#endif

#include "rope/rope_params.wgsl"

#include "rope/token_angle.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tok = wid.x + wid.y * p.groups_x;
  if (tok >= p.tokens) {
    return;
  }
  let ps = position(p.tok0 + tok);
  let xw0 = (p.x_base >> 1u) + tok * p.heads * p.row_words;
  let yw0 = (p.y_base >> 1u) + tok * p.heads * p.row_words;
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
      for (var h = h0; h < p.heads; h = h + h_step) {
        let o = h * p.row_words + k;
        let a = load2_x(xw0 + o);
        let b = load2_x(xw0 + o + hw);
        store2_y(yw0 + o, a * c - b * s, true, true);
        store2_y(yw0 + o + hw, b * c + a * s, true, true);
      }
#else
      let cs = angle_cs(ps, k);
      for (var h = h0; h < p.heads; h = h + h_step) {
        let o = h * p.row_words + k;
        let v = load2_x(xw0 + o);
        store2_y(yw0 + o, vec2<f32>(v.x * cs.x - v.y * cs.y, v.y * cs.x + v.x * cs.y), true, true);
      }
#endif
    } else {
      let w = p.rot_words + (k - p.rot_units);
      for (var h = h0; h < p.heads; h = h + h_step) {
        let o = h * p.row_words + w;
#if X_DT == 0
        store2_y(yw0 + o, load2_x(xw0 + o), true, true);
#else
        // The 16-bit word as is: bit-exact, NaN payloads included.
        storew_y(yw0 + o, word_x(xw0 + o));
#endif
      }
    }
  }
}
