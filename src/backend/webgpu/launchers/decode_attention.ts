import { benchStage } from '../tuning.js';
import { BYTES } from '../../../dtype.js';
import { envFlag } from '../../../env_flag.js';
import { OptionsError } from '../../../errors.js';
import { decodeDims, type DecodeDims } from '../../../ops/decode_attention/dims.js';
import type { DecodeOptions } from '../../../ops/decode_attention/options.js';
import { kernelScore, UNBOUNDED } from '../../../ops/flash_attention_forward/options.js';
import type { TensorInfo } from '../../../ops/types.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';
import { dtCode } from '../pipelines.js';
import { decodeVariant, streamPlan, type StreamPlan } from './decode_plan.js';

/** Params of wgsl/attention/decode_params.wgsl. */
export const DECODE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['blocks', 'u32'],
  ['splits', 'u32'],
  ['split_len', 'u32'],
  ['groups', 'u32'],
  ['groups_x', 'u32'],
  ['batches', 'u32'],
  ['t', 'u32'],
  ['hq', 'u32'],
  ['hkv', 'u32'],
  ['group', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['paged', 'u32'],
  ['smax', 'u32'],
  ['block_size', 'u32'],
  ['num_blocks', 'u32'],
  ['max_blocks', 'u32'],
  ['capacity', 'u32'],
  ['q_base', 'u32'],
  ['k_base', 'u32'],
  ['v_base', 'u32'],
  ['len_base', 'u32'],
  ['table_base', 'u32'],
  ['part_base', 'u32'],
  ['rec_words', 'u32'],
  ['o_base', 'u32'],
  ['lse_base', 'u32'],
  ['sink_base', 'u32'],
  ['has_sinks', 'u32'],
  ['has_cap', 'u32'],
  ['left', 'i32'],
  ['scale', 'f32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
]);

/** Subgroups of the 'subgroups' tier: the adapter's smallest size, or undefined (then the portable reduction runs). */
function subgroupMin(ctx: LaunchContext, tier: WebGpuTier): number | undefined {
  if (tier !== 'subgroups') return undefined;
  const min = ctx.adapter.subgroupMinSize;
  return min !== undefined && min >= 1 ? min : undefined;
}

/**
 * decode_attention on WebGPU ('subgroups', 'portable'): decode_stream.wgsl per (row block,
 * split, kv head, sequence) streams the cache and writes the split's partials into an f32
 * scratch, decode_reduce.wgsl per (sequence, head, token) combines them — or, when the plan
 * has one split, decode_stream finishes the rows itself (DIRECT: one dispatch). Chunked by whole
 * sequences within maxStorageBufferBindingSize; a paged cache is bound whole (any sequence may
 * use any block), so it must fit one binding. `force` pins plan fields (tests).
 */
export function launchDecode(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, o: DecodeOptions, outs: Record<string, TensorInfo>, force: Partial<StreamPlan> = {}): Record<string, Tensor> {
  const dm = decodeDims('decode_attention', i.q, i.kCache, i.vCache, i.lengths, i.blockTable);
  const out = ctx.output(outs.o);
  const lse = ctx.output(outs.lse);
  if (dm.batch * dm.t === 0) return { o: out, lse };
  const plan = streamPlan(dm, i.q.dtype, { storage: ctx.limits.maxComputeWorkgroupStorageSize, invocations: ctx.limits.maxComputeInvocationsPerWorkgroup }, subgroupMin(ctx, tier), decodeVariant(), force);
  const recWords = 1 + dm.dv / 4;
  const e = BYTES[i.q.dtype];
  const perSeq = Math.max(dm.t * dm.hq * Math.max(dm.d, dm.dv) * e, dm.paged ? 0 : dm.hkv * dm.smax * Math.max(dm.d, dm.dv) * e, dm.hq * dm.t * plan.splits * recWords * 16);
  if (dm.paged) rowChunks(ctx, 1, dm.numBlocks * dm.blockSize * dm.hkv * Math.max(dm.d, dm.dv) * e);
  // One split: the stream kernel finishes the rows itself (DIRECT), no partials.
  const part = plan.splits > 1 ? ctx.output({ dtype: 'f32', shape: [dm.batch * dm.hq * dm.t * plan.splits * recWords * 4] }) : undefined;
  for (const [b0, b1] of rowChunks(ctx, dm.batch, perSeq)) run(ctx, dm, o, i, { out, lse, part }, plan, b0, b1);
  part?.dispose();
  return { o: out, lse };
}

