import { chance, dim, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { FORMATS, QUANT_FORMATS } from '../quant/formats.js';
import { qgemmCase } from './cases.js';

/** Every format and group size, M from 1 (decode) to 300 (prefill, tile ± 1), ragged N, K up to 4096. */
export function quantizedGemmFuzz(r: Rand): OpCase {
  const format = pick(r, QUANT_FORMATS);
  const info = FORMATS[format];
  const groupSize = info.kind === 'mlx' ? pick(r, [32, 64, 128] as const) : undefined;
  const unit = groupSize ?? info.blockK!;
  const k = unit * int(r, 1, Math.max(1, Math.floor((chance(r, 0.2) ? 4096 : 1024) / unit)));
  const m = chance(r, 0.5) ? int(r, 1, 16) : dim(r, 300);
  const n = dim(r, Math.max(1, Math.min(300, Math.floor(400000 / (k * Math.max(8, m))))));
  const batch = m % 2 === 0 && chance(r, 0.2) ? 2 : undefined;
  return qgemmCase({
    format,
    m,
    n,
    k,
    batch,
    groupSize,
    scaleDtype: pick(r, ['f16', 'bf16', 'f32'] as const),
    mode: chance(r, 0.5) ? 'bits' : 'quantize',
    outDtype: chance(r, 0.3) ? pick(r, ['f32', 'f16', 'bf16'] as const) : undefined,
  });
}
