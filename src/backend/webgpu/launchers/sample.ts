import { benchStage, launcherVariant } from '../tuning.js';
import { BYTES } from '../../../dtype.js';
import { EXP2_TABLE } from '../../../ops/sample/weights.js';
import type { SampleOptions } from '../../../ops/sample/reference.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { reductionTiers, type Launcher } from '../launch.js';

/** Both sampler kernels' Params (wgsl/sample/sample_common.wgsl). */
export const SAMPLE_PARAMS = defineParams([
  ['b', 'u32'],
  ['v', 'u32'],
  ['zero', 'u32'],
  ['topn', 'u32'],
  ['nc', 'u32'],
  ['pair_base', 'u32'],
]);
/** Logits per sample_chunk workgroup, and the largest top-k the candidate path serves (CHUNK, KC in sample_common.wgsl). */
export const SAMPLE_CHUNK = 4096;
export const SAMPLE_KC = 256;
/** Words of a chunk's record in the candidate scratch (REC_WORDS in sample_common.wgsl). */
export const SAMPLE_REC_WORDS = 16;
/** Words of sample_mass's record per chunk (MASS_WORDS in sample_common.wgsl: weights per bin, bin offsets, slots). */
export const SAMPLE_MASS_WORDS = 2796;

/**
 * PMETAL_SAMPLE_VARIANT (read at each launch; all variants are exact, only their speed differs;
 * `pmetal bench --op sample --variants` times them):
 *   ranked (default)     sample_chunk bounds its c-th key by one histogram of its invocations'
 *                        maxima (as bound), ranks the keys ≥ the bound (typically c plus a
 *                        few) by counting in workgroup memory and writes its first c in the
 *                        order (key desc, id asc) — radix rounds only when ties put over 256
 *                        keys at the bound; sample_select bounds the row's c-th key by L, the
 *                        c-th largest of the lists' first J entries (J = min(256 / chunks, c):
 *                        8 at 32 chunks), gathers each list's prefix ≥ L (typically c tokens in
 *                        all, one read) and ranks them by counting — the radix merge only when
 *                        over 256 survive (ties at L) or a row has over 256 chunks. Per fast
 *                        row: 256 workgroup atomics a chunk instead of 4 rounds over 4096
 *                        keys, one pass over ~c candidates instead of six over c · chunks.
 *                        The default by that count of work; not yet timed on the H100;
 *   plain                no prefilter (every key into the first histogram). Run S9 on the H100
 *                        (call C, f16, top-k 50 + top-p 0.9): 0.065 / 0.066 ms at B = 1 and
 *                        0.100 / 0.111 at B = 32 (V = 128256 / 151936), the fastest of the four
 *                        but for B = 32 at V = 128256, where bound took 0.094;
 *   bound                sample_chunk keeps every key ≥ a bound from one histogram of its
 *                        invocations' maxima (no refinement rounds when ≤ 256 of them) and
 *                        writes 8 group maxima; sample_select bounds the row's c-th key by
 *                        the c-th largest group maximum, keeps the candidates above it (one
 *                        read) and ranks them by counting — no radix rounds on either side
 *                        unless ties overflow 256 slots (then the radix passes below);
 *   prefilter            sample_chunk bounds the c-th key by its invocations' maxima first, so
 *                        its radix histograms see a few keys, not 4096 (contended atomics);
 *                        sample_select runs 256 invocations when a topK tensor is given (rows
 *                        then mostly draw from ≤ 256 candidates), else up to 1024 (rows draw
 *                        over the whole vocabulary, bound by loads in flight);
 *   wide                 prefilter, and sample_select always as wide as the adapter allows.
 */
export const SAMPLE_VARIANTS = ['ranked', 'plain', 'bound', 'prefilter', 'wide'] as const;
export type SampleVariant = (typeof SAMPLE_VARIANTS)[number];
export function sampleVariant(v?: string): SampleVariant {
  return launcherVariant('webgpu', 'PMETAL_SAMPLE_VARIANT', SAMPLE_VARIANTS, v);
}

/** bench's stage switch of sample_chunk.wgsl (PMETAL_BENCH_SAMPLE_STAGE 1–2; 0 = the kernel). Wrong tokens otherwise: never set it outside the bench. */
export const sampleStage = (): number => benchStage('PMETAL_BENCH_SAMPLE_STAGE', [1, 2]);

const f32Bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];

