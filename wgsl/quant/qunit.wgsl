// Units of 32 weights of a row of W read as whole aligned words, for qgemv_sg.wgsl:
// unit_count() units a row, unit_load(row, u) reads what unit u needs (its loads only, so a
// caller can put several units' loads in flight before the first use), unit_part(w, j)
// decodes its j-th run of 8 weights (j a constant at every call) to the f32 values decode8
// computes (the same operations on the same operands), and unit_k(u, j) is the run's first
// column of W. The formats and why each is read this way:
// - MLX (WVEC: packed rows on 16-byte boundaries): a unit is one 16-byte word of a 4-bit row,
//   two of an 8-bit one; weights k in order. One scale and one bias per unit (groups are
//   multiples of 32). 4-bit with f16 scales: nibbles masked in place and scales pre-scaled
//   by 16^-i (the SCALED note below).
// - Q4_K (WVEC: rows on 16-byte boundaries; a super-block is 144 bytes = 9 words): a unit
//   is one of the 8 words of quants, with the super-block's first word (d, dmin, the 12
//   scale bytes) — 8 consecutive lanes read the same first word (one broadcast load) and 8
//   consecutive quant words, so a subgroup's loads cover whole super-blocks. A quant word
//   holds 16 weights of sub-block 2j in its low nibbles and 16 of sub-block 2j+1 in its high
//   ones (j = its 64-weight chunk): runs 0, 1 then 2, 3 of the unit sit 32 columns apart.
// - Q4_0 (GALIGN: rows on 4-byte boundaries; blocks are 18 bytes, so not 16-byte aligned):
//   a unit is one block, read as the 5 aligned 32-bit words that cover it and realigned in
//   registers (a block starts 0 or 2 bytes into its first word), instead of 4 two-word
//   unaligned reads and a separate read of d.
// Needs quant/decode.wgsl (wq4 under WVEC, wq otherwise), magic4.

// GGUF's nibbles (Q4_0, Q4_K: byte i of a 32-bit word holds weight i in its low nibble and
// weight i + 16 (Q4_0) or i + 32 (Q4_K) in its high one), SCALED like MLX's: the nibble at
// bit b is masked in place where b + 3 ≤ 22 (q·2^b stays below 2²³) and read from y = x >> 12
// otherwise, so a word costs one shift, 8 and/or and 8 subtractions instead of 8 shifts too.
// Field i of the low nibbles is q·LO_POW[i], of the high ones q·HI_POW[i]; the scales are
// multiplied by the inverse powers (exact: a power of two, and an f16 d or d·sc is at least
// 2^-24, so no f32 underflow at 2^-16), so (q·2^b)·(s·2^-b) = s·q exactly.
const LO_INV: vec4<f32> = vec4<f32>(1.0, 0.00390625, 0.0000152587890625, 0.000244140625);
const HI_INV: vec4<f32> = vec4<f32>(0.0625, 0.000244140625, 0.00390625, 0.0000152587890625);
fn lo_bits(x: u32) -> vec4<u32> {
  let y = x >> 12u;
  return (vec4<u32>(x, x, x, y) & vec4<u32>(0xfu, 0xf00u, 0xf0000u, 0xf000u)) | vec4<u32>(MAGIC);
}
fn hi_bits(x: u32) -> vec4<u32> {
  let y = x >> 12u;
  return (vec4<u32>(x, x, y, y) & vec4<u32>(0xf0u, 0xf000u, 0xf00u, 0xf0000u)) | vec4<u32>(MAGIC);
}

