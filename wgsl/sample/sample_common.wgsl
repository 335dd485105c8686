// Shared by the sampler kernels (src/ops/sample/spec.ts documents the semantics;
// src/ops/sample/weights.ts is the host twin of every function here, operation for
// operation). Decisions use exact arithmetic only: correctly rounded f32 + − × whose
// results are flushed below 2^-125 and passed through `canon` — an XOR with p.zero (a
// uniform 0 the compiler cannot see through), so no multiply is fused into a later add on
// any driver — and integer weights summed in 64 bits (vec2<u32>: lo, hi).
//
// Buffers: keys (binding 1) holds the order keys [B·V] of the rows the full-vocabulary path
// draws from (row_plan: written by sample_chunk, read by sample_select); rowopts (binding 2)
// holds the exp2 table (768 words) and the per-row options in segments of B words (SEG_*);
// cand (binding 3 or 6) the chunk records and candidates (sample_chunk.wgsl describes them).
struct Params {
  b: u32,
  v: u32,
  zero: u32,
  topn: u32,
  // Chunks per row (ceil(V / CHUNK)) and where the candidate pairs start in cand.
  nc: u32,
  pair_base: u32,
}
@group(0) @binding(5) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> rowopts: array<u32>;

const SEG_TEMP: u32 = 0u;
const SEG_TOPK: u32 = 1u;
const SEG_TOPP: u32 = 2u;
const SEG_MINP: u32 = 3u;
const SEG_REP: u32 = 4u;
const SEG_PRES: u32 = 5u;
const SEG_FREQ: u32 = 6u;
const SEG_OFFSET: u32 = 7u;
const SEG_SEED: u32 = 8u;
const TABLE_WORDS: u32 = 768u;

fn opt_u(seg: u32, row: u32) -> u32 {
  return rowopts[TABLE_WORDS + seg * p.b + row];
}
fn opt_f(seg: u32, row: u32) -> f32 {
  return bitcast<f32>(opt_u(seg, row));
}

// A chunk of a row is CHUNK logits: 256 invocations of sample_chunk, 16 each.
const CHUNK: u32 = 4096u;
// The largest top-k the candidate path serves (every chunk keeps up to KC candidates, so the
// merge's selection ranks at most KC tokens); larger k goes the full-vocabulary path.
const KC: u32 = 256u;

// What sample_chunk, sample_mass and sample_select decide per row (they must agree): `fast` —
// a sampled row with 1 ≤ k < V, k ≤ KC, drawn from the candidates; `open` — a sampled row
// without top-k (k < 1 or k ≥ V; temperature alone, top-p, min-p) on a row of at most NCMAX
// chunks, drawn through sample_mass's per-chunk weight bins; `full` — any other sampled row
// (KC < k < V, or a longer row), drawn from its keys over the whole vocabulary; `c` — the
// candidates each chunk keeps: enough for the top-k set of a fast row and for the top-n
// log-probabilities.
struct Plan {
  fast: bool,
  open: bool,
  full: bool,
  c: u32,
}
fn row_plan(temp: f32, k: i32) -> Plan {
  let sampled = temp > 0.0;
  let topk = k >= 1 && u32(k) < p.v;
  let fast = sampled && topk && u32(k) <= KC;
#if NO_MASS
  // The caller said no row samples without a top-k (sample's rowsWithoutTopK: false), so
  // sample_mass was not launched: a row that has none anyway takes the full-vocabulary path
  // (same token, slower).
  let open = false;
#else
  let open = sampled && !topk && p.nc <= NCMAX;
#endif
  return Plan(fast, open, sampled && !fast && !open, max(p.topn, select(0u, u32(k), fast)));
}
// `open` rows: sample_mass bins each token of weight w > 0 by the fixed-point exponent t of
// weight_of (bin = t >> 21, 1/8 of a binary order each: NB bins, bin 0 the heaviest). The bin
// never rises with the key (d = fl(z_max − z) never falls), so bins are consecutive runs of
// the order and a bin's tokens lie between its neighbours' — a boundary of the order falls in
// exactly one bin, and only that bin's tokens need sorting. Per chunk, at mass_at(row, c):
//   [0, 2)                 the chunk's total weight (64-bit lo, hi);
//   [2, 2 + 2·NB)          cum[b]: the chunk's weight in bins ≤ b (64-bit);
//   [MASS_OFF, +NB + 1)    off[b]: the chunk's tokens in bins < b (off[NB]: every weighed token);
//   [MASS_SLOTS, +CHUNK/2) the chunk-local indices (16 bits, two a word) of its weighed
//                          tokens grouped by bin (bin b at [off[b], off[b + 1])), in no order.
const NB: u32 = 248u;
const NCMAX: u32 = 256u;
const MASS_OFF: u32 = 498u;
const MASS_SLOTS: u32 = 748u;
const MASS_WORDS: u32 = 2796u;
fn mass_at(row: u32, c: u32) -> u32 {
  return MASS_WORDS * (row * p.nc + c);
}

