import type { RefTensor } from '../types.js';
import { attentionForwardBounds } from '../flash_attention_forward/bounds.js';
import { attnDims } from '../flash_attention_forward/dims.js';
import { attentionOptions, type AttentionOptions } from '../flash_attention_forward/options.js';
import { attentionForwardRef } from '../flash_attention_forward/reference.js';
import { cacheOffset, type DecodeDims } from './dims.js';
import type { DecodeOptions } from './options.js';

export interface DecodeInputs {
  q: RefTensor;
  kCache: RefTensor;
  vCache: RefTensor;
  lengths: RefTensor;
  blockTable?: RefTensor;
  sinks?: RefTensor;
}

/**
 * Whether sequence b can be read: 0 ≤ length ≤ capacity and, paged, every block-table entry
 * it uses (the first ⌈length / blockSize⌉) names a block of the cache. The kernels check the
 * same on the device; an invalid sequence's o and lse are NaN.
 */
export function sequenceValid(dm: DecodeDims, i: DecodeInputs, b: number): boolean {
  const len = i.lengths.data[b];
  if (!(len >= 0 && len <= dm.capacity)) return false;
  if (!dm.paged) return true;
  for (let x = 0; x < Math.ceil(len / dm.blockSize); x++) {
    const e = i.blockTable!.data[b * dm.maxBlocks + x];
    if (!(e >= 0 && e < dm.numBlocks)) return false;
  }
  return true;
}

/** Sequence b as a forward problem: q [1, T, Hq, D], its keys and values gathered to [1, len, Hkv, ·]. */
function sequenceProblem(dm: DecodeDims, i: DecodeInputs, b: number, len: number) {
  const q: RefTensor = { dtype: i.q.dtype, shape: [1, dm.t, dm.hq, dm.d], data: i.q.data.subarray(b * dm.t * dm.hq * dm.d, (b + 1) * dm.t * dm.hq * dm.d) };
  const gather = (src: RefTensor, hd: number): RefTensor => {
    const out = new Float64Array(len * dm.hkv * hd);
    for (let j = 0; j < len; j++) {
      const block = dm.paged ? i.blockTable!.data[b * dm.maxBlocks + Math.floor(j / dm.blockSize)] : 0;
      for (let h = 0; h < dm.hkv; h++) {
        const from = cacheOffset(dm, hd, b, h, j, block);
        out.set(src.data.subarray(from, from + hd), (j * dm.hkv + h) * hd);
      }
    }
    return { dtype: src.dtype, shape: [1, len, dm.hkv, hd], data: out };
  };
  return { q, k: gather(i.kCache, dm.d), v: gather(i.vCache, dm.dv) };
}

/** The forward's options for a decode step: causal, bottom-right (query t at position len − T + t), the left window. */
export const forwardOptions = (o: DecodeOptions): AttentionOptions =>
  attentionOptions.parse({ causal: true, ...(o.scale !== undefined ? { scale: o.scale } : {}), ...(o.softcap !== undefined ? { softcap: o.softcap } : {}), ...(o.window ? { window: { left: o.window.left } } : {}) });

/**
 * Decode attention in float64: each sequence is a causal forward problem over its first
 * `length` keys (read through the block table when paged) — the plain loop of
 * attentionForwardRef — and, with `bounds`, the forward's per-element bounds for a kernel that
 * splits the keys over workgroups and combines the partials (splitCombine). Invalid
 * sequences: NaN. A sequence of length 0: every row sees nothing (o = 0, lse = −∞ or the sink).
 */
export function decodeRef(dm: DecodeDims, i: DecodeInputs, o: DecodeOptions, withBounds: boolean) {
  const oLen = dm.t * dm.hq * dm.dv;
  const lLen = dm.hq * dm.t;
  const out = new Float64Array(dm.batch * oLen);
  const lse = new Float64Array(dm.batch * lLen);
  const bo = new Float64Array(out.length);
  const bl = new Float64Array(lse.length);
  const fo = forwardOptions(o);
  for (let b = 0; b < dm.batch; b++) {
    if (!sequenceValid(dm, i, b)) {
      out.fill(NaN, b * oLen, (b + 1) * oLen);
      lse.fill(NaN, b * lLen, (b + 1) * lLen);
      continue;
    }
    const len = i.lengths.data[b];
    if (len === 0) {
      for (let h = 0; h < dm.hq; h++) lse.fill(i.sinks ? i.sinks.data[h] : -Infinity, b * lLen + h * dm.t, b * lLen + (h + 1) * dm.t);
      continue;
    }
    const p = sequenceProblem(dm, i, b, len);
    const fdm = attnDims('decode_attention', 'bshd', p.q, p.k, p.v);
    const r = attentionForwardRef({ ...p, sinks: i.sinks }, fo, fdm);
    out.set(r.o, b * oLen);
    lse.set(r.lse, b * lLen);
    if (withBounds) {
      const bd = attentionForwardBounds({ ...p, sinks: i.sinks }, fo, fdm, r.lay, { o: r.o, lse: r.lse }, true);
      bo.set(bd.o, b * oLen);
      bl.set(bd.lse, b * lLen);
    }
  }
  return { o: out, lse, bounds: { o: bo, lse: bl } };
}
