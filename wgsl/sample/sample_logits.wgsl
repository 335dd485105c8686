// sample, phase 1 (one workgroup per row): the processed logits of the row — bias, penalties
// (for tokens with count > 0), temperature, each step one correctly rounded f32 operation
// then canon (src/ops/sample/weights.ts processLogit) — stored as order keys, and the row
// state: the largest key, the lowest id holding it (the greedy token) and lse, the
// log-sum-exp of the processed logits by the cross-entropy forward's online log2-domain
// sum (its error bound, lseError). Switches: HAS_BIAS, HAS_COUNTS, SUBGROUPS.
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "sample/sample_common.wgsl"
#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
#if HAS_BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif
#if HAS_COUNTS
@group(0) @binding(4) var<storage, read> counts: array<i32>;
#endif
#include "common/reduce.wgsl"

var<workgroup> red_u: array<u32, WG>;

fn wg_max_u(v: u32, lid: u32) -> u32 {
  red_u[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      red_u[lid] = max(red_u[lid], red_u[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}
fn wg_min_u(v: u32, lid: u32) -> u32 {
  red_u[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      red_u[lid] = min(red_u[lid], red_u[lid + s]);
    }
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}

const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const NO_MAX: f32 = -3.0e38;
fn scale_down(s: f32, shift: f32) -> f32 {
  return ldexp(s, i32(max(shift, -256.0)));
}

#include "common/wg_entry.wgsl"
  let row = wid.x;
  // Per-row options (uniform: every invocation reads the same words).
  let temp = opt_f(SEG_TEMP, row);
  let temp_on = temp > 0.0;
  let rtemp = recip(clamp_scale(select(1.0, temp, temp_on)));
  let rep = opt_f(SEG_REP, row);
  let rep_c = clamp_scale(select(1.0, rep, rep > 0.0));
  let rep_on = rep > 0.0 && rep_c != 1.0;
  let rrep = recip(rep_c);
  let pres = opt_f(SEG_PRES, row);
  let freq = opt_f(SEG_FREQ, row);
  let base = row * p.v;

  var kmax = 0u;
  var kid = 0xffffffffu;
  var st = vec2<f32>(NO_MAX, 0.0);
  for (var j = lid; j < p.v; j = j + WG) {
    var a = canon(load_x(base + j));
#if HAS_BIAS
    a = canon(a + canon(bias[base + j]));
#endif
#if HAS_COUNTS
    let c = counts[base + j];
    if (c > 0) {
      if (rep_on) {
        a = canon(select(a * rrep, a * rep_c, a < 0.0));
      }
      a = canon(a - canon(canon(freq * f32(min(c, 16777216))) + pres));
    }
#endif
    if (temp_on) {
      a = canon(a * rtemp);
    }
    let k = key_of(a);
    keys[base + j] = k;
    // Ids ascend within an invocation: the first of equal keys is the lowest id.
    if (k > kmax) {
      kmax = k;
      kid = j;
    }
    // The online (m, s) of cross_entropy.wgsl on z = the key's value (NaN → −∞, skipped).
    if (k != KEY_NEG_INF) {
      let t = z_of_key(k) * LOG2E;
      if (t > st.x) {
        let mn = ceil(t);
        st.y = scale_down(st.y, st.x - mn);
        st.x = mn;
      }
      st.y = st.y + exp2(t - st.x);
    }
  }
  let km = wg_max_u(kmax, lid);
  let id = wg_min_u(select(0xffffffffu, kid, kmax == km), lid);
  let mx = wg_max(st.x, lid, sg_size);
  let total = wg_sum(scale_down(st.y, st.x - mx), lid, sg_size);
  if (lid == 0u) {
    var lse = mx * LN2 + log(total);
    // A +∞ logit makes the sum ∞ − ∞ (NaN, as the reference defines); all −∞ gives −∞.
    if (km == KEY_POS_INF) {
      lse = fbits(F_NAN);
    } else if (km == KEY_NEG_INF) {
      lse = fbits(F_NEG_INF);
    }
    let sb = p.state_base + 4u * row;
    keys[sb] = km;
    keys[sb + 1u] = id;
    keys[sb + 2u] = bitcast<u32>(lse);
    keys[sb + 3u] = 0u;
  }
}
