/**
 * Dtypes and host conversions. f16 and bf16 live on the host as Uint16Array bit patterns
 * (Node 20 has no Float16Array). Two independent encoders exist on purpose: `encodeFloat`
 * works on a float64 value with exact arithmetic (the definition), `f32BitsToF16` /
 * `f32BitsToBf16` work on f32 bit patterns with integer ops (the fast bulk path). The tests
 * check each against the other over every rounding boundary.
 */
export const DTYPES = ['f32', 'f16', 'bf16', 'i32', 'u32', 'u8'] as const;
export type DType = (typeof DTYPES)[number];
export type FloatDType = 'f32' | 'f16' | 'bf16';
export const FLOAT_DTYPES: readonly FloatDType[] = ['f32', 'f16', 'bf16'];

export interface HostArrayOf {
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  u8: Uint8Array;
}
export type HostArray = HostArrayOf[DType];

export const BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, i32: 4, u32: 4, u8: 1 };

export function isFloat(d: DType): d is FloatDType {
  return d === 'f32' || d === 'f16' || d === 'bf16';
}

/** Unit roundoff (half an ulp at 1) of a float dtype: the relative error of one rounding. */
export function unitRoundoff(d: FloatDType): number {
  return d === 'f32' ? 2 ** -24 : d === 'f16' ? 2 ** -11 : 2 ** -8;
}
/** Smallest positive subnormal: the absolute error floor of one rounding near zero. */
export function minSubnormal(d: FloatDType): number {
  return d === 'f32' ? 2 ** -149 : d === 'f16' ? 2 ** -24 : 2 ** -133;
}

/** Smallest positive normal: below it a result is subnormal, which WGSL (and MSL fast math) may flush to zero. */
export function minNormal(d: FloatDType): number {
  return d === 'f16' ? 2 ** -14 : 2 ** -126;
}
/** Largest finite value of a float dtype. */
export function maxFinite(d: FloatDType): number {
  return d === 'f32' ? (2 - 2 ** -23) * 2 ** 127 : d === 'f16' ? 65504 : (2 - 2 ** -7) * 2 ** 127;
}
/**
 * The smallest magnitude that rounds to infinity in a float dtype (IEEE round-to-nearest-even:
 * max finite + half an ulp; the tie rounds to the even infinity). f16: 65520, as PyTorch's `.half()`.
 */
export function overflowThreshold(d: FloatDType): number {
  return d === 'f32' ? 2 ** 128 - 2 ** 103 : d === 'f16' ? 65520 : 2 ** 128 - 2 ** 119;
}

export function isDType(d: unknown): d is DType {
  return typeof d === 'string' && (DTYPES as readonly string[]).includes(d);
}

export function allocHost<D extends DType>(dtype: D, n: number): HostArrayOf[D] {
  switch (dtype) {
    case 'f32':
      return new Float32Array(n) as HostArrayOf[D];
    case 'f16':
    case 'bf16':
      return new Uint16Array(n) as HostArrayOf[D];
    case 'i32':
      return new Int32Array(n) as HostArrayOf[D];
    case 'u32':
      return new Uint32Array(n) as HostArrayOf[D];
    case 'u8':
      return new Uint8Array(n) as HostArrayOf[D];
  }
  throw new Error(`unknown dtype ${String(dtype)}`);
}

/** The host array class a dtype uses, for checks on user input. */
export function hostArrayMatches(dtype: DType, a: unknown): boolean {
  switch (dtype) {
    case 'f32':
      return a instanceof Float32Array;
    case 'f16':
    case 'bf16':
      return a instanceof Uint16Array;
    case 'i32':
      return a instanceof Int32Array;
    case 'u32':
      return a instanceof Uint32Array;
    case 'u8':
      return a instanceof Uint8Array;
  }
}

function roundTiesEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Round a float64 to a binary format with `expBits` exponent and `manBits` stored mantissa
 * bits (IEEE layout, round-to-nearest-even, gradual underflow, overflow to infinity).
 * All scalings are by powers of two, so every intermediate is exact.
 */