export const decodeAttentionLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch: (ctx, tier, i, o: DecodeOptions, outs) => launchDecode(ctx, tier, i, o, outs, pinnedPlan()),
};

/**
 * PMETAL_DECODE_PIN (bench --variants only): plan fields pinned, e.g. `u=1,splits=17` — every
 * pin gives correct results (the tests pin the same fields), the timing tells which plan a
 * shape wants.
 */
function pinnedPlan(): Partial<StreamPlan> {
  const v = typeof process !== 'undefined' ? process.env.PMETAL_DECODE_PIN : undefined;
  if (!v) return {};
  const out: Record<string, number> = {};
  for (const kv of v.split(',')) {
    const [k, x] = kv.split('=');
    if (!['u', 'splits', 'tl', 'rb', 'wg'].includes(k) || !/^[1-9][0-9]*$/.test(x ?? '')) throw new OptionsError(`[decode_attention] PMETAL_DECODE_PIN: expected k=n pairs of u, splits, tl, rb, wg, got '${v}'`);
    out[k] = Number(x);
  }
  return out as Partial<StreamPlan>;
}

/**
 * Whether decode_stream.wgsl's loops over rows, keys in flight and words are unrolled by the
 * preprocessor (#for; per-row arrays then indexed by constants, kept in registers) or left
 * as WGSL loops (ROLL_FOR). PMETAL_DECODE_UNROLL=0|1, read at each launch; by default
 * unrolled except on a software adapter, where llvmpipe takes ~15 s to compile a 4-row plan
 * unrolled (the same body, so the tests there check the arithmetic the GPU runs).
 */
export function decodeUnroll(ctx: Pick<LaunchContext, 'adapter'>): boolean {
  return envFlag('decode_attention', 'PMETAL_DECODE_UNROLL', !ctx.adapter.software);
}

/**
 * Whether decode_stream.wgsl loads a step's keys before the previous step's are used
 * (PREFETCH: a register double buffer, so each lane keeps its next K/V words in flight while
 * it scores the current ones — what the flash-attention forward's tile prefetch gained in run
 * S11, here without more keys a step and so without more unrolled code).
 * PMETAL_DECODE_PREFETCH=0|1, read at each launch; off by default: run S13 on the H100 (B 16,
 * 8192 keys, D 128) took 0.477 ms with it against 0.439 without — more registers a lane, fewer
 * workgroups an SM — while the loads alone (stage 4) take 0.198, so the limit is the per-key
 * arithmetic, which this does not shorten (`bench --variants --op decode_attention`).
 */
export function decodePrefetch(): boolean {
  return envFlag('decode_attention', 'PMETAL_DECODE_PREFETCH', false);
}

