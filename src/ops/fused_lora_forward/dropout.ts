/**
 * LoRA dropout's mask, counter-based so the backward regenerates it instead of storing it:
 * element e (the row-major index into x, [T, K]) is kept iff
 *   hash(seed, e) = mix32(e XOR mix32(seed)) ≥ threshold,  threshold = ⌊p·2^32⌋,
 * with mix32 = "lowbias32" (Chris Wellons' hash-prospector: x ^= x >> 16; x *= 0x7feb352d;
 * x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16, all mod 2^32), a bijection with full
 * avalanche. A dropped element is 0, a kept one x itself; the 1/(1 − p) scale is folded into
 * the products' alpha. The same integer steps run in the reference, WGSL
 * (wgsl/lora/lora_elementwise.wgsl) and MSL (msl/lora/lora.metal). Indices wrap at 2^32.
 */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** ⌊p·2^32⌋ for p in [0, 1): the hash values below it are dropped. */
export const dropThreshold = (p: number): number => Math.min(2 ** 32 - 1, Math.floor(p * 2 ** 32));

/** The kept (1) / dropped (0) mask of `count` elements. */
export function dropoutMask(count: number, p: number, seed: number): Uint8Array {
  const keep = new Uint8Array(count).fill(1);
  if (p === 0) return keep;
  const thr = dropThreshold(p);
  const sm = mix32(seed >>> 0);
  for (let e = 0; e < count; e++) keep[e] = mix32((e ^ sm) >>> 0) >= thr ? 1 : 0;
  return keep;
}
