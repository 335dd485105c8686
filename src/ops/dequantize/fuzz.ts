import { chance, dim, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { FORMATS, QUANT_FORMATS } from '../quant/formats.js';
import { deqCase } from './cases.js';

/** Every format, MLX group size, output dtype and source (quantized or raw bits), K up to 8 k. */
export function dequantizeFuzz(r: Rand): OpCase {
  const format = pick(r, QUANT_FORMATS);
  const info = FORMATS[format];
  const groupSize = info.kind === 'mlx' ? pick(r, [32, 64, 128] as const) : undefined;
  const unit = groupSize ?? info.blockK!;
  const k = unit * (chance(r, 0.2) ? int(r, 1, 8192 / unit) : int(r, 1, Math.max(1, 1024 / unit)));
  const n = dim(r, Math.max(1, Math.min(64, Math.floor(65536 / k))));
  return deqCase({ format, n, k, groupSize, mode: chance(r, 0.5) ? 'bits' : 'quantize', outDtype: chance(r, 0.5) ? pick(r, ['f32', 'f16', 'bf16'] as const) : undefined });
}