// The slot of chunk c of a row in cand: its record (REC_WORDS words) and its first candidate
// pair. The record: [0] the largest key, [1] the lowest id holding it, [2, 4) the online
// (max, sum) of the log-sum-exp, [4] how many candidate pairs the chunk wrote (≤ KC; they
// include its first c tokens of the order), [8, 8 + GROUPS) with BOUND the largest key of
// each GROUP_TOKENS-token group of the chunk (0 for a group past the row's end).
const REC_WORDS: u32 = 16u;
const GROUPS: u32 = 8u;
const GROUP_TOKENS: u32 = 512u;
fn rec_at(row: u32, c: u32) -> u32 {
  return REC_WORDS * (row * p.nc + c);
}
fn pair_at(row: u32, c: u32) -> u32 {
  return p.pair_base + 2u * KC * (row * p.nc + c);
}

const KEY_NEG_INF: u32 = 0x007fffffu;
const KEY_POS_INF: u32 = 0xff800000u;
const F_NAN: u32 = 0x7fc00000u;
const F_NEG_INF: u32 = 0xff800000u;

// A float from its bits at run time (NaN and ±∞ cannot be constant expressions).
fn fbits(b: u32) -> f32 {
  return bitcast<f32>(b ^ p.zero);
}

// Flush below 2^-125 (exponent field ≤ 1) to +0; the XOR with p.zero is the fusion fence.
fn canon(v: f32) -> f32 {
  let b = bitcast<u32>(v) ^ p.zero;
  return bitcast<f32>(select(b, 0u, ((b >> 23u) & 0xffu) <= 1u));
}

fn key_of(z: f32) -> u32 {
  let b = bitcast<u32>(z);
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) {
    return KEY_NEG_INF;
  }
  if (a == 0u) {
    return 0x80000000u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn z_of_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// 64-bit unsigned arithmetic on (lo, hi).
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}
fn ge64(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.y > b.y || (a.y == b.y && a.x >= b.x);
}
fn mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// The correctly rounded f32 reciprocal of a normal x in [2^-100, 2^100], from q =
// floor(2^48 / mx) (mx the 24-bit mantissa); never a tie, so the 25th quotient bit alone
// decides the rounding. q exactly in a few dependent steps instead of 48 of long division: an
// f32 division estimates it (within 6 units: 2.5 ulp of 2^24/mx, and the truncation), the
// remainder R = 2^48 − q·mx is then exact in 32 bits (|R| < 7·mx < 2^31; 2^48 ≡ 0 mod 2^32)
// and q + floor(R / mx) is the quotient — exact for any estimate within 2^31 / mx ≥ 128 units.
fn recip(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let e = (b >> 23u) & 0xffu;
  let mx = (b & 0x7fffffu) | 0x800000u;
  if (mx == 0x800000u) {
    return bitcast<f32>((254u - e) << 23u);
  }
  let q0 = u32((16777216.0 / f32(mx)) * 16777216.0);
  let r = bitcast<i32>(0u - q0 * mx);
  let d = r / i32(mx);
  let q = u32(i32(q0) + d - select(0, 1, r - d * i32(mx) < 0));
  var m = (q >> 1u) + (q & 1u);
  var ex = 253u - e;
  if (m == 0x1000000u) {
    m = 0x800000u;
    ex = ex + 1u;
  }
  return bitcast<f32>((ex << 23u) | (m & 0x7fffffu));
}

