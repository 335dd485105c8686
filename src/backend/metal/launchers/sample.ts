import type { SampleOptions } from '../../../ops/sample/reference.js';
import { EXP2_TABLE } from '../../../ops/sample/weights.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';

/** SampleParams in msl/sample/sample.metal. */
export const SAMPLE_MSL_PARAMS = defineParams([
  ['b', 'u32'],
  ['v', 'u32'],
  ['zero', 'u32'],
  ['topn', 'u32'],
  ['state_base', 'u32'],
  ['flags', 'u32'],
]);

/** Presence bits of the optional tensors (HAS_* in sample.metal). */
const FLAGS: Record<string, number> = {
  logitBias: 1,
  counts: 2,
  temperature: 4,
  repetitionPenalty: 8,
  presencePenalty: 16,
  frequencyPenalty: 32,
  topK: 64,
  topP: 128,
  minP: 256,
  offsets: 512,
};

/**
 * sample_logits_<dt> then sample_select, one threadgroup per row, through a [B·V + 4B] u32
 * scratch of order keys and row state; the exp2 table goes in as constant bytes. Absent
 * option tensors are bound as the logits (never read: their flag is off). metal3 only:
 * selection has nothing for the tensor units to do.
 */
export const sampleMetalLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o: SampleOptions, outs) {
    const x: Tensor = i.logits;
    const [b, v] = x.shape;
    let flags = 0;
    for (const [name, bit] of Object.entries(FLAGS)) if (i[name]) flags |= bit;
    const keys = ctx.output({ dtype: 'u32', shape: [b * v + 4 * b] });
    const params = packParams(SAMPLE_MSL_PARAMS, { b, v, zero: 0, topn: o.topLogprobs, state_base: b * v, flags });
    const opt = (name: string): Tensor => i[name] ?? x;
    ctx.dispatch({
      library: 'sample/sample.metal',
      fn: `sample_logits_${dtSuffix(x.dtype)}`,
      buffers: [x, keys, opt('logitBias'), opt('counts'), opt('temperature'), opt('repetitionPenalty'), opt('presencePenalty'), opt('frequencyPenalty')].map((tensor, index) => ({ index, tensor })),
      bytes: [{ index: 8, data: params }],
      grid: [b, 1, 1],
      threadgroup: [256, 1, 1],
    });
    const tokens = ctx.output(outs.tokens);
    const logprobs = ctx.output(outs.logprobs);
    const res: Record<string, Tensor> = { tokens, logprobs };
    if (o.topLogprobs > 0) {
      res.topIds = ctx.output(outs.topIds);
      res.topLogprobs = ctx.output(outs.topLogprobs);
    }
    const table = new Uint32Array(EXP2_TABLE).buffer as ArrayBuffer;
    ctx.dispatch({
      library: 'sample/sample.metal',
      fn: 'sample_select',
      buffers: [
        { index: 1, tensor: keys },
        { index: 3, tensor: opt('temperature') },
        { index: 4, tensor: opt('topK') },
        { index: 5, tensor: opt('topP') },
        { index: 6, tensor: opt('minP') },
        { index: 7, tensor: i.seeds },
        { index: 8, tensor: opt('offsets') },
        { index: 9, tensor: tokens },
        { index: 10, tensor: logprobs },
        { index: 11, tensor: res.topIds ?? tokens },
        { index: 12, tensor: res.topLogprobs ?? logprobs },
      ],
      bytes: [
        { index: 2, data: table },
        { index: 13, data: params },
      ],
      grid: [b, 1, 1],
      threadgroup: [256, 1, 1],
    });
    keys.dispose();
    return res;
  },
};
