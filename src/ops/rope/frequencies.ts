import { maxFinite } from '../../dtype.js';
import { OptionsError } from '../../errors.js';
import type { RopeOpts } from './options.js';

/** The frequency options alone: the cache key of an inverse-frequency table. */
export function freqKey(o: RopeOpts, rd: number): string {
  return JSON.stringify({ rd, base: o.base, scaling: o.scaling });
}

/** YaRN's mscale: 0.1·m·ln(s) + 1 for s > 1, else 1. */
const yarnMscale = (s: number, m: number) => (s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1);

/**
 * Inverse frequencies inv[i] = base^(-2i/rd), i < rd/2, after scaling, in float64, and the
 * attention factor that multiplies cos and sin (1 except for YaRN). Same formulas as HF
 * transformers' _compute_{default,linear_scaling,llama3,yarn}_parameters.
 */
export function ropeFrequencies(o: RopeOpts, rd: number): { inv: Float64Array; attention: number } {
  const half = rd / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / o.base ** ((2 * i) / rd);
  const sc = o.scaling;
  let attention = 1;
  if (sc.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= sc.factor;
  } else if (sc.type === 'llama3') {
    // Wavelengths shorter than omp/highFreqFactor keep their frequency, longer than
    // omp/lowFreqFactor are divided by factor, and those between blend smoothly.
    const lowWl = sc.originalMaxPositions / sc.lowFreqFactor;
    const highWl = sc.originalMaxPositions / sc.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wl = (2 * Math.PI) / inv[i];
      if (wl < highWl) continue;
      if (wl > lowWl) inv[i] /= sc.factor;
      else {
        const smooth = (sc.originalMaxPositions / wl - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
        inv[i] = ((1 - smooth) * inv[i]) / sc.factor + smooth * inv[i];
      }
    }
  } else if (sc.type === 'yarn') {
    // Dimension whose wavelength makes `rot` turns over the original context.
    const corrDim = (rot: number) => (rd * Math.log(sc.originalMaxPositions / (rot * 2 * Math.PI))) / (2 * Math.log(o.base));
    let low = corrDim(sc.betaFast);
    let high = corrDim(sc.betaSlow);
    if (sc.truncate) {
      low = Math.floor(low);
      high = Math.ceil(high);
    }
    low = Math.max(low, 0);
    high = Math.min(high, rd - 1);
    if (low === high) high += 0.001;
    for (let i = 0; i < half; i++) {
      // ramp 0 → extrapolate (keep the frequency), 1 → interpolate (divide by factor).
      const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
      inv[i] = (inv[i] / sc.factor) * ramp + inv[i] * (1 - ramp);
    }
    attention = ropeAttention(o);
  }
  return { inv, attention };
}

/** The factor that multiplies cos and sin: 1 except for YaRN (attentionFactor, the mscale ratio, or 0.1·ln(factor) + 1). */
export function ropeAttention(o: RopeOpts): number {
  const sc = o.scaling;
  if (sc.type !== 'yarn') return 1;
  return sc.attentionFactor ?? (sc.mscale !== undefined ? yarnMscale(sc.factor, sc.mscale) / yarnMscale(sc.factor, sc.mscaleAllDim!) : yarnMscale(sc.factor, 1));
}
