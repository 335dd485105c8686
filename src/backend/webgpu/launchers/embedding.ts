import { BYTES } from '../../../dtype.js';
import { NotSupportedError } from '../../../errors.js';
import { resolvePadding } from '../../../ops/embedding/reference.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';

/** embedding/embedding.wgsl. */
export const EMBEDDING_PARAMS = defineParams([
  ['rows', 'u32'],
  ['h', 'u32'],
  ['groups_x', 'u32'],
  ['ids_base', 'u32'],
  ['w_base', 'u32'],
  ['y_base', 'u32'],
  ['v0', 'u32'],
  ['v1', 'u32'],
  ['vocab', 'u32'],
  ['zero_invalid', 'u32'],
]);
/** embedding/embedding_count.wgsl. */
export const EMBEDDING_COUNT_PARAMS = defineParams([
  ['count', 'u32'],
  ['vocab', 'u32'],
]);
/** embedding/embedding_links.wgsl. */
export const EMBEDDING_LINKS_PARAMS = defineParams([
  ['count', 'u32'],
  ['vocab', 'u32'],
  ['pad', 'i32'],
  ['groups_x', 'u32'],
]);
/** embedding/embedding_dw.wgsl. */
export const EMBEDDING_DW_PARAMS = defineParams([
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['cblocks', 'u32'],
  ['groups_x', 'u32'],
  ['v0', 'u32'],
  ['count', 'u32'],
  ['pad', 'i32'],
  ['dw_base', 'u32'],
  ['in_base', 'u32'],
]);

const WG = 256;

/** A tensor the kernels bind whole: refused (typed) when it exceeds one binding. */
function whole(ctx: LaunchContext, op: string, name: string, t: Tensor, binding: number) {
  const bytes = t.size * BYTES[t.dtype];
  if (bytes > ctx.limits.maxStorageBufferBindingSize) {
    throw new NotSupportedError(`[${op}] ${name}: ${t.describe()} (${bytes} bytes) exceeds this adapter's maxStorageBufferBindingSize (${ctx.limits.maxStorageBufferBindingSize})`);
  }
  return windowOf(ctx, t, binding, 0, t.size);
}

/**
 * The gather, one workgroup a token, in chunks of tokens × windows of vocabulary rows so
 * every binding fits the adapter's limits (a 128256 × 4096 f32 table is over 2 GiB); the
 * count of ids outside [0, V) in the first dispatch when it sees every id, else after. Rows of a multiple of 16 bytes move as vec4<u32> words.
 */
export const embeddingLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, _o, outs) {
    const w = i.weight;
    const ids = i.ids;
    const [v, h] = w.shape;
    const t = ids.size;
    const e = BYTES[w.dtype];
    const y = ctx.output(outs.y);
    const invalid = ctx.output(outs.invalid);
    const vec = (h * e) % 16 === 0;
    const unit = vec ? 16 / e : 1;
    const vocab = rowChunks(ctx, v, h * e);
    const chunks = rowChunks(ctx, t, h * e);
    // One chunk of tokens (every id in one dispatch): its first vocabulary window's dispatch
    // counts the invalid ids too (COUNT), one launch fewer; else embedding_count after.
    const counted = chunks.length === 1 && t > 0;
    for (const [t0, t1] of chunks) {
      const iw = windowOf(ctx, ids, 0, t0, t1 - t0);
      const yw = windowOf(ctx, y, 2, t0 * h, (t1 - t0) * h);
      const g = grid(ctx, t1 - t0);
      vocab.forEach(([v0, v1], k) => {
        const ww = windowOf(ctx, w, 1, v0 * h, (v1 - v0) * h);
        const count = counted && k === 0;
        ctx.rt.dispatch({
          pipeline: { shader: 'embedding/embedding.wgsl', defines: { VEC: vec, E16: e === 2, COUNT: count }, overrides: { WG } },
          bindings: count ? [iw.b, ww.b, yw.b, windowOf(ctx, invalid, 4, 0, 1).b] : [iw.b, ww.b, yw.b],
          params: {
            binding: 3,
            data: packParams(EMBEDDING_PARAMS, { rows: t1 - t0, h: h / unit, groups_x: g.groupsX, ids_base: iw.base, w_base: ww.base / unit, y_base: yw.base / unit, v0, v1, vocab: v, zero_invalid: k === 0 ? 1 : 0 }),
          },
          workgroups: g.workgroups,
        });
      });
    }
    if (counted) return { y, invalid };
    ctx.rt.dispatch({
      pipeline: { shader: 'embedding/embedding_count.wgsl', defines: {}, overrides: { WG } },
      bindings: [whole(ctx, 'embedding', 'ids', ids, 0).b, windowOf(ctx, invalid, 1, 0, 1).b],
      params: { binding: 2, data: packParams(EMBEDDING_COUNT_PARAMS, { count: t, vocab: v }) },
      workgroups: [1],
    });
    return { y, invalid };
  },
};

