import { chance, dim, fuzzCase, int, pick, splitRows, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { OpCase } from '../types.js';
import { embIds } from './cases.js';

interface Drawn {
  v: number;
  h: number;
  ids: number[];
  paddingIdx?: number;
  invalid: boolean;
  hot?: number;
}

/** Vocabularies 1 to 70k, rows of any width (odd 16-bit rows straddle words), ids of rank 1–3, repeated, invalid and padding ids. */
function draw(r: Rand): Drawn {
  const h = dim(r, chance(r, 0.2) ? 4096 : 300);
  const v = dim(r, Math.max(1, Math.min(70000, Math.floor((1 << 21) / h))));
  const t = dim(r, Math.max(1, Math.min(2000, Math.floor((1 << 19) / h))));
  const d: Drawn = { v, h, ids: splitRows(r, t), invalid: chance(r, 0.2) };
  if (chance(r, 0.3)) d.paddingIdx = chance(r, 0.3) ? -int(r, 1, v) : int(r, 0, v - 1);
  if (chance(r, 0.3)) d.hot = int(r, 1, Math.min(v, 8));
  return d;
}

const label = (d: Drawn) =>
  [`V=${d.v},H=${d.h},ids=[${d.ids}]`, d.paddingIdx !== undefined ? `pad=${d.paddingIdx}` : '', d.invalid ? 'invalid-ids' : '', d.hot ? `hot=${d.hot}` : ''].filter(Boolean).join(',');

export function embeddingFuzz(r: Rand): OpCase {
  const d = draw(r);
  const a = pick(r, [1, 1e4]);
  return fuzzCase(`${label(d)},weight=±${a}`, d.paddingIdx !== undefined ? { paddingIdx: d.paddingIdx } : {}, (dtype, seed) => ({
    weight: uniform(dtype, [d.v, d.h], seed, -a, a),
    ids: embIds(d.v, d.ids, seed + 1, d),
  }));
}

/** The forward's draw; dy of the output's shape, and half the time a dwIn to accumulate into. */
export function embeddingBackwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  const accumulate = chance(r, 0.5);
  const options = { ...(d.paddingIdx !== undefined ? { paddingIdx: d.paddingIdx } : {}), ...(accumulate ? {} : { numEmbeddings: d.v }) };
  return fuzzCase(`${label(d)}${accumulate ? ',dwIn' : ''}`, options, (dtype, seed) => ({
    dy: uniform(dtype, [...d.ids, d.h], seed, -2, 2),
    ids: embIds(d.v, d.ids, seed + 1, d),
    ...(accumulate ? { dwIn: uniform('f32', [d.v, d.h], seed + 2) } : {}),
  }));
}
