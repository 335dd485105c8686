import type { DType } from '../../../dtype.js';
import { TierUnavailableError } from '../../../errors.js';
import { attnDims, kernelGeometry, type AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalContext, MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';
import { FA_METAL_PARAMS, flashAttentionForwardMetalLauncher } from './flash_attention.js';

/** FaBwdParams in msl/attention/fa_bwd.h: FaParams' fields, then the tiles. */
export const FA_BWD_METAL_PARAMS = defineParams([...FA_METAL_PARAMS, ['bk', 'u32'], ['bq', 'u32']]);

const LIB = 'attention/flash_attention_backward.metal';
/** The Metal 4 kernels (their prep and dsink are the Metal 3 library's: no product in them). */
const LIB4_DQ = 'attention/fa_bwd_dq_mpp.metal';
const LIB4_DKV = 'attention/fa_bwd_dkv_mpp.metal';
/** The Metal 4 kernels' tiles: rows and keys per block (32 each), threads (4 SIMD-groups). */
export const FA4_BWD_TILE = { B: 32, threads: 128 } as const;
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
 * Why the Metal 4 backward kernels cannot take these head dims, or undefined when they can:
 * every product reduces over whole 32-deep slices (D and Dv multiples of 32: the accelerator
 * matmul is wrong on a partial slice), and a whole 32 × D (dq, dk) or 32 × Dv (dv) block of
 * operands fits beside the tiles in threadgroup memory — D, Dv ≤ 128 where the products
 * multiply in f32 (f32, bf16), ≤ 256 in f16.
 */
export function fa4BwdUnsupported(dtype: DType, d: number, dv: number): string | undefined {
  const max = dtype === 'f16' ? 256 : 128;
  for (const [name, x] of [['D', d], ['Dv', dv]] as const) {
    if (x % 32 !== 0 || x > max) return `${name} a multiple of 32 up to ${max} for ${dtype}, got ${name}=${x}`;
  }
  return undefined;
}

/**
 * flash_attention_backward on Metal: the prep ((lse, D) scratch), dq, dk, dv and, with sinks,
 * dsinks — whole buffers, one dispatch each (Metal has no binding-size limit to chunk for).
 * 'metal3': msl/attention/flash_attention_backward.metal (SIMT); 'metal4' (a chip with Metal 4
 * and neural accelerators): dq, dk, dv on the MPP tile matmul (fa_bwd_dq_mpp.metal,
 * fa_bwd_dkv_mpp.metal) — the router takes it whenever fa4BwdUnsupported allows; a forced
 * metal4 it cannot take is refused here.
 */
export const flashAttentionBackwardMetalLauncher: MetalLauncher = {
  tiers: (d, chip) => flashAttentionForwardMetalLauncher.tiers(d, chip),
  launch(ctx, tier, i, o: AttentionOptions, outs) {
    const dm = attnDims('flash_attention_backward', o.layout, i.q, i.k, i.v, i.cuSeqlensQ, i.cuSeqlensK);
    if (tier === 'metal4') {
      if (!(ctx.chip.metal4 && ctx.chip.hasNax)) {
        throw new TierUnavailableError(`[flash_attention_backward] tier 'metal4' needs a chip with Metal 4 and neural accelerators; ${ctx.chip.name} has ${ctx.chip.metal4 ? 'no neural accelerators' : 'no Metal 4'}`);
      }
      const why = fa4BwdUnsupported(i.q.dtype, dm.d, dm.dv);
      if (why) throw new TierUnavailableError(`[flash_attention_backward] tier 'metal4' needs ${why}; use tier 'metal3'`);
    }
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
    const io: [number, Tensor][] = [[0, i.q], [1, i.k], [2, i.v], [3, i.dO], [4, ld]];
    run.go(LIB, `fa_bwd_prep_${t}`, [[0, i.o], [3, i.dO], [4, i.lse], [5, ld]], { rows }, [Math.ceil(lseLen / 64), 1, 1], 64);
    if (tier === 'metal4') {
      const { B, threads } = FA4_BWD_TILE;
      run.go(LIB4_DQ, `fa_bwd_dq_mpp_${t}_d${dm.d}`, [...io, [5, dq]], { rows }, [Math.ceil(rows / B), dm.hkv, nb], threads);
      run.go(LIB4_DKV, `fa_bwd_dk_mpp_${t}_d${dm.d}`, [...io, [5, dk]], { rows }, [Math.ceil(dm.sk / B), dm.hkv, nb], threads);
      run.go(LIB4_DKV, `fa_bwd_dv_mpp_${t}_d${dm.dv}`, [...io, [5, dv]], { rows }, [Math.ceil(dm.sk / B), dm.hkv, nb], threads);
    } else {
      const qt = dqTiles(dm.d, dm.dv);
      run.go(LIB, `fa_bwd_dq_${t}_c${cpw(dm.d)}`, [...io, [5, dq]], { rows, bk: qt.bk, bq: qt.bq }, [Math.ceil(rows / qt.bq), dm.hkv, nb], 8 * qt.bq, 4 * (qt.bk * (dm.d + dm.dv) + qt.bq * qt.bk));
      for (const [fn, out, withV, dim] of [['dk', dk, true, dm.d], ['dv', dv, false, dm.dv]] as const) {
        const kt = dkvTiles(dm.d, dm.dv, withV);
        run.go(LIB, `fa_bwd_${fn}_${t}_c${cpw(dim)}`, [...io, [5, out]], { rows, bk: kt.bkv, bq: kt.bq }, [Math.ceil(dm.sk / kt.bkv), dm.hkv, nb], 8 * kt.bkv, 4 * (kt.bkv * (dm.d + (withV ? dm.dv : 0)) + kt.bkv * kt.bq));
      }
    }
    if (dsinks) run.go(LIB, 'fa_bwd_dsink', [[0, i.sinks], [4, ld], [5, dsinks]], { rows }, [dm.hq, 1, 1], 128);
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

  go(library: string, fn: string, bufs: [number, Tensor][], p: { rows: number; bk?: number; bq?: number }, grid: [number, number, number], threads: number, tgBytes?: number): void {
    const { dm, o, i } = this;
    const buffers = bufs.map(([index, tensor]) => ({ index, tensor }));
    if (dm.varlen) buffers.push({ index: 6, tensor: i.cuSeqlensQ }, { index: 7, tensor: i.cuSeqlensK });
    this.ctx.dispatch({
      library,
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
