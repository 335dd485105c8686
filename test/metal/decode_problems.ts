// The decode_attention problems both Metal tiers' kernel tests run (metal-decode-mpp: the
// Metal 4 split kernel; metal-decode-direct: the Metal 3 plans, one split and several).
import type { DecodeProblem } from '../../src/ops/decode_attention/cases.js';

const paged = (blockSize: number, numBlocks: number, maxBlocks: number) => ({ blockSize, numBlocks, maxBlocks });

export const PROBLEMS: DecodeProblem[] = [
  { lengths: [37, 1], t: 1, hq: 4, hkv: 1, d: 64, smax: 40 },
  { lengths: [4, 29, 0], t: 4, hq: 8, hkv: 2, d: 128, smax: 31 }, // length = T, a full cache, an empty one
  { lengths: [2, 9], t: 4, hq: 2, hkv: 2, d: 32, smax: 12, sinks: true }, // length < T: rows that see nothing
  { lengths: [20, 17], t: 16, hq: 4, hkv: 1, d: 32, dv: 64, smax: 24 }, // 64 rows: two row blocks
  { lengths: [35, 16, 3], t: 2, hq: 4, hkv: 2, d: 32, dv: 64, paged: paged(16, 9, 3) },
  { lengths: [50, 7], t: 3, hq: 8, hkv: 1, d: 64, paged: paged(8, 12, 7), window: 5, sinks: true, softcap: 20 },
  { lengths: [300, 45], t: 1, hq: 4, hkv: 4, d: 96, paged: paged(32, 12, 10), scale: 0.5 }, // several splits
  { lengths: [600], t: 2, hq: 8, hkv: 2, d: 32, smax: 640, range: 8 }, // three splits, rescales
  { lengths: [5, -1, 41], t: 1, hq: 2, hkv: 1, d: 32, smax: 40 }, // invalid lengths: NaN
  { lengths: [5, 30, 9], t: 2, hq: 2, hkv: 1, d: 32, paged: paged(8, 8, 4), badTable: 1, sinks: true }, // a bad block: NaN
];
export const F16_ONLY: DecodeProblem[] = [
  { lengths: [40, 70], t: 2, hq: 4, hkv: 2, d: 256, dv: 256, smax: 72 },
  { lengths: [33], t: 1, hq: 8, hkv: 1, d: 192, dv: 160, paged: paged(16, 4, 3) },
];
