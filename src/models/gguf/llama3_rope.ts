import { ropeFrequencies } from '../../ops/rope/frequencies.js';
import { ropeOptions } from '../../ops/rope/options.js';

/**
 * llama.cpp stores Llama 3's rope scaling as the tensor rope_freqs.weight: per rotary pair the
 * factor its frequency is divided by (1 short wavelengths, `factor` long ones, a blend between)
 * instead of the parameters. The blend is linear in 1/wavelength, so two blended pairs give it
 * back; with low_freq_factor = 1 the parameters follow (Llama 3.x uses 1). The recovered
 * parameters are accepted only if the rope op's frequencies from them reproduce every stored
 * factor, so a file this reading does not explain is refused, never run with other frequencies.
 */
export function llama3FromFactors(factors: Float32Array, theta: number, headDim: number): { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number } | string {
  const half = headDim / 2;
  if (factors.length !== half) return `rope_freqs has ${factors.length} entries, expected head_dim/2 = ${half}`;
  const factor = Math.max(...factors);
  if (!(factor > 1)) return 'rope_freqs divides no frequency: not llama3 scaling';
  const wl = Array.from({ length: half }, (_, i) => 2 * Math.PI * theta ** ((2 * i) / headDim));
  const rel = (x: number, y: number) => Math.abs(x - y) <= 1e-5 * Math.abs(y);
  const blended = [...factors.keys()].filter((i) => !rel(factors[i], 1) && !rel(factors[i], factor));
  if (blended.length < 2) return `rope_freqs blends ${blended.length} pair(s); at least 2 are needed to recover the llama3 parameters`;
  // s = (1/f − 1/factor)/(1 − 1/factor) = a/wl + c, with a = omp/(high − low), c = −low/(high − low).
  const s = (i: number) => (1 / factors[i] - 1 / factor) / (1 - 1 / factor);
  const [i, j] = [blended[0], blended[blended.length - 1]];
  const a = (s(i) - s(j)) / (1 / wl[i] - 1 / wl[j]);
  const c = s(i) - a / wl[i];
  if (!(c < 0 && a > 0)) return 'rope_freqs is not a llama3 blend';
  const high = 1 - 1 / c;
  const omp = Math.round(a * (high - 1));
  const params = { factor, lowFreqFactor: 1, highFreqFactor: high, originalMaxPositions: omp };
  const o = ropeOptions.parse({ base: theta, scaling: { type: 'llama3', ...params } });
  const { inv } = ropeFrequencies(o, headDim);
  for (let k = 0; k < half; k++) {
    const want = 1 / theta ** ((2 * k) / headDim) / factors[k];
    if (Math.abs(inv[k] - want) > 1e-5 * want) return `llama3 parameters ${JSON.stringify(params)} recovered from rope_freqs do not reproduce pair ${k} (${inv[k]} vs ${want})`;
  }
  return params;
}