export function encodeFloat(x: number, expBits: number, manBits: number): number {
  const signBit = 1 << (expBits + manBits);
  const expMax = (1 << expBits) - 1;
  const bias = (1 << (expBits - 1)) - 1;
  if (Number.isNaN(x)) return (expMax << manBits) | (1 << (manBits - 1));
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << manBits);
  const minNormalExp = 1 - bias;
  if (a < 2 ** minNormalExp) {
    // Subnormal range: a fixed-point count of 2^(minNormalExp - manBits); a carry to
    // 2^manBits lands exactly on the smallest normal encoding.
    return sign | roundTiesEven(a * 2 ** (manBits - minNormalExp));
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundTiesEven(a * 2 ** (manBits - e));
  if (m === 2 ** (manBits + 1)) {
    m = 2 ** manBits;
    e += 1;
  }
  if (e + bias >= expMax) return sign | (expMax << manBits);
  return sign | ((e + bias) << manBits) | (m - 2 ** manBits);
}

export function decodeFloat(bits: number, expBits: number, manBits: number): number {
  const expMax = (1 << expBits) - 1;
  const bias = (1 << (expBits - 1)) - 1;
  const sign = bits & (1 << (expBits + manBits)) ? -1 : 1;
  const e = (bits >>> manBits) & expMax;
  const m = bits & ((1 << manBits) - 1);
  if (e === expMax) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - manBits);
  return sign * (2 ** manBits + m) * 2 ** (e - bias - manBits);
}

export const f16ToNumber = (bits: number): number => decodeFloat(bits, 5, 10);
export const bf16ToNumber = (bits: number): number => decodeFloat(bits, 8, 7);
export const numberToF16 = (x: number): number => encodeFloat(x, 5, 10);
export const numberToBf16 = (x: number): number => encodeFloat(x, 8, 7);

/** f32 bit pattern → f16 bits, round-to-nearest-even, with integer ops only. */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let man = x & 0x7fffff;
  if (exp === 0xff) return sign | (man ? 0x7e00 : 0x7c00);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = man & ((1 << shift) - 1);
    let m = man >>> shift;
    if (rem > half || (rem === half && m & 1)) m += 1;
    return sign | m;
  }
  const m = man >>> 13;
  const rem = man & 0x1fff;
  let r = (e << 10) | m;
  // A carry out of the mantissa increments the exponent, up to infinity: that is RNE.
  if (rem > 0x1000 || (rem === 0x1000 && m & 1)) r += 1;
  return sign | r;
}

/** f32 bit pattern → bf16 bits, round-to-nearest-even; NaN stays NaN (quietened). */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  const lsb = (x >>> 16) & 1;
  return Math.floor(((x >>> 0) + 0x7fff + lsb) / 65536) & 0xffff;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/** Float64 values → host storage of `dtype` (round-to-nearest-even for every float dtype). */
export function fromFloat64<D extends DType>(dtype: D, src: ArrayLike<number>): HostArrayOf[D] {
  const out = allocHost(dtype, src.length);
  if (dtype === 'f16') {
    const o = out as Uint16Array;
    for (let i = 0; i < src.length; i++) o[i] = numberToF16(src[i]);
  } else if (dtype === 'bf16') {
    const o = out as Uint16Array;
    for (let i = 0; i < src.length; i++) o[i] = numberToBf16(src[i]);
  } else {
    for (let i = 0; i < src.length; i++) (out as Float32Array)[i] = src[i];
  }
  return out;
}

/** Host storage → float64 values, exactly. */
export function toFloat64(dtype: DType, src: HostArray): Float64Array {
  const out = new Float64Array(src.length);
  if (dtype === 'f16') for (let i = 0; i < src.length; i++) out[i] = f16ToNumber(src[i]);
  else if (dtype === 'bf16') for (let i = 0; i < src.length; i++) out[i] = bf16ToNumber(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = src[i];
  return out;
}

/** Float32Array → f16/bf16 bits through the integer path (the fast bulk conversion). */
export function f32ArrayTo16(dtype: 'f16' | 'bf16', src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  const conv = dtype === 'f16' ? f32BitsToF16 : f32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = conv(bits[i]);
  return out;
}
