/**
 * The sampler's exactly reproducible arithmetic (the kernels in wgsl/sample and msl/sample
 * do the same operations; docs in spec.ts):
 *
 * - processed logits are f32 values built by correctly rounded f32 operations (+ − ×; no
 *   division: reciprocals are correctly rounded 1/x), each result flushed to 0 below 2^-125
 *   (so a GPU that flushes subnormals, or detects tininess before rounding, agrees);
 * - every token gets an integer weight w = W(d) ≈ 2^31·e^(−d), d = fl(z_max − z), computed
 *   in fixed point with integer operations only — so sums, prefix sums and comparisons are
 *   exact and independent of summation order on every backend;
 * - the order of tokens is (z descending, id ascending), on the integer key of z.
 */
const f = Math.fround;
const view = new DataView(new ArrayBuffer(4));
export const bitsOf = (x: number): number => {
  view.setFloat32(0, x, true);
  return view.getUint32(0, true);
};
export const floatOf = (b: number): number => {
  view.setUint32(0, b >>> 0, true);
  return view.getFloat32(0, true);
};

/** Results below 2^-125 in magnitude become +0 (exponent field ≤ 1). */
export function canon(x: number): number {
  const b = bitsOf(x);
  return ((b >>> 23) & 0xff) <= 1 ? 0 : x;
}

/** The order key of a processed logit: monotone in z, −0 → +0, NaN → the key of −∞. */
export const KEY_NEG_INF = 0x007fffff;
export function keyOf(z: number): number {
  if (Number.isNaN(z)) return KEY_NEG_INF;
  const b = bitsOf(z === 0 ? 0 : z);
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}
export function zOfKey(k: number): number {
  return floatOf(k & 0x80000000 ? k & 0x7fffffff : ~k);
}

/** Clamps a positive scale into [2^-100, 2^100] (so its reciprocal is a normal f32); NaN/≤ 0 → undefined. */
export function clampScale(x: number): number | undefined {
  if (!(x > 0)) return undefined;
  return Math.min(Math.max(x, 2 ** -100), 2 ** 100);
}
/** The correctly rounded f32 reciprocal (the kernels compute it by integer long division). */
export const recip = (x: number): number => f(1 / x);

export interface RowOptions {
  temperature: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
}

/**
 * One processed logit: bias, then (for a token with count > 0) the repetition penalty —
 * z·r for z < 0, z·fl(1/r) otherwise (Hugging Face divides; the correctly rounded reciprocal
 * keeps every operation a correctly rounded multiply) — and z − (frequency·count + presence),
 * then z·fl(1/T) for T > 0. Every step rounded to f32 and flushed (canon).
 */
export function processLogit(x: number, bias: number | undefined, count: number, o: RowOptions): number {
  let a = canon(f(x));
  if (bias !== undefined) a = canon(f(a + canon(f(bias))));
  if (count > 0) {
    const r = clampScale(o.repetitionPenalty);
    if (r !== undefined && r !== 1) a = canon(a < 0 ? f(a * r) : f(a * recip(r)));
    const c = Math.min(count, 2 ** 24);
    a = canon(f(a - canon(f(canon(f(o.frequencyPenalty * c)) + o.presencePenalty))));
  }
  const t = clampScale(o.temperature);
  if (t !== undefined) a = canon(f(a * recip(t)));
  return a;
}

/** round(log2(e)·2^24). */
export const LOG2E_Q24 = 24204406;

/** E_level[j] = round(2^31 · 2^(−j / 256^level)), j < 256, for the three 8-bit digits of the fraction. */
export const EXP2_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(768);
  for (let lvl = 0; lvl < 3; lvl++) for (let j = 0; j < 256; j++) t[lvl * 256 + j] = Math.round(2 ** 31 * 2 ** (-j / 256 ** (lvl + 1)));
  return t;
})();

/** floor(a·b / 2^31) for a, b ≤ 2^31 (exact: the product needs 62 bits, so BigInt). */
const mul31 = (a: number, b: number): number => Number((BigInt(a) * BigInt(b)) >> 31n);

/**
 * W(d) = floor(2^31 · 2^(−t)), t = floor(d·LOG2E_Q24)/2^24 (d ≥ 0 an f32): the integer part n
 * of t shifts, the 24-bit fraction is three table digits multiplied in 31-bit fixed point.
 * 0 for d ≥ 32 (or NaN, +∞), or when n ≥ 31; 2^31 at d = 0.
 */
export function weightOf(d: number): number {
  if (!(d < 32)) return 0;
  const b = bitsOf(d);
  const e = (b >>> 23) & 0xff;
  if (e <= 1) return 2 ** 31;
  const md = (b & 0x7fffff) | 0x800000;
  // d = md·2^(e − 150); T = floor(d·L) = (md·L) >> (150 − e) (e ≤ 131 here, so ≥ 19; md·L < 2^49).
  const shift = 150 - e;
  const T = shift >= 64 ? 0 : Number((BigInt(md) * BigInt(LOG2E_Q24)) >> BigInt(shift));
  const n = Math.floor(T / 2 ** 24);
  if (n >= 31) return 0;
  const fr = T % 2 ** 24;
  const m = mul31(EXP2_TABLE[fr >>> 16], mul31(EXP2_TABLE[256 + ((fr >>> 8) & 255)], EXP2_TABLE[512 + (fr & 255)]));
  return Math.floor(m / 2 ** n);
}

/** The weight of a token with key k in a row whose largest key is kmax. */
export function weightOfKey(k: number, kmax: number): number {
  if (k === kmax) return 2 ** 31;
  const zmax = zOfKey(kmax);
  const z = canon(zOfKey(k));
  return weightOf(canon(f(zmax - z)));
}
