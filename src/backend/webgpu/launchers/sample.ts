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
  ['state_base', 'u32'],
]);
export const PACK_PARAMS = defineParams([
  ['count', 'u32'],
  ['src_base', 'u32'],
  ['dst_base', 'u32'],
]);

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
 * sample: the per-row option tensors are packed (pack_words.wgsl, after an upload of the
 * exp2 table and the defaults) into one buffer; sample_logits.wgsl writes every row's order
 * keys and state to a [B·V + 4B] scratch; sample_select.wgsl picks the tokens. One workgroup
 * per row in both (up to 1024 invocations). 'subgroups' reduces phase 1's max and sum through subgroups.
 */
export const sampleLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o: SampleOptions, outs) {
    const x: Tensor = i.logits;
    const [b, v] = x.shape;
    const lim = ctx.limits;
    if (b > lim.maxComputeWorkgroupsPerDimension) throw new RangeError(`[sample] ${b} rows exceed maxComputeWorkgroupsPerDimension (${lim.maxComputeWorkgroupsPerDimension})`);
    for (const [name, t] of Object.entries(i)) {
      if (t.size * BYTES[t.dtype] > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] ${name}: ${t.size * BYTES[t.dtype]} bytes exceed maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);
    }
    const keyWords = b * v + 4 * b;
    if (keyWords * 4 > lim.maxStorageBufferBindingSize) throw new RangeError(`[sample] the ${b}×${v} key scratch exceeds maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);

    const optWords = TABLE + 10 * b;
    const init = new Uint32Array(optWords);
    init.set(EXP2_TABLE);
    for (const [name, seg, dflt] of SAMPLE_SEGMENTS) if (!i[name]) init.fill(dflt, TABLE + seg * b, TABLE + (seg + 1) * b);
    const rowopts = ctx.rt.createBuffer(optWords * 4);
    ctx.rt.upload(rowopts, init);
    for (const [name, seg] of SAMPLE_SEGMENTS) {
      const t: Tensor | undefined = i[name];
      if (!t) continue;
      const count = t.size;
      ctx.rt.dispatch({
        pipeline: { shader: 'sample/pack_words.wgsl', defines: {}, overrides: { WG: 256 } },
        bindings: [
          { binding: 0, buffer: ctx.buffer(t) },
          { binding: 1, buffer: rowopts },
        ],
        params: { binding: 2, data: packParams(PACK_PARAMS, { count, src_base: 0, dst_base: TABLE + seg * b }) },
        workgroups: [Math.ceil(count / 256)],
      });
    }

    // A row is one workgroup, so its passes over V are bound by loads in flight: as many
    // invocations as the adapter allows, up to 1024 (256 is every adapter's minimum).
    let wg = Math.max(256, Math.min(1024, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX));
    // sample_select's workgroup memory: 2 KiB of histograms, three WG-word arrays, small state,
    // and the gathered top-k set (CAP words, at least 64, up to 2048).
    const fixed = (w: number) => 2048 + 12 * w + 512;
    if (fixed(wg) + 4 * 64 > lim.maxComputeWorkgroupStorageSize) wg = 256;
    let cap = 2048;
    while (cap > 64 && fixed(wg) + 4 * cap > lim.maxComputeWorkgroupStorageSize) cap /= 2;
    const keys = ctx.rt.createBuffer(keyWords * 4);
    const params = packParams(SAMPLE_PARAMS, { b, v, zero: 0, topn: o.topLogprobs, state_base: b * v });
    const bind = (binding: number, buffer: GPUBuffer): Binding => ({ binding, buffer });
    const phase1: Binding[] = [bind(0, ctx.buffer(x)), bind(1, keys), bind(2, rowopts)];
    if (i.logitBias) phase1.push(bind(3, ctx.buffer(i.logitBias)));
    if (i.counts) phase1.push(bind(4, ctx.buffer(i.counts)));
    ctx.rt.dispatch({
      pipeline: { shader: 'sample/sample_logits.wgsl', defines: { X_DT: dtCode(x.dtype), HAS_BIAS: !!i.logitBias, HAS_COUNTS: !!i.counts, SUBGROUPS: tier === 'subgroups' }, overrides: { WG: wg } },
      bindings: phase1,
      params: { binding: 5, data: params },
      workgroups: [b],
    });

    const tokens = ctx.output(outs.tokens);
    const logprobs = ctx.output(outs.logprobs);
    const phase2: Binding[] = [bind(1, keys), bind(2, rowopts), bind(6, ctx.buffer(tokens)), bind(7, ctx.buffer(logprobs))];
    const res: Record<string, Tensor> = { tokens, logprobs };
    if (o.topLogprobs > 0) {
      res.topIds = ctx.output(outs.topIds);
      res.topLogprobs = ctx.output(outs.topLogprobs);
      phase2.push(bind(8, ctx.buffer(res.topIds)), bind(9, ctx.buffer(res.topLogprobs)));
    }
    ctx.rt.dispatch({
      pipeline: { shader: 'sample/sample_select.wgsl', defines: { TOPN: o.topLogprobs > 0 }, overrides: { WG: wg, CAP: cap } },
      bindings: phase2,
      params: { binding: 5, data: params },
      workgroups: [b],
    });
    // Later work in this batch that reuses the buffers is ordered after the reads above.
    ctx.rt.releaseBuffer(rowopts);
    ctx.rt.releaseBuffer(keys);
    return res;
  },
};
