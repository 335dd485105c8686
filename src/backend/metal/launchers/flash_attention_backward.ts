import { attnDims, kernelGeometry, type AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalContext, MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';
import { FA_METAL_PARAMS } from './flash_attention.js';

/** FaBwdParams in msl/attention/attention.h: FaParams' fields, then the tiles. */
export const FA_BWD_METAL_PARAMS = defineParams([...FA_METAL_PARAMS, ['bk', 'u32'], ['bq', 'u32']]);

const LIB = 'attention/flash_attention_backward.metal';
/** Threadgroup memory: Apple's 32 KiB less the kernels' own arrays (row data, the atomic). */
const TG_BYTES = 32 * 1024 - 1024;
/** Rows per block of the dk/dv kernels at most (FA_BQR). */
const BQR = 32;

/** Words of 8 elements per thread: the kernels' accumulator arrays (fa_bwd_*_c1/c2/c4). */
const cpw = (dim: number) => (dim <= 64 ? 1 : dim <= 128 ? 2 : 4);

/** dq tiles: the most rows (8 threads each), then keys, whose K, V tiles and dX tile fit. */
export function dqTiles(d: number, dv: number): { bq: number; bk: number } {
  for (const [bq, bk] of [[32, 16], [32, 8], [16, 8], [8, 8]] as const) if (4 * (bk * (d + dv) + bq * bk) <= TG_BYTES) return { bq, bk };
  throw new RangeError(`[flash_attention_backward] head dims ${d}/${dv} do not fit the threadgroup memory`);
}

/** dk/dv tiles: keys per threadgroup (8 threads each) with their tile(s) and the P/dX tile of a row block. */
export function dkvTiles(d: number, dv: number, withV: boolean): { bkv: number; bq: number } {
  for (const bkv of [32, 16, 8, 4]) if (4 * (bkv * (d + (withV ? dv : 0)) + bkv * BQR) <= TG_BYTES) return { bkv, bq: BQR };
  throw new RangeError(`[flash_attention_backward] head dims ${d}/${dv} do not fit the threadgroup memory`);
}

/**
 * flash_attention_backward on Metal (msl/attention/flash_attention_backward.metal, metal3):
 * the prep ((lse, D) scratch), dq, dk, dv and, with sinks, dsinks — whole buffers, one
 * dispatch each (Metal has no binding-size limit to chunk for).
 */
export const flashAttentionBackwardMetalLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o: AttentionOptions, outs) {
    const dm = attnDims('flash_attention_backward', o.layout, i.q, i.k, i.v, i.cuSeqlensQ, i.cuSeqlensK);
    const dq = ctx.output(outs.dq);
    const dk = ctx.output(outs.dk);
    const dv = ctx.output(outs.dv);
    const dsinks = outs.dsinks ? ctx.output(outs.dsinks) : undefined;
    const lseLen = dm.lseShape.reduce((a, b) => a * b, 1);
    const ld = ctx.output({ dtype: 'f32', shape: [lseLen, 2] });
    const t = dtSuffix(i.q.dtype);
    const run = new Runner(ctx, dm, o, i);
    const rows = dm.sq * dm.group;
    const nb = dm.varlen ? 1 : dm.batch;
    run.go(`fa_bwd_prep_${t}`, [[0, i.o], [3, i.dO], [4, i.lse], [5, ld]], { rows }, [Math.ceil(lseLen / 64), 1, 1], 64);
    const qt = dqTiles(dm.d, dm.dv);
    run.go(`fa_bwd_dq_${t}_c${cpw(dm.d)}`, [[0, i.q], [1, i.k], [2, i.v], [3, i.dO], [4, ld], [5, dq]], { rows, bk: qt.bk, bq: qt.bq }, [Math.ceil(rows / qt.bq), dm.hkv, nb], 8 * qt.bq, 4 * (qt.bk * (dm.d + dm.dv) + qt.bq * qt.bk));
    for (const [fn, out, withV, dim] of [['dk', dk, true, dm.d], ['dv', dv, false, dm.dv]] as const) {
      const kt = dkvTiles(dm.d, dm.dv, withV);
      run.go(`fa_bwd_${fn}_${t}_c${cpw(dim)}`, [[0, i.q], [1, i.k], [2, i.v], [3, i.dO], [4, ld], [5, out]], { rows, bk: kt.bkv, bq: kt.bq }, [Math.ceil(dm.sk / kt.bkv), dm.hkv, nb], 8 * kt.bkv, 4 * (kt.bkv * (dm.d + (withV ? dm.dv : 0)) + kt.bkv * kt.bq));
    }
    if (dsinks) run.go('fa_bwd_dsink', [[0, i.sinks], [4, ld], [5, dsinks]], { rows }, [dm.hq, 1, 1], 128);
    ld.dispose();
    return { dq, dk, dv, ...(dsinks ? { dsinks } : {}) };
  },
};

/** Dispatches of one call: the shared Params, the cu_seqlens bindings and function constants. */
class Runner {
  constructor(
    private readonly ctx: MetalContext,
    private readonly dm: AttnDims,
    private readonly o: AttentionOptions,
    private readonly i: Record<string, Tensor>,
  ) {}

  go(fn: string, bufs: [number, Tensor][], p: { rows: number; bk?: number; bq?: number }, grid: [number, number, number], threads: number, tgBytes?: number): void {
    const { dm, o, i } = this;
    const buffers = bufs.map(([index, tensor]) => ({ index, tensor }));
    if (dm.varlen) buffers.push({ index: 6, tensor: i.cuSeqlensQ }, { index: 7, tensor: i.cuSeqlensK });
    this.ctx.dispatch({
      library: LIB,
      fn,
      constants: [
        { index: 0, type: 'bool', value: dm.varlen },
        { index: 1, type: 'bool', value: !!i.sinks },
        { index: 2, type: 'bool', value: o.softcap !== undefined },
      ],
      buffers,
      bytes: [
        {
          index: 8,
          data: packParams(FA_BWD_METAL_PARAMS, {
            rows: p.rows,
            batches: dm.batch,
            ...kernelGeometry(dm),
            ...kernelMask(o),
            ...kernelScore(o, dm.d),
            bk: p.bk ?? 0,
            bq: p.bq ?? 0,
          }),
        },
      ],
      ...(tgBytes ? { threadgroupMemory: [{ index: 0, byteLength: tgBytes }] } : {}),
      grid,
      threadgroup: [threads, 1, 1],
    });
  }
}
