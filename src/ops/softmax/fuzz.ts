import { chance, dim, fuzzCase, int, pick, range, rowsAndLength, splitRows, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { OpCase } from '../types.js';

/** softmax: plain rows of any length, or causal [.., Sq, Sk] with Sq ≷ Sk and a drawn queryOffset. */
export function softmaxFuzz(r: Rand): OpCase {
  const scale = pick(r, [1, 0.5, 0.125, 0.088, 2]);
  const [lo, hi] = range(r, 4, 30);
  if (chance(r, 0.6)) {
    const [rows, n] = rowsAndLength(r, 1 << 16);
    const shape = [...splitRows(r, rows), n];
    return fuzzCase(`x=[${shape}],scale=${scale},range=${hi}`, { scale }, (dtype, seed) => ({ x: uniform(dtype, shape, seed, lo, hi) }));
  }
  const sk = dim(r, chance(r, 0.2) ? 2048 : 130);
  const sq = chance(r, 0.4) ? sk : dim(r, Math.min(130, Math.max(1, Math.floor((1 << 15) / sk))));
  const batch = int(r, 1, 3);
  const shape = batch > 1 ? [batch, sq, sk] : [sq, sk];
  const options: Record<string, unknown> = { scale, causal: true };
  // A query offset makes rows fully masked (offset < −q) or unmasked (offset ≥ Sk − 1 − q).
  if (chance(r, 0.4)) options.queryOffset = int(r, -sq - 2, sk + 2);
  const off = options.queryOffset === undefined ? '' : `,queryOffset=${options.queryOffset}`;
  return fuzzCase(`causal,x=[${shape}],scale=${scale}${off},range=${hi}`, options, (dtype, seed) => ({ x: uniform(dtype, shape, seed, lo, hi) }));
}
