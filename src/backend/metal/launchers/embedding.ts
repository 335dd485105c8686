import { BYTES } from '../../../dtype.js';
import { resolvePadding } from '../../../ops/embedding/reference.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';

/** EmbeddingParams in msl/embedding/embedding.metal. */
export const EMBEDDING_PARAMS = defineParams([
  ['rows', 'u32'],
  ['h', 'u32'],
  ['vocab', 'u32'],
]);
/** EmbeddingLinksParams. */
export const EMBEDDING_LINKS_PARAMS = defineParams([
  ['count', 'u32'],
  ['vocab', 'u32'],
  ['pad', 'i32'],
]);
/** EmbeddingDwParams. */
export const EMBEDDING_DW_PARAMS = defineParams([
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['cblocks', 'u32'],
  ['count', 'u32'],
  ['pad', 'i32'],
]);

const LIB = 'embedding/embedding.metal';
/** Threads of embedding_links (EMB_TILE in the MSL). */
const TILE = 256;
const rowThreads = (n: number) => Math.min(256, Math.max(32, Math.ceil(n / 32) * 32));

/** The gather (one threadgroup a token, raw words; its first also counts the ids outside [0, V)): one launch. */
export const embeddingLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, _o, outs) {
    const w = i.weight;
    const [v, h] = w.shape;
    const t = i.ids.size;
    const y = ctx.output(outs.y);
    const invalid = ctx.output(outs.invalid);
    // Threadgroup 0 of the gather writes invalid too; an empty batch has none: the count alone.
    if (t > 0) {
      ctx.dispatch({
        library: LIB,
        fn: `embedding_gather_b${8 * BYTES[w.dtype]}`,
        buffers: [
          { index: 0, tensor: i.ids },
          { index: 1, tensor: w },
          { index: 2, tensor: y },
          { index: 4, tensor: invalid },
        ],
        bytes: [{ index: 3, data: packParams(EMBEDDING_PARAMS, { rows: t, h, vocab: v }) }],
        grid: [t, 1, 1],
        threadgroup: [rowThreads(h), 1, 1],
      });
      return { y, invalid };
    }
    ctx.dispatch({
      library: LIB,
      fn: 'embedding_count',
      buffers: [
        { index: 0, tensor: i.ids },
        { index: 1, tensor: invalid },
      ],
      bytes: [{ index: 2, data: packParams(EMBEDDING_PARAMS, { rows: t, h, vocab: v }) }],
      grid: [1, 1, 1],
      threadgroup: [256, 1, 1],
    });
    return { y, invalid };
  },
};

/**
 * dW in two passes, as the webgpu backend: chains of the tokens sharing an id (count² id
 * comparisons), then one threadgroup per vocabulary row and column block summing its chain
 * in token order (every element written once, in a fixed order: deterministic).
 */
export const embeddingBackwardLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o, outs) {
    const dw = ctx.output(outs.dw);
    const [v, h] = outs.dw.shape;
    const t = i.ids.size;
    const pad = resolvePadding(o.paddingIdx, v) ?? -1;
    const links = ctx.output({ dtype: 'u32', shape: [t] });
    const head = ctx.output({ dtype: 'u32', shape: [v] });
    ctx.dispatch({
      library: LIB,
      fn: 'embedding_links',
      buffers: [
        { index: 0, tensor: i.ids },
        { index: 1, tensor: links },
        { index: 2, tensor: head },
      ],
      bytes: [{ index: 4, data: packParams(EMBEDDING_LINKS_PARAMS, { count: t, vocab: v, pad }) }],
      grid: [Math.ceil(t / TILE), 1, 1],
      threadgroup: [TILE, 1, 1],
    });
    const threads = rowThreads(h);
    const cblocks = Math.ceil(h / threads);
    ctx.dispatch({
      library: LIB,
      fn: `embedding_dw_${dtSuffix(i.dy.dtype)}`,
      constants: [{ index: 0, type: 'bool', value: !!i.dwIn }],
      buffers: [
        { index: 0, tensor: i.dy },
        { index: 1, tensor: i.ids },
        { index: 2, tensor: links },
        { index: 3, tensor: head },
        { index: 4, tensor: dw },
        ...(i.dwIn ? [{ index: 5, tensor: i.dwIn }] : []),
      ],
      bytes: [{ index: 6, data: packParams(EMBEDDING_DW_PARAMS, { rows: v, cols: h, cblocks, count: t, pad }) }],
      grid: [v * cblocks, 1, 1],
      threadgroup: [threads, 1, 1],
    });
    links.dispose();
    head.dispose();
    return { dw };
  },
};
