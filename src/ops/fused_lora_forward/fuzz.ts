import { chance, dim, fuzzCase, int, pick, splitRows, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { FORMATS, QUANT_FORMATS } from '../quant/formats.js';
import { loraBackwardInputs, loraForwardInputs, loraLabel, loraOptions, type LoraDef } from './cases.js';

/** QLoRA in a third of the cases: any format, group size and scales dtype; K a multiple of the format's unit. */
function drawQuant(r: Rand): LoraDef['quant'] {
  if (!chance(r, 0.35)) return undefined;
  const format = pick(r, QUANT_FORMATS);
  const groupSize = FORMATS[format].kind === 'mlx' ? pick(r, [32, 64, 128] as const) : undefined;
  return { format, groupSize, scaleDtype: pick(r, ['f16', 'bf16', 'f32'] as const), mode: chance(r, 0.5) ? 'bits' : 'quantize' };
}

/** K, N from the sizes that break tiles, ranks 1–256, rank-2/3 x, alpha, dropout with any seed, bias, a quantized W. */
function draw(r: Rand): LoraDef {
  const rank = pick(r, [1, 2, 4, 8, 16, 32, 64, 128, 256, dim(r, 256)]);
  const quant = drawQuant(r);
  const unit = quant ? (quant.groupSize ?? FORMATS[quant.format].blockK!) : 1;
  const k = quant ? unit * int(r, 1, Math.max(1, Math.floor(600 / unit))) : dim(r, 600);
  const n = dim(r, 600);
  const t = dim(r, Math.max(1, Math.min(300, Math.floor((1 << 19) / (k * Math.max(n, rank))))));
  return {
    lead: splitRows(r, t),
    k,
    n,
    r: rank,
    alpha: chance(r, 0.5) ? pick(r, [1, 8, 2 * rank]) : undefined,
    dropout: chance(r, 0.4) ? pick(r, [0.05, 0.1, 0.5, 0.9]) : undefined,
    seed: int(r, 0, 2 ** 31),
    bias: chance(r, 0.3),
    accumulate: chance(r, 0.4),
    quant,
  };
}

export function loraForwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(loraLabel(d, false), loraOptions(d, false), (dt, s) => loraForwardInputs(d, dt, s));
}

export function loraBackwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(loraLabel(d, true), loraOptions(d, true), (dt, s) => loraBackwardInputs(d, dt, s));
}
