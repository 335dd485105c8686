import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16, type DType } from '../../dtype.js';
import { cacheOffset } from '../decode_attention/dims.js';
import type { RefTensor } from '../types.js';
import { positionValid, usedEntries, type KvCopyDims } from './dims.js';

export interface KvInputs {
  k: RefTensor;
  v: RefTensor;
  kCache: RefTensor;
  vCache: RefTensor;
  positions: RefTensor;
  blockTable?: RefTensor;
}

/** x rounded to `dtype` (round-to-nearest-even, overflow to ±∞): the one rounding of the copy. */
export function roundTo(dtype: DType, x: number): number {
  if (dtype === 'f16') return f16ToNumber(numberToF16(x));
  if (dtype === 'bf16') return bf16ToNumber(numberToBf16(x));
  return dtype === 'f32' ? Math.fround(x) : x;
}

/**
 * Whether sequence b may be written: 0 ≤ positions[b] ≤ capacity − Snew and, paged, every
 * block-table entry its positions use names a block of the cache. The kernels check the
 * same on the device; an invalid sequence writes nothing.
 */
export function sequenceWritable(dm: KvCopyDims, i: KvInputs, b: number): boolean {
  const pos = i.positions.data[b];
  if (!positionValid(dm, pos)) return false;
  if (!dm.paged || dm.snew === 0) return true;
  const [e0, e1] = usedEntries(dm, pos);
  for (let x = e0; x <= e1; x++) {
    const e = i.blockTable!.data[b * dm.maxBlocks + x];
    if (!(e >= 0 && e < dm.numBlocks)) return false;
  }
  return true;
}

/**
 * The caches after the write, in float64, on copies of the inputs: row (b, t, h) of k goes to
 * position positions[b] + t of sequence b's cache (through the block table when paged),
 * rounded to the cache's dtype (`rounded` false: the exact value, for an op whose k is itself
 * a float64 reference with a bound); every other element keeps its value.
 */
export function kvCopyRef(dm: KvCopyDims, i: KvInputs, rounded = true): { kCache: Float64Array; vCache: Float64Array } {
  const kc = i.kCache.data.slice();
  const vc = i.vCache.data.slice();
  const dt = i.kCache.dtype;
  for (let b = 0; b < dm.batch; b++) {
    if (!sequenceWritable(dm, i, b)) continue;
    const pos = i.positions.data[b];
    for (let t = 0; t < dm.snew; t++) {
      const j = pos + t;
      const block = dm.paged ? i.blockTable!.data[b * dm.maxBlocks + Math.floor(j / dm.blockSize)] : 0;
      for (let h = 0; h < dm.hkv; h++) {
        for (const [src, dst, hd] of [[i.k, kc, dm.d], [i.v, vc, dm.dv]] as const) {
          const from = ((b * dm.snew + t) * dm.hkv + h) * hd;
          const to = cacheOffset(dm, hd, b, h, j, block);
          for (let x = 0; x < hd; x++) dst[to + x] = rounded ? roundTo(dt, src.data[from + x]) : src.data[from + x];
        }
      }
    }
  }
  return { kCache: kc, vCache: vc };
}