#if MLX
fn unit_count() -> u32 {
  return p.k / 32u;
}
fn unit_k(u: u32, j: u32) -> u32 {
  return 32u * u + 8u * j;
}
// GS (qgemv_wide.wgsl): the group size as a constant, so the unit's group is a shift
// instead of a division by the uniform p.group (a ~20-instruction sequence per unit and row).
fn mlx_group(row: u32, u: u32) -> u32 {
#if GS
  return p.s_base + row * p.gpr + u / (GS / 32u);
#else
  return p.s_base + row * p.gpr + (32u * u) / p.group;
#endif
}
#if BITS8
struct Unit {
  v0: vec4<u32>,
  v1: vec4<u32>,
  s: f32,
  z: f32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  let wv = (p.w_base + row * p.row_units) / 4u + 2u * u;
  let g = mlx_group(row, u);
  return Unit(wq4[wv], wq4[wv + 1u], load_scales(g), load_biases(g));
}
fn unit_part(w: Unit, j: u32) -> W8 {
  let v = select(w.v1, w.v0, j < 2u);
  let lo = v[(2u * j) & 3u];
  let hi = v[(2u * j + 1u) & 3u];
  let qa = magic4(vec4<u32>(lo, lo >> 8u, lo >> 16u, lo >> 24u) & vec4<u32>(255u));
  let qb = magic4(vec4<u32>(hi, hi >> 8u, hi >> 16u, hi >> 24u) & vec4<u32>(255u));
  return W8(qa * w.s + w.z, qb * w.s + w.z);
}
#elif S_DT == 1
// SCALED (4-bit, f16 scales): nibbles 0–4 of a word are masked in place (q·16^i as a float,
// exact below 2²³) and multiplied by s·16^-i, nibbles 5–7 after one shift by 20: 25
// operations per 8 weights instead of 31. s·16^-i is exact (an f16 scale is at least 2^-24,
// so at least 2^-40: no f32 underflow) and so is (q·16^i)·(s·16^-i) = s·q: the same s·q + b
// with one rounding.
struct Unit {
  v: vec4<u32>,
  a: vec4<f32>,
  b: vec4<f32>,
  z: f32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  let wv = (p.w_base + row * p.row_units) / 4u + u;
  let g = mlx_group(row, u);
  let s = load_scales(g);
  return Unit(wq4[wv], s * vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625), s * vec4<f32>(0.0000152587890625, 1.0, 0.0625, 0.00390625), load_biases(g));
}
fn unit_part(w: Unit, j: u32) -> W8 {
  let x = w.v[j];
  let y = x >> 20u;
  let qa = bitcast<vec4<f32>>((vec4<u32>(x) & vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u)) | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
  let qb = bitcast<vec4<f32>>((vec4<u32>(x, y, y, y) & vec4<u32>(0xf0000u, 0xfu, 0xf0u, 0xf00u)) | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
  return W8(qa * w.a + w.z, qb * w.b + w.z);
}
#else
struct Unit {
  v: vec4<u32>,
  s: f32,
  z: f32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  let wv = (p.w_base + row * p.row_units) / 4u + u;
  let g = mlx_group(row, u);
  return Unit(wq4[wv], load_scales(g), load_biases(g));
}
fn unit_part(w: Unit, j: u32) -> W8 {
  let x = w.v[j];
  let qa = magic4(vec4<u32>(x, x >> 4u, x >> 8u, x >> 12u) & vec4<u32>(15u));
  let qb = magic4(vec4<u32>(x >> 16u, x >> 20u, x >> 24u, x >> 28u) & vec4<u32>(15u));
  return W8(qa * w.s + w.z, qb * w.s + w.z);
}
#endif

#elif Q4_K
fn unit_count() -> u32 {
  return (p.k / 256u) * 8u;
}
// Quant word c = u % 8 of super-block u / 8: chunk c / 2, half c % 2; runs 2 and 3 are the
// high nibbles, 32 columns on.
fn unit_k(u: u32, j: u32) -> u32 {
  return 256u * (u / 8u) + 64u * ((u % 8u) / 2u) + 16u * (u % 2u) + 8u * (j & 1u) + 32u * (j / 2u);
}
// dsa / dsb: (d·sc)·LO_INV for sub-block 2j, (d·sc)·HI_INV for 2j+1; dma / dmb: dmin·m.
struct Unit {
  q: vec4<u32>,
  dsa: vec4<f32>,
  dma: f32,
  dsb: vec4<f32>,
  dmb: f32,
}
// Byte i (0–11) of the scale bytes (the first word's bytes 4–15).
fn kbyte(h: vec4<u32>, i: u32) -> u32 {
  return (select(select(h.y, h.z, i >= 4u), h.w, i >= 8u) >> ((i & 3u) * 8u)) & 0xffu;
}
// get_scale_min_k4(i): the 6-bit scale and min of sub-block i.
fn kscale(h: vec4<u32>, i: u32) -> vec2<f32> {
  if (i < 4u) {
    return vec2<f32>(f32(kbyte(h, i) & 63u), f32(kbyte(h, i + 4u) & 63u));
  }
  let sc = (kbyte(h, i + 4u) & 15u) | ((kbyte(h, i - 4u) >> 6u) << 4u);
  let m = (kbyte(h, i + 4u) >> 4u) | ((kbyte(h, i) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}
#if KSEL
// KSEL (qgemv_wide.wgsl): kscale for sub-blocks 2j and 2j+1 at once and without a branch —
// (sc, m, sc', m') as floats. Both lie on one side of 4 (j < 2: the low 6 bits of bytes 2j,
// 2j+1 and 2j+4, 2j+5; else the 4-bit halves of bytes 2j+4, 2j+5 with the top 2 bits of
// bytes 2j−4, 2j−3 and 2j, 2j+1 as bits 4–5), at bit offsets 16·(j & 1) and +8 of the
// scale words h.y (bytes 0–3), h.z (4–7), h.w (8–11); kscale's branch splits the lanes of
// one subgroup (j = (u % 8) / 2 is a lane's constant), so both sides would run.
fn kpair(h: vec4<u32>, j: u32) -> vec4<f32> {
  let s = 16u * (j & 1u);
  let y = vec2<u32>(h.y >> s, h.y >> (s + 8u));
  let z = vec2<u32>(h.z >> s, h.z >> (s + 8u));
  let w = vec2<u32>(h.w >> s, h.w >> (s + 8u));
  let sc = select(y & vec2<u32>(63u), (w & vec2<u32>(15u)) | ((y >> vec2<u32>(2u)) & vec2<u32>(48u)), j >= 2u);
  let m = select(z & vec2<u32>(63u), ((w >> vec2<u32>(4u)) & vec2<u32>(15u)) | ((z >> vec2<u32>(2u)) & vec2<u32>(48u)), j >= 2u);
  return magic4(vec4<u32>(sc.x, m.x, sc.y, m.y));
}
#endif
fn unit_load(row: u32, u: u32) -> Unit {
  let sb = (p.w_base + row * p.row_units) / 16u + (u / 8u) * 9u;
  let h = wq4[sb];
  let q = wq4[sb + 1u + u % 8u];
  let dd = unpack2x16float(h.x);
  let j = (u % 8u) / 2u;
#if KSEL
  let k = kpair(h, j);
  return Unit(q, (dd.x * k.x) * LO_INV, dd.y * k.y, (dd.x * k.z) * HI_INV, dd.y * k.w);
#else
  let a = kscale(h, 2u * j);
  let b = kscale(h, 2u * j + 1u);
  return Unit(q, (dd.x * a.x) * LO_INV, dd.y * a.y, (dd.x * b.x) * HI_INV, dd.y * b.y);
#endif
}
// (d·sc)·q − dmin·m: the product exact, one rounding (decode8's).
fn unit_part(w: Unit, j: u32) -> W8 {
  let a = w.q[(2u * j) & 3u];
  let b = w.q[(2u * j + 1u) & 3u];
  if (j < 2u) {
    return W8((bitcast<vec4<f32>>(lo_bits(a)) - 8388608.0) * w.dsa - w.dma, (bitcast<vec4<f32>>(lo_bits(b)) - 8388608.0) * w.dsa - w.dma);
  }
  return W8((bitcast<vec4<f32>>(hi_bits(a)) - 8388608.0) * w.dsb - w.dmb, (bitcast<vec4<f32>>(hi_bits(b)) - 8388608.0) * w.dsb - w.dmb);
}

#else
// Q4_0: a block is an f16 d, then 16 bytes: weights 0–15 in the low nibbles, 16–31 in the high.
fn unit_count() -> u32 {
  return p.k / 32u;
}
fn unit_k(u: u32, j: u32) -> u32 {
  return 32u * u + 8u * j;
}
// lo / hi: d·LO_INV, d·HI_INV.
struct Unit {
  q: vec4<u32>,
  lo: vec4<f32>,
  hi: vec4<f32>,
}
// 2²³ + 8·2^b per field: subtracting it from 2²³ + q·2^b leaves (q − 8)·2^b exactly (both in [2²³, 2²⁴)).
const LO_OFF: vec4<f32> = vec4<f32>(8388616.0, 8390656.0, 8912896.0, 8421376.0);
const HI_OFF: vec4<f32> = vec4<f32>(8388736.0, 8421376.0, 8390656.0, 8912896.0);
fn unit_load(row: u32, u: u32) -> Unit {
  let at = p.w_base + row * p.row_units + 18u * u;
  let i = at / 4u;
  // Words i … i+4 hold bytes at … at+17 whichever the offset: none lies past the row.
  let w0 = wq[i];
  let w1 = wq[i + 1u];
  let w2 = wq[i + 2u];
  let w3 = wq[i + 3u];
  let w4 = wq[i + 4u];
  let odd = (at & 2u) != 0u;
  let q = select(vec4<u32>((w0 >> 16u) | (w1 << 16u), (w1 >> 16u) | (w2 << 16u), (w2 >> 16u) | (w3 << 16u), (w3 >> 16u) | (w4 << 16u)), vec4<u32>(w1, w2, w3, w4), odd);
  let d = unpack2x16float(select(w0, w0 >> 16u, odd)).x;
  return Unit(q, d * LO_INV, d * HI_INV);
}
// (q − 8)·d, exact (decode8's).
fn unit_part(w: Unit, j: u32) -> W8 {
  let a = w.q[(2u * j) & 3u];
  let b = w.q[(2u * j + 1u) & 3u];
  if (j < 2u) {
    return W8((bitcast<vec4<f32>>(lo_bits(a)) - LO_OFF) * w.lo, (bitcast<vec4<f32>>(lo_bits(b)) - LO_OFF) * w.lo);
  }
  return W8((bitcast<vec4<f32>>(hi_bits(a)) - HI_OFF) * w.hi, (bitcast<vec4<f32>>(hi_bits(b)) - HI_OFF) * w.hi);
}
#endif
