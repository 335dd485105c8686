// Cross-entropy forward, one workgroup per row, the vocabulary streamed once (no [T, V]
// temporary). Each invocation keeps an online (m, s) in the log2 domain: t = z·log2e,
// m = an integer running maximum (ceil of the largest t seen), s = Σ 2^(t − m). Since m is
// an integer, rescaling s when m grows is an exact ldexp — every term sees exactly one
// exp2 and no rescale error accumulates (lseError() in src/ops/cross_entropy/reference.ts).
// The workgroup merge of the (m, s) pairs is then a max reduction followed by a sum of
// exactly rescaled s. lse = M·ln2 + log(S) with S in (1/2, V]. Invocation 0 writes lse and
// the row's loss: lse − c1·z_t − c2·Σz (c1 = 1−ε, c2 = ε/V), 0 for an ignored row, NaN for
// a target outside [0, V) (it is never used as an index then).
// SOFTCAP: z = cap·tanh(x/cap). Σz is always reduced (one add per element; c2 = 0 without
// label smoothing) — a switch for it would only double the pipelines to compile.
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#if VEC
// Rows of a multiple of 16 bytes: 16-byte loads (4 f32 or 8 f16/bf16 logits) per step.
#include "common/vec.wgsl" (DT=X_DT)
@group(0) @binding(0) var<storage, read> xq: array<vec4<u32>>;
fn load_x(i: u32) -> f32 {
  let q = xq[i / EPV];
  let j = i % EPV;
  return select(dec_lo(q)[j & 3u], dec_hi(q)[j & 3u], j >= 4u);
}
#else
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#endif
@group(0) @binding(1) var<storage, read> targets: array<i32>;
#include "common/tensor.wgsl" (NAME=loss, DT=DT_F32, BINDING=2, WRITE=1)
#include "common/tensor.wgsl" (NAME=lse, DT=DT_F32, BINDING=3, WRITE=1)
#include "common/reduce.wgsl"
#include "loss/softcap.wgsl"

struct Params {
  rows: u32,
  v: u32,
  groups_x: u32,
  x_base: u32,
  t_base: u32,
  loss_base: u32,
  lse_base: u32,
  ignore_index: i32,
  cap: f32,
  inv_cap: f32,
  c1: f32,
  c2: f32,
}
@group(0) @binding(4) var<uniform> p: Params;

fn logit(x: f32) -> f32 {
#if SOFTCAP
  return softcap(x, p.cap, p.inv_cap).x;
#else
  return x;
#endif
}

#include "loss/lse_online.wgsl"

#if VEC
struct Absorbed {
  st: vec2<f32>,
  sz: f32,
}
fn logit4(x: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(logit(x.x), logit(x.y), logit(x.z), logit(x.w));
}
// The EPV terms of one 16-byte word into (m, s) and Σz: one max and at most one exact
// rescale per word, then independent exp2s summed pairwise (the same terms as online() one
// by one, each t − m still in [t − ceil(max t), 0]; a shorter summation chain).
fn absorb_word(st: vec2<f32>, sz: f32, q: vec4<u32>) -> Absorbed {
  let zl = logit4(dec_lo(q));
  let tl = zl * LOG2E;
  var tm = max(max(tl.x, tl.y), max(tl.z, tl.w));
  var zs = (zl.x + zl.y) + (zl.z + zl.w);
#if X_DT != 0
  let zh = logit4(dec_hi(q));
  let th = zh * LOG2E;
  tm = max(tm, max(max(th.x, th.y), max(th.z, th.w)));
  zs = zs + ((zh.x + zh.y) + (zh.z + zh.w));
#endif
  var m = st.x;
  var s = st.y;
  if (tm > m) {
    let mn = ceil(tm);
    s = scale_down(s, m - mn);
    m = mn;
  }
  var e = exp2(tl - m);
#if X_DT != 0
  e = e + exp2(th - m);
#endif
  return Absorbed(vec2<f32>(m, s + ((e.x + e.y) + (e.z + e.w))), sz + zs);
}
#endif

#include "common/row_entry.wgsl"
  let start = row * p.v;
  let par = (p.x_base + start) & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let xw0 = (p.x_base + start) >> 1u;

  var st = vec2<f32>(NO_MAX, 0.0);
  var sz = 0.0;
#if VEC
  // Four words per trip, all loads issued before any is folded in (more bytes in flight
  // per invocation: at V = 32k a row is only ~16 words per invocation).
  let nv = p.v / EPV;
  let q0 = (p.x_base + start) / EPV;
  var k = lid;
  for (; k + 3u * WG < nv; k = k + 4u * WG) {
    let qa = xq[q0 + k];
    let qb = xq[q0 + k + WG];
    let qc = xq[q0 + k + 2u * WG];
    let qd = xq[q0 + k + 3u * WG];
    let ra = absorb_word(st, sz, qa);
    let rb = absorb_word(ra.st, ra.sz, qb);
    let rc = absorb_word(rb.st, rb.sz, qc);
    let rd = absorb_word(rc.st, rc.sz, qd);
    st = rd.st;
    sz = rd.sz;
  }
  for (; k < nv; k = k + WG) {
    let r = absorb_word(st, sz, xq[q0 + k]);
    st = r.st;
    sz = r.sz;
  }
#else
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let xv = load2_x(xw0 + k);
    if (j0 >= 0) {
      let z = logit(xv.x);
      st = online(st, z);
      sz = sz + z;
    }
    if (u32(j0 + 1) < p.v) {
      let z = logit(xv.y);
      st = online(st, z);
      sz = sz + z;
    }
  }
#endif
  let mx = wg_max(st.x, lid, sg_size);
  // Σ s and Σz in one reduction (one set of barriers).
  let sums = wg_sum2(vec2<f32>(scale_down(st.y, st.x - mx), sz), lid, sg_size);
  let total = sums.x;
  let zsum = sums.y;
  if (lid == 0u) {
    let l = mx * LN2 + log(total);
    store_lse(p.lse_base + row, l);
    let tgt = targets[p.t_base + row];
    var out = 0.0;
    if (tgt != p.ignore_index) {
      if (tgt < 0 || u32(tgt) >= p.v) {
        out = quiet_nan(u32(tgt));
      } else {
        out = (l - p.c1 * logit(load_x(p.x_base + start + u32(tgt)))) - p.c2 * zsum;
      }
    }
    store_loss(p.loss_base + row, out);
  }
}