function run(ctx: LaunchContext, dm: DecodeDims, o: DecodeOptions, i: Record<string, Tensor>, t: { out: Tensor; lse: Tensor; part?: Tensor }, plan: StreamPlan, b0: number, b1: number): void {
  const nb = b1 - b0;
  const recWords = 1 + dm.dv / 4;
  const perRec = dm.hq * dm.t * plan.splits * recWords * 4;
  const qw = windowOf(ctx, i.q, 0, b0 * dm.t * dm.hq * dm.d, nb * dm.t * dm.hq * dm.d);
  const kvSpan = (hd: number) => dm.hkv * dm.smax * hd;
  const kw = dm.paged ? windowOf(ctx, i.kCache, 1, 0, i.kCache.size) : windowOf(ctx, i.kCache, 1, b0 * kvSpan(dm.d), nb * kvSpan(dm.d));
  const vw = dm.paged ? windowOf(ctx, i.vCache, 2, 0, i.vCache.size) : windowOf(ctx, i.vCache, 2, b0 * kvSpan(dm.dv), nb * kvSpan(dm.dv));
  const lw = windowOf(ctx, i.lengths, 3, b0, nb);
  // Contiguous caches have no table: the lengths stand in (never read then).
  const tw = dm.paged ? windowOf(ctx, i.blockTable, 4, b0 * dm.maxBlocks, nb * dm.maxBlocks) : { b: { ...lw.b, binding: 4 }, base: 0 };
  const pw = t.part ? windowOf(ctx, t.part, 5, b0 * perRec, nb * perRec) : undefined;
  const ow = windowOf(ctx, t.out, 6, b0 * dm.t * dm.hq * dm.dv, nb * dm.t * dm.hq * dm.dv);
  const lsw = windowOf(ctx, t.lse, 7, b0 * dm.hq * dm.t, nb * dm.hq * dm.t);
  // Absent sinks: the lengths stand in (never read then).
  const sinkAt = (binding: number) => (i.sinks ? windowOf(ctx, i.sinks, binding, 0, dm.hq) : { b: { ...lw.b, binding }, base: 0 });
  const common = {
    rows: dm.t * dm.group,
    blocks: plan.blocks,
    splits: plan.splits,
    split_len: plan.len,
    batches: nb,
    t: dm.t,
    hq: dm.hq,
    hkv: dm.hkv,
    group: dm.group,
    d: dm.d,
    dv: dm.dv,
    paged: dm.paged ? 1 : 0,
    smax: dm.smax,
    block_size: dm.blockSize,
    num_blocks: dm.numBlocks,
    max_blocks: dm.maxBlocks,
    capacity: dm.capacity,
    q_base: qw.base,
    k_base: kw.base,
    v_base: vw.base,
    len_base: lw.base,
    table_base: tw.base,
    part_base: pw ? pw.base / 4 : 0,
    rec_words: recWords,
    o_base: 0,
    lse_base: 0,
    sink_base: 0,
    has_sinks: i.sinks ? 1 : 0,
    has_cap: o.softcap === undefined ? 0 : 1,
    left: o.window?.left ?? UNBOUNDED,
    ...kernelScore(o, dm.d),
  };
  const dt = dtCode(i.q.dtype);
  // Bench only (wrong results): the stage-by-stage ceiling of a step. 1: the stream kernel
  // returns at once; 2: it skips the key loop; 3: the reduce is not dispatched; 4: the keys
  // are loaded but neither scored nor weighed (the loads' own ceiling).
  const stage = benchStage('PMETAL_BENCH_DECODE_STAGE', [1, 2, 3, 4]);
  const groups1 = plan.blocks * plan.splits * dm.hkv * nb;
  const g1 = grid(ctx, groups1);
  const direct = !pw;
  const sd = direct ? sinkAt(9) : undefined;
  const outs = sd ? [ow.b, lsw.b, sd.b] : [pw!.b];
  const ends = sd ? { o_base: ow.base, lse_base: lsw.base, sink_base: sd.base } : {};
  ctx.rt.dispatch({
    pipeline: { shader: 'attention/decode_stream.wgsl', defines: { Q_DT: dt, WG: plan.wg, TL: plan.tl, NW: plan.nw, NWV: plan.nwv, RB: plan.rb, U: plan.u, SUBGROUPS: plan.subgroups, ROLL_FOR: !decodeUnroll(ctx), PREFETCH: decodePrefetch(), DIRECT: direct, ...(stage === 1 || stage === 2 || stage === 4 ? { STAGE: stage } : {}) } },
    bindings: [qw.b, kw.b, vw.b, lw.b, tw.b, ...outs],
    params: { binding: 8, data: packParams(DECODE_PARAMS, { ...common, ...ends, groups: groups1, groups_x: g1.groupsX }) },
    workgroups: g1.workgroups,
  });
  if (stage === 3 || direct) return;
  const sw = sinkAt(0);
  const groups = nb * dm.hq * dm.t;
  const g2 = grid(ctx, groups);
  ctx.rt.dispatch({
    // COLS: invocations a split's record (a power of two ≥ Dv/4 words); the rest of the 256 take other splits.
    pipeline: { shader: 'attention/decode_reduce.wgsl', defines: { Q_DT: dt, COLS: 2 ** Math.ceil(Math.log2(dm.dv / 4)) } },
    bindings: [sw.b, lw.b, tw.b, pw!.b, ow.b, lsw.b],
    params: { binding: 8, data: packParams(DECODE_PARAMS, { ...common, o_base: ow.base, lse_base: lsw.base, sink_base: sw.base, groups, groups_x: g2.groupsX }) },
    workgroups: g2.workgroups,
  });
}