/**
 * The per-row option segments of the packed buffer (SEG_* in sample_common.wgsl), each B words
 * (seeds 2B), and the value an absent tensor stands for.
 */
export const SAMPLE_SEGMENTS: [string, number, number][] = [
  ['temperature', 0, f32Bits(1)],
  ['topK', 1, 0],
  ['topP', 2, f32Bits(1)],
  ['minP', 3, 0],
  ['repetitionPenalty', 4, f32Bits(1)],
  ['presencePenalty', 5, 0],
  ['frequencyPenalty', 6, 0],
  ['offsets', 7, 0],
  ['seeds', 8, 0],
];
const TABLE = 768;

/**
 * sample: the per-row option tensors are copied (after an upload of the exp2 table and the
 * defaults) into one buffer; sample_chunk.wgsl — a workgroup per 4096 logits of a row —
 * writes each chunk's record and exact top-c candidates (and the keys of rows drawn over the
 * whole vocabulary); sample_mass.wgsl — the same grid — bins the weights of rows without
 * top-k per chunk (other rows' workgroups read their row's options and return, no barrier);
 * sample_select.wgsl — a workgroup per row — merges them and picks the tokens. Three
 * dispatches whatever the tensors hold: the host cannot see a device topK tensor, so sample_mass
 * is launched even when no row needs it — unless the caller says so (rowsWithoutTopK: false;
 * then two). 'subgroups' takes the max and sum reductions through subgroups.
 */
