import type { DType } from '../../../dtype.js';
import { freqKey, ropeFrequencies } from '../../../ops/rope/frequencies.js';
import { ropeDims, rotaryDimOf, type RopeOpts } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalDispatch, MetalLauncher, MetalTier } from '../launch.js';
import { dtSuffix } from './common.js';

/** msl/rope/rope.metal's `RopeParams`, field for field. */
export const ROPE_PARAMS = defineParams([
  ['tokens', 'u32'],
  ['heads', 'u32'],
  ['seq', 'u32'],
  ['d', 'u32'],
  ['rd', 'u32'],
  ['pair0', 'u32'],
  ['pairs', 'u32'],
  ['pass', 'u32'],
  ['pos_bstride', 'u32'],
  ['offset', 'i32'],
  ['mscale', 'f32'],
  ['heads_k', 'u32'],
]);

/** Table entries per dispatch: the table goes in by setBytes, which Metal limits to 4 KiB. */
export const ROPE_TABLE_MAX = 1024;
const TABLES_MAX = 32;

/**
 * Inverse-frequency tables (computed in float64 by ropeFrequencies, rounded to f32), keyed by
 * the frequency options; most recently used last. Host data only, so nothing to release.
 * Exported for the kernels that rotate as rope does (norm_qkv_gemv.ts).
 */
const tables = new Map<string, { inv: Float32Array; attention: number }>();
export function freqTable(o: RopeOpts, rd: number): { inv: Float32Array; attention: number } {
  const key = freqKey(o, rd);
  let hit = tables.get(key);
  if (hit) tables.delete(key);
  else {
    const { inv, attention } = ropeFrequencies(o, rd);
    hit = { inv: Float32Array.from(inv), attention };
    if (tables.size >= TABLES_MAX) tables.delete(tables.keys().next().value!);
  }
  tables.set(key, hit);
  return hit;
}

/**
 * rope and rope_backward (msl/rope/rope.metal): one threadgroup per token, its heads sharing
 * each cos/sin; the f32 inverse-frequency table at [[buffer(1)]] by setBytes, in pair ranges
 * of ≤ 1024 entries (one dispatch each — every real head dim needs one). Metal 3 only: an
 * elementwise rotation has nothing for Metal 4's tensor ops to do, so no metal4 kernel exists.
 * The optional second tensor (k / dk) goes in the same dispatch (function constant has_k,
 * [[buffer(5)]] → [[buffer(6)]]): a token's threadgroup covers q's heads, then k's. When one
 * of the two has no heads the other runs alone, as a plain call.
 */
function ropeLauncher(xName: 'x' | 'dy', yName: 'y' | 'dx', kName: 'k' | 'dk', ykName: 'yk' | 'dxk', backward: boolean): MetalLauncher {
  return {
    tiers: (_dtype: DType): MetalTier[] => ['metal3'],
    launch(ctx, _tier, i, o: RopeOpts, outs) {
      const xIn: Tensor = i[xName];
      const kIn: Tensor | undefined = i[kName];
      const positions: Tensor | undefined = i.positions;
      const { b, s, d } = ropeDims(xIn.shape);
      const rd = rotaryDimOf(o, d);
      const yOut = ctx.output(outs[yName]);
      const ykOut: Tensor | undefined = kIn ? ctx.output(outs[ykName]) : undefined;
      const result = { [yName]: yOut, ...(ykOut ? { [ykName]: ykOut } : {}) };
      // q's heads then k's; an empty one of the two drops out (the other is then `x`).
      const parts = [
        { x: xIn, y: yOut, heads: ropeDims(xIn.shape).h },
        ...(kIn && ykOut ? [{ x: kIn, y: ykOut, heads: ropeDims(kIn.shape).h }] : []),
      ].filter((pt) => pt.heads > 0);
      const tokens = b * s;
      if (tokens === 0 || d === 0 || !parts.length) return result;
      const [{ x, y, heads: h }, second] = parts;
      const heads = h + (second?.heads ?? 0);
      const table = freqTable(o, rd);
      const fn = `rope_${backward ? 'backward_' : ''}${o.style === 'neox' ? 'neox' : 'gptj'}_${dtSuffix(x.dtype)}`;
      const half = rd / 2;
      // At least one dispatch, even with rd = 0 pairs (then it only copies).
      for (let p0 = 0; p0 === 0 || p0 < half; p0 += ROPE_TABLE_MAX) {
        const pairs = Math.min(ROPE_TABLE_MAX, half - p0);
        const pass = p0 === 0 && d > rd;
        const units = pairs + (pass ? d - rd : 0);
        if (units === 0) continue;
        const tg = heads * units >= 256 ? 256 : heads * units >= 128 ? 128 : 64;
        // setBytes needs ≥ 4 bytes; an empty range still binds one float.
        const tab = pairs > 0 ? table.inv.slice(p0, p0 + pairs) : new Float32Array(1);
        const dispatch: MetalDispatch = {
          library: 'rope/rope.metal',
          fn,
          constants: [
            { index: 0, type: 'bool', value: !!positions },
            { index: 1, type: 'bool', value: !!second },
          ],
          buffers: [
            { index: 0, tensor: x },
            { index: 2, tensor: y },
          ],
          bytes: [
            { index: 1, data: tab.buffer as ArrayBuffer },
            {
              index: 4,
              data: packParams(ROPE_PARAMS, {
                tokens,
                heads: h,
                seq: s,
                d,
                rd,
                pair0: p0,
                pairs,
                pass: pass ? 1 : 0,
                pos_bstride: positions && positions.shape.length === 2 ? s : 0,
                offset: o.offset,
                mscale: table.attention,
                heads_k: second?.heads ?? 0,
              }),
            },
          ],
          grid: [tokens, 1, 1],
          threadgroup: [tg, 1, 1],
        };
        if (positions) dispatch.buffers.push({ index: 3, tensor: positions });
        if (second) dispatch.buffers.push({ index: 5, tensor: second.x }, { index: 6, tensor: second.y });
        ctx.dispatch(dispatch);
      }
      return result;
    },
  };
}

export const ropeMetalLauncher = ropeLauncher('x', 'y', 'k', 'yk', false);
export const ropeBackwardMetalLauncher = ropeLauncher('dy', 'dx', 'dk', 'dxk', true);
