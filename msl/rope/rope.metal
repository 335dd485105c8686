// Rotary position embedding over x [B, S, H, D] (metal3 tier; rope has no metal4 kernel: an
// elementwise rotation has nothing for the tensor units to do). One threadgroup per token
// (b, s): its H head rows share one position, so a thread computes cos/sin of a frequency
// once and applies them to every head it covers. On each pair (a, b) of a head's first rd
// dims — NEOX: (i, i + rd/2), else GPT-J: (2i, 2i + 1) —
//   forward  (BACKWARD=false): y_a = a·c − b·s,  y_b = b·c + a·s
//   backward (BACKWARD=true):  the transpose (sin negated: R(θ)ᵀ = R(−θ))
// with c, s = m·cos(θ), m·sin(θ), θ = f32(pos) · inv_freq[i]; the other D − rd dims are
// copied bit for bit. inv_freq (after any scaling) is computed on the host in float64 and
// bound as an f32 table at [[buffer(1)]] (setBytes; the launcher splits tables over 1024
// entries into pair ranges, one dispatch each: Metal's setBytes takes < 4 KiB).
//
// Work units of a token: pair units pair0 + k for k < pairs (each all heads), then, when
// `pass` is set, the D − rd copied dims of every head. Fewer units than threads: thread lid
// takes unit lid % units of heads lid / units, + tg / units, …; otherwise units lid,
// lid + tg, … of every head. No barriers, so idle threads may simply return.
//
// The angle reduction is Cody–Waite into [−π, π] (where the error bound is derived:
// trigError in src/ops/rope/apply.ts), written with fma so a fast-math compiler cannot
// reassociate it; the rotation is fma(a, c, −b·s) (one rounding of the product, one of the
// sum: the bound's γ2).
//
// Function constant 0 (has_positions): positions come from an i32 [S] or [B, S] buffer at
// [[buffer(3)]]; otherwise position = offset + s.
// Function constant 1 (has_k): a second tensor k [[buffer(5)]] of heads_k heads per token is
// rotated into yk [[buffer(6)]] by the same dispatch — q and k of an attention layer in one
// launch. A token's heads are then q's (h < heads) followed by k's, all sharing its angles;
// without has_k, heads_k is 0 and the k pointers are never formed.
#include <metal_stdlib>
#include "rope/cos_sin.h"
using namespace metal;

constant bool has_positions [[function_constant(0)]];
constant bool has_k [[function_constant(1)]];

struct RopeParams {
  uint tokens;      // B·S
  uint heads;       // H
  uint seq;         // S
  uint d;           // D (elements per head row)
  uint rd;          // rotated dims (even, ≤ D)
  uint pair0;       // first pair of this dispatch (the table's entry 0)
  uint pairs;       // pairs in this dispatch
  uint pass;        // 1: this dispatch also copies the D − rd pass-through dims
  uint pos_bstride; // elements between batches in positions: S for [B, S], 0 for [S]
  int offset;       // position of s = 0 without a positions buffer
  float mscale;     // attention factor (multiplies cos and sin)
  uint heads_k;     // Hk: heads of k per token (0 without has_k)
};

template <typename T, bool NEOX, bool BACKWARD>
[[kernel]] void rope(device const T* x [[buffer(0)]],
                     constant float* inv_freq [[buffer(1)]],
                     device T* y [[buffer(2)]],
                     device const int* positions [[buffer(3), function_constant(has_positions)]],
                     constant RopeParams& p [[buffer(4)]],
                     device const T* k [[buffer(5), function_constant(has_k)]],
                     device T* yk [[buffer(6), function_constant(has_k)]],
                     uint tok [[threadgroup_position_in_grid]],
                     uint lid [[thread_index_in_threadgroup]],
                     uint tg [[threads_per_threadgroup]]) {
  if (tok >= p.tokens) return;
  const uint s = tok % p.seq;
  float pos;
  if (has_positions) {
    pos = float(positions[(tok / p.seq) * p.pos_bstride + s]);
  } else {
    pos = float(p.offset + int(s));
  }
  const ulong row0 = ulong(tok) * ulong(p.heads) * ulong(p.d);
  device const T* xt = x + row0;
  device T* yt = y + row0;
  const uint nh = p.heads + p.heads_k;
  const uint half_rd = p.rd / 2;
  const uint units = p.pairs + (p.pass ? p.d - p.rd : 0u);

  uint k0 = lid, k_step = tg, h0 = 0, h_step = 1;
  if (units < tg) {
    k0 = lid % units;
    k_step = units;
    h0 = lid / units;
    h_step = tg / units;
    if (h0 >= h_step) return;
  }
  for (uint u = k0; u < units; u += k_step) {
    if (u < p.pairs) {
      const uint i = p.pair0 + u;
      float2 cs = rope_cos_sin(pos * inv_freq[u]) * p.mscale;
      if (BACKWARD) cs.y = -cs.y;
      const uint ia = NEOX ? i : 2 * i;
      const uint ib = NEOX ? i + half_rd : 2 * i + 1;
      for (uint h = h0; h < nh; h += h_step) {
        // Head h of this token: in x/y for h < heads, else (has_k) in k/yk.
        device const T* xr = xt + h * p.d;
        device T* yr = yt + h * p.d;
        if (has_k && h >= p.heads) {
          const ulong kr = (ulong(tok) * ulong(p.heads_k) + (h - p.heads)) * ulong(p.d);
          xr = k + kr;
          yr = yk + kr;
        }
        const float a = float(xr[ia]);
        const float b = float(xr[ib]);
        yr[ia] = T(fma(a, cs.x, -(b * cs.y)));
        yr[ib] = T(fma(b, cs.x, a * cs.y));
      }
    } else {
      const uint e = p.rd + (u - p.pairs);
      for (uint h = h0; h < nh; h += h_step) {
        device const T* xr = xt + h * p.d;
        device T* yr = yt + h * p.d;
        if (has_k && h >= p.heads) {
          const ulong kr = (ulong(tok) * ulong(p.heads_k) + (h - p.heads)) * ulong(p.d);
          xr = k + kr;
          yr = yk + kr;
        }
        // A plain copy of the element: bit-exact, NaN payloads included.
        yr[e] = xr[e];
      }
    }
  }
}

#define instantiate_rope(name, T, NEOX, BACKWARD) \
  template [[host_name(name)]] [[kernel]] decltype(rope<T, NEOX, BACKWARD>) rope<T, NEOX, BACKWARD>;

instantiate_rope("rope_neox_f32", float, true, false)
instantiate_rope("rope_neox_f16", half, true, false)
instantiate_rope("rope_neox_bf16", bfloat, true, false)
instantiate_rope("rope_gptj_f32", float, false, false)
instantiate_rope("rope_gptj_f16", half, false, false)
instantiate_rope("rope_gptj_bf16", bfloat, false, false)
instantiate_rope("rope_backward_neox_f32", float, true, true)
instantiate_rope("rope_backward_neox_f16", half, true, true)
instantiate_rope("rope_backward_neox_bf16", bfloat, true, true)
instantiate_rope("rope_backward_gptj_f32", float, false, true)
instantiate_rope("rope_backward_gptj_f16", half, false, true)
instantiate_rope("rope_backward_gptj_bf16", bfloat, false, true)