export const sampleLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o: SampleOptions, outs) {
    const x: Tensor = i.logits;
    const [b, v] = x.shape;
    const lim = ctx.limits;
    const variant = sampleVariant();
    const bound = variant === 'bound';
    const ranked = variant === 'ranked';
    const nc = Math.ceil(v / SAMPLE_CHUNK);
    // The caller promised no sampled row lacks a top-k: no weight-bin pass (NO_MASS).
    const noMass = o.rowsWithoutTopK === false;
    if (b > lim.maxComputeWorkgroupsPerDimension) throw new RangeError(`[sample] ${b} rows exceed maxComputeWorkgroupsPerDimension (${lim.maxComputeWorkgroupsPerDimension})`);
    if (nc > lim.maxComputeWorkgroupsPerDimension) throw new RangeError(`[sample] ${nc} chunks of a row exceed maxComputeWorkgroupsPerDimension (${lim.maxComputeWorkgroupsPerDimension})`);
    for (const [name, t] of Object.entries(i)) {
      if (t.size * BYTES[t.dtype] > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] ${name}: ${t.size * BYTES[t.dtype]} bytes exceed maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);
    }
    const keyWords = b * v;
    if (keyWords * 4 > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] the ${b}×${v} key scratch exceeds maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);
    // cand: SAMPLE_REC_WORDS of record per chunk, then KC (key, id) pairs per chunk.
    const pairBase = SAMPLE_REC_WORDS * b * nc;
    const candWords = pairBase + 2 * SAMPLE_KC * b * nc;
    if (candWords * 4 > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] the ${b}×${nc}-chunk candidate scratch exceeds maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);

    // mass: sample_mass's per-chunk bins for rows without top-k (the `open` rows).
    const massWords = SAMPLE_MASS_WORDS * b * nc;
    if (!noMass && massWords * 4 > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] the ${b}×${nc}-chunk weight-bin scratch exceeds maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);

    const optWords = TABLE + 10 * b;
    const init = new Uint32Array(optWords);
    init.set(EXP2_TABLE);
    for (const [name, seg, dflt] of SAMPLE_SEGMENTS) if (!i[name]) init.fill(dflt, TABLE + seg * b, TABLE + (seg + 1) * b);
    const rowopts = ctx.rt.createBuffer(optWords * 4);
    ctx.rt.upload(rowopts, init);
    // Every option tensor is 4-byte words: a buffer copy packs it, no dispatch needed.
    for (const [name, seg] of SAMPLE_SEGMENTS) {
      const t: Tensor | undefined = i[name];
      if (t) ctx.rt.copy(ctx.buffer(t), 0, rowopts, (TABLE + seg * b) * 4, t.size * 4);
    }

    const keys = ctx.rt.createBuffer(keyWords * 4);
    const cand = ctx.rt.createBuffer(candWords * 4);
    const params = packParams(SAMPLE_PARAMS, { b, v, zero: 0, topn: o.topLogprobs, nc, pair_base: pairBase });
    const bind = (binding: number, buffer: GPUBuffer): Binding => ({ binding, buffer });
    // Rows start 16-byte aligned: each invocation's 16 logits in 16-byte loads.
    const vec = v % (16 / BYTES[x.dtype]) === 0;
    const pass1: Binding[] = [bind(0, ctx.buffer(x)), bind(1, keys), bind(2, rowopts), bind(6, cand)];
    if (i.logitBias) pass1.push(bind(3, ctx.buffer(i.logitBias)));
    if (i.counts) pass1.push(bind(4, ctx.buffer(i.counts)));
    ctx.rt.dispatch({
      pipeline: { shader: 'sample/sample_chunk.wgsl', defines: { X_DT: dtCode(x.dtype), HAS_BIAS: !!i.logitBias, HAS_COUNTS: !!i.counts, SUBGROUPS: tier === 'subgroups', VEC: vec, NO_MASS: noMass, PREFILTER: variant === 'prefilter' || variant === 'wide', BOUND: bound, RANKED: ranked, STAGE: sampleStage() }, overrides: { WG: 256 } },
      bindings: pass1,
      params: { binding: 5, data: params },
      workgroups: [nc, b],
    });

    // Rows without top-k: each chunk's weights per bin and its tokens grouped by bin — unless
    // the caller said there are none (NO_MASS: such a row takes the full path instead).
    const mass = ctx.rt.createBuffer(noMass ? 4 : massWords * 4);
    if (!noMass) {
      ctx.rt.dispatch({
        pipeline: { shader: 'sample/sample_mass.wgsl', defines: { SUBGROUPS: tier === 'subgroups' }, overrides: { WG: 256 } },
        bindings: [bind(1, keys), bind(2, rowopts), bind(3, cand), bind(4, mass)],
        params: { binding: 5, data: params },
        workgroups: [nc, b],
      });
    }

    // A row's full-vocabulary passes are bound by loads in flight in one workgroup: as many
    // invocations as the adapter allows, up to 1024 (256 is every adapter's minimum). Rows with
    // a top-k draw from ≤ 256 candidates, where fewer invocations mean cheaper barriers.
    const narrow = !!i.topK && variant !== 'wide';
    let wg = narrow ? 256 : Math.max(256, Math.min(1024, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX));
    // sample_select's workgroup memory: 2 KiB of histograms, 3 KiB of merged candidates, at most
    // 32 bytes per invocation (seven WG-word arrays and the subgroup totals), small state, and
    // the gathered set (CAP ids and CAP keys, CAP 64 to 2048). Halved down to fit the adapter's limit.
    // BOUND adds the row's group maxima (GMAX words), RANKED the id order and ranks (2·KC words).
    const fixed = (w: number) => 2048 + 3072 + 32 * w + 256 + (bound || ranked ? 2048 : 0);
    while (wg > 256 && fixed(wg) + 8 * 64 > lim.maxComputeWorkgroupStorageSize) wg /= 2;
    let cap = 2048;
    while (cap > 64 && fixed(wg) + 8 * cap > lim.maxComputeWorkgroupStorageSize) cap /= 2;
    const tokens = ctx.output(outs.tokens);
    const logprobs = ctx.output(outs.logprobs);
    const pass2: Binding[] = [bind(1, keys), bind(2, rowopts), bind(3, cand), bind(4, mass), bind(6, ctx.buffer(tokens)), bind(7, ctx.buffer(logprobs))];
    const res: Record<string, Tensor> = { tokens, logprobs };
    if (o.topLogprobs > 0) {
      res.topIds = ctx.output(outs.topIds);
      res.topLogprobs = ctx.output(outs.topLogprobs);
      pass2.push(bind(8, ctx.buffer(res.topIds)), bind(9, ctx.buffer(res.topLogprobs)));
    }
    ctx.rt.dispatch({
      pipeline: { shader: 'sample/sample_select.wgsl', defines: { TOPN: o.topLogprobs > 0, NO_MASS: noMass, SUBGROUPS: tier === 'subgroups', BOUND: bound, RANKED: ranked }, overrides: { WG: wg, CAP: cap } },
      bindings: pass2,
      params: { binding: 5, data: params },
      workgroups: [b],
    });
    // Later work in this batch that reuses the buffers is ordered after the reads above.
    ctx.rt.releaseBuffer(rowopts);
    ctx.rt.releaseBuffer(keys);
    ctx.rt.releaseBuffer(cand);
    ctx.rt.releaseBuffer(mass);
    return res;
  },
};