// A positive scale clamped to [2^-100, 2^100]; the caller checks > 0 (NaN fails that).
fn clamp_scale(x: f32) -> f32 {
  return min(max(x, 7.888609052210118e-31), 1.2676506002282294e30);
}

const LOG2E_Q24: u32 = 24204406u;
fn mul31(a: u32, b: u32) -> u32 {
  let m = mul32(a, b);
  return (m.y << 1u) | (m.x >> 31u);
}
// W(d) = floor(2^31·2^(−t)), t = floor(d·LOG2E_Q24)/2^24, for an f32 d ≥ 0 (weights.ts weightOf).
fn weight_of(d: f32) -> u32 {
  if (!(d < 32.0)) {
    return 0u;
  }
  let b = bitcast<u32>(d);
  let e = (b >> 23u) & 0xffu;
  if (e <= 1u) {
    return 0x80000000u;
  }
  let pr = mul32((b & 0x7fffffu) | 0x800000u, LOG2E_Q24);
  let s = 150u - e;
  var t = 0u;
  if (s < 32u) {
    t = (pr.x >> s) | (pr.y << (32u - s));
  } else if (s < 64u) {
    t = pr.y >> (s - 32u);
  }
  let n = t >> 24u;
  if (n >= 31u) {
    return 0u;
  }
  let fr = t & 0xffffffu;
  let m = mul31(rowopts[fr >> 16u], mul31(rowopts[256u + ((fr >> 8u) & 255u)], rowopts[512u + (fr & 255u)]));
  return m >> n;
}
// The bin of a weight: t >> 21 of weight_of's t, NB for weight 0 (weight_of's steps, no table).
fn bin_of(d: f32) -> u32 {
  if (!(d < 32.0)) {
    return NB;
  }
  let b = bitcast<u32>(d);
  let e = (b >> 23u) & 0xffu;
  if (e <= 1u) {
    return 0u;
  }
  let pr = mul32((b & 0x7fffffu) | 0x800000u, LOG2E_Q24);
  let s = 150u - e;
  var t = 0u;
  if (s < 32u) {
    t = (pr.x >> s) | (pr.y << (32u - s));
  } else if (s < 64u) {
    t = pr.y >> (s - 32u);
  }
  if ((t >> 24u) >= 31u) {
    return NB;
  }
  return t >> 21u;
}
fn bin_key(k: u32, kmax: u32, zmax: f32) -> u32 {
  if (k == kmax) {
    return 0u;
  }
  return bin_of(canon(zmax - canon(z_of_key(k))));
}
// The weight of key k in a row whose largest key is kmax (z_max = its value).
fn weight_key(k: u32, kmax: u32, zmax: f32) -> u32 {
  if (k == kmax) {
    return 0x80000000u;
  }
  return weight_of(canon(zmax - canon(z_of_key(k))));
}
// Philox-4x32-10 (src/ops/sample/philox.ts): the first output word.
fn philox_x(ctr: vec4<u32>, key: vec2<u32>) -> u32 {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r = r + 1u) {
    if (r > 0u) {
      k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
    }
    let m0 = mul32(0xd2511f53u, c.x);
    let m1 = mul32(0xcd9e8d57u, c.z);
    c = vec4<u32>(m1.y ^ c.y ^ k.x, m1.x, m0.y ^ c.w ^ k.y, m0.x);
  }
  return c.x;
}

fn logprob(z: f32, lse: f32) -> f32 {
  // A non-finite lse (a +∞ logit, or every logit −∞) makes every log-probability NaN.
  if ((bitcast<u32>(lse) & 0x7f800000u) == 0x7f800000u) {
    return fbits(F_NAN);
  }
  return z - lse;
}