/**
 * dW in two passes (embedding_links.wgsl, embedding_dw.wgsl): chains of the tokens that
 * share an id (count² id comparisons), then one workgroup per vocabulary row and column
 * block summing its chain in token order — every dW element written once, by one
 * invocation, in a fixed order: deterministic without sorting or float atomics. dW (and
 * dwIn) are split into windows of rows that fit one binding; dy is bound whole (its rows
 * are visited in id order).
 */
export const embeddingBackwardLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, o, outs) {
    const op = 'embedding_backward';
    const dy = i.dy;
    const ids = i.ids;
    const dw = ctx.output(outs.dw);
    const [v, h] = outs.dw.shape;
    const t = ids.size;
    if (t >= 0x7fffffff) throw new NotSupportedError(`[${op}] ids: at most 2^31 − 2 tokens, got ${t}`);
    const pad = resolvePadding(o.paddingIdx, v) ?? -1;
    const links = ctx.output({ dtype: 'u32', shape: [t] });
    const head = ctx.output({ dtype: 'u32', shape: [v] });
    const idsB = whole(ctx, op, 'ids', ids, 0);
    const lg = grid(ctx, Math.ceil(t / WG));
    ctx.rt.dispatch({
      pipeline: { shader: 'embedding/embedding_links.wgsl', defines: {}, overrides: { WG } },
      bindings: [idsB.b, windowOf(ctx, links, 1, 0, t).b, whole(ctx, op, 'head', head, 2).b],
      params: { binding: 3, data: packParams(EMBEDDING_LINKS_PARAMS, { count: t, vocab: v, pad, groups_x: lg.groupsX }) },
      workgroups: lg.workgroups,
    });
    const vec = h % 4 === 0;
    const unit = vec ? 4 : 1;
    const cols = h / unit;
    const cblocks = Math.ceil(cols / WG);
    const dyB = whole(ctx, op, 'dy', dy, 0);
    for (const [v0, v1] of rowChunks(ctx, v, h * 4)) {
      const dwW = windowOf(ctx, dw, 4, v0 * h, (v1 - v0) * h);
      const bindings = [dyB.b, windowOf(ctx, ids, 1, 0, t).b, windowOf(ctx, links, 2, 0, t).b, windowOf(ctx, head, 3, 0, v).b, dwW.b];
      let inBase = 0;
      if (i.dwIn) {
        const inW = windowOf(ctx, i.dwIn, 5, v0 * h, (v1 - v0) * h);
        bindings.push(inW.b);
        inBase = inW.base / unit;
      }
      const g = grid(ctx, (v1 - v0) * cblocks);
      ctx.rt.dispatch({
        pipeline: { shader: 'embedding/embedding_dw.wgsl', defines: { X_DT: dtCode(dy.dtype), VEC: vec, HAS_IN: !!i.dwIn }, overrides: { WG } },
        bindings,
        params: {
          binding: 6,
          data: packParams(EMBEDDING_DW_PARAMS, { rows: v1 - v0, cols, cblocks, groups_x: g.groupsX, v0, count: t, pad, dw_base: dwW.base / unit, in_base: inBase }),
        },
        workgroups: g.workgroups,
      });
    }
    links.dispose();
    head.dispose();
    return { dw };
  },
};
