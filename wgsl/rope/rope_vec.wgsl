// rope.wgsl on 16-byte words: x and y bound as array<vec4<u32>>, so one load moves 4 f32 or
// 8 f16/bf16 elements (rope.wgsl moves one 32-bit word: for 16-bit types 4 bytes per load,
// too little in flight per invocation to reach bandwidth). Same rotation, same angles
// (host inv_freq table, rope/trig.wgsl, mscale), same per-element arithmetic: same bound.
//
// Needs pairs that line up on 16-byte words (the launcher checks; EPV = elements per word):
// D % EPV == 0 and, NeoX, (rd/2) % EPV == 0 (GPT-J: rd % EPV == 0), window bases on words.
// Work unit k of a head (words counted in 16-byte words):
//   NeoX:  words k and k + rd/(2·EPV), EPV pairs with frequencies k·EPV + j;
//   GPT-J: word k, its EPV/2 adjacent pairs with frequencies k·EPV/2 + j;
//   k ≥ rot_units: pass-through word rd/EPV + (k − rot_units), copied bit for bit.
// The angles of a unit are computed once per invocation and reused over every head it
// covers; a workgroup holds TPW = tpw tokens of `lanes` invocations each (small tokens —
// few heads — would otherwise leave most of a workgroup idle).
//
// QK=1: a second tensor kx (binding 5, heads_k heads per token) rotated into yk (binding 6)
// in the same dispatch — q and k of an attention layer, one launch. A token's heads are then
// q's heads 0 … heads − 1 followed by k's (heads … heads + heads_k − 1), all sharing the
// token's angles; ld/st pick the tensor. Word w < row_words of head h < heads + heads_k of
// token tok < tokens indexes x below x_base + tokens·heads·row_words (or kx below k_base +
// tokens·heads_k·row_words): inside the windows the launcher binds.
//
// Defines: X_DT, NEOX (0/1), BACKWARD (0/1), POSITIONS (1: an i32 positions binding; 0:
// position = offset + s), QK (0/1).

override WG: u32 = 64;

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=X_DT)
#include "rope/trig.wgsl"

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
#include "common/tensor.wgsl" (NAME=freq, DT=DT_F32, BINDING=1, WRITE=0)
@group(0) @binding(2) var<storage, read_write> y: array<vec4<u32>>;
#if POSITIONS
@group(0) @binding(3) var<storage, read> pos: array<i32>;
#endif
#if QK
@group(0) @binding(5) var<storage, read> kx: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> yk: array<vec4<u32>>;
#endif

#include "rope/rope_params.wgsl"

#include "rope/token_angle.wgsl"

// Cosines and sines of frequencies i0 .. i0 + 3.
struct Cs4 {
  c: vec4<f32>,
  s: vec4<f32>,
}
fn angles4(ps: f32, i0: u32) -> Cs4 {
  let a = angle_cs(ps, i0);
  let b = angle_cs(ps, i0 + 1u);
  let c = angle_cs(ps, i0 + 2u);
  let d = angle_cs(ps, i0 + 3u);
  return Cs4(vec4<f32>(a.x, b.x, c.x, d.x), vec4<f32>(a.y, b.y, c.y, d.y));
}

// GPT-J: the 2 adjacent pairs of v rotated by angles (c.xy, s.xy). Written as v·c' + swap(v)·s'
// with s' = (−s0, s0, −s1, s1): lane by lane the same products and sum as a·c − b·s and
// b·c + a·s (negation is exact).
fn gptj2(v: vec4<f32>, c: vec2<f32>, s: vec2<f32>) -> vec4<f32> {
  return v * vec4<f32>(c.x, c.x, c.y, c.y) + v.yxwz * vec4<f32>(-s.x, s.x, -s.y, s.y);
}

// Word w of head h of token tok (q's heads first, then k's under QK), read and written.
fn ld(tok: u32, h: u32, w: u32) -> vec4<u32> {
#if QK
  if (h >= p.heads) {
    return kx[p.k_base + (tok * p.heads_k + (h - p.heads)) * p.row_words + w];
  }
#endif
  return x[p.x_base + (tok * p.heads + h) * p.row_words + w];
}
fn st(tok: u32, h: u32, w: u32, v: vec4<u32>) {
#if QK
  if (h >= p.heads) {
    yk[p.yk_base + (tok * p.heads_k + (h - p.heads)) * p.row_words + w] = v;
    return;
  }
#endif
  y[p.y_base + (tok * p.heads + h) * p.row_words + w] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = lid / p.lanes;
  let l = lid % p.lanes;
  let tok = (wid.x + wid.y * p.groups_x) * p.tpw + slot;
  if (slot >= p.tpw || tok >= p.tokens) {
    return;
  }
  let ps = position(p.tok0 + tok);
  // heads_k is 0 without QK (the launcher packs it so).
  let nh = p.heads + p.heads_k;
  // Fewer units than lanes: lane l takes unit l % units of heads l / units, + lanes / units,
  // ...; otherwise units l, l + lanes, ... of every head.
  var k = l;
  var k_step = p.lanes;
  var h0 = 0u;
  var h_step = 1u;
  if (p.units < p.lanes) {
    k = l % p.units;
    k_step = p.units;
    h0 = l / p.units;
    h_step = p.lanes / p.units;
    if (h0 >= h_step) {
      return;
    }
  }
  for (; k < p.units; k = k + k_step) {
    if (k < p.rot_units) {
#if NEOX
      let lo = angles4(ps, k * EPV);
#if X_DT != 0
      let hi = angles4(ps, k * EPV + 4u);
#endif
      let hw = p.rot_words / 2u;
      for (var h = h0; h < nh; h = h + h_step) {
        let va = ld(tok, h, k);
        let vb = ld(tok, h, k + hw);
        let a0 = dec_lo(va);
        let b0 = dec_lo(vb);
#if X_DT != 0
        let a1 = dec_hi(va);
        let b1 = dec_hi(vb);
        st(tok, h, k, enc(a0 * lo.c - b0 * lo.s, a1 * hi.c - b1 * hi.s));
        st(tok, h, k + hw, enc(b0 * lo.c + a0 * lo.s, b1 * hi.c + a1 * hi.s));
#else
        st(tok, h, k, enc(a0 * lo.c - b0 * lo.s, vec4<f32>(0.0)));
        st(tok, h, k + hw, enc(b0 * lo.c + a0 * lo.s, vec4<f32>(0.0)));
#endif
      }
#else
#if X_DT != 0
      let cs = angles4(ps, k * 4u);
#else
      let c0 = angle_cs(ps, k * 2u);
      let c1 = angle_cs(ps, k * 2u + 1u);
      let cs = Cs4(vec4<f32>(c0.x, c1.x, 0.0, 0.0), vec4<f32>(c0.y, c1.y, 0.0, 0.0));
#endif
      for (var h = h0; h < nh; h = h + h_step) {
        let v = ld(tok, h, k);
        let lo = gptj2(dec_lo(v), cs.c.xy, cs.s.xy);
#if X_DT != 0
        st(tok, h, k, enc(lo, gptj2(dec_hi(v), cs.c.zw, cs.s.zw)));
#else
        st(tok, h, k, enc(lo, vec4<f32>(0.0)));
#endif
      }
#endif
    } else {
      // Pass-through: the word as is, bit-exact (NaN payloads included).
      let w = p.rot_words + (k - p.rot_units);
      for (var h = h0; h < nh; h = h + h_step) {
        st(tok, h, w, ld(tok, h, w));
      }
    }
  }
}
