import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import type { Tensor } from '../../../tensor.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, vecPlan, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';

export const RMS_NORM_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['rs_base', 'u32'],
  ['rstd_base', 'u32'],
  ['eps', 'f32'],
]);

export const RMS_NORM_BACKWARD_VEC_PARAMS = defineParams([
  ['rows', 'u32'],
  ['nv', 'u32'],
  ['n', 'u32'],
  ['block_rows', 'u32'],
  ['x_base', 'u32'],
  ['part_base', 'u32'],
  ['rstd_base', 'u32'],
  ['eps', 'f32'],
]);

export const RMS_NORM_DW_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['chunk_rows', 'u32'],
  ['chunks', 'u32'],
  ['x_base', 'u32'],
  ['rs_base', 'u32'],
  ['out_base', 'u32'],
]);

/** Rows summed by one invocation for dw before the second level (streaming path). */
const DW_CHUNK = 64;
const DW_WG = 256;
/** Words of a partial row per workgroup of the final dw level: COLS in rms_norm_dw.wgsl. */
const dwCols = (vec: boolean) => (vec ? 8 : 32);

/**
 * Register path: blocks (workgroups) wanted. A block walks its rows one after another, so
 * bandwidth comes only from many blocks resident at once: an H100 holds ~2–4 of these
 * 256-invocation workgroups on each of its 132 SMs (register-limited), ~260–530 in all;
 * 1024 fills that with a couple of waves of short blocks, so the last wave's idle tail is
 * small. Each block adds a partial row of n f32, written once and read once: 8/(3·R·bytes)
 * of the main traffic for R rows a block, 4% (f32) / 8% (16-bit) at 16384 rows (R = 16).
 */
const VEC_BLOCKS = 1024;
/**
 * Smallest R: below 4096 rows it keeps the partial traffic under 17% (f32) / 33% (16-bit)
 * of the main traffic while leaving rows/4 blocks for parallelism.
 */
const VEC_MIN_ROWS = 4;

/**
 * dx and dw. Rows of a multiple of 16 bytes that fit in registers take
 * norm/rms_norm_backward_vec.wgsl (dy, x read once; dw partials per block of rows);
 * otherwise dx one workgroup per row (norm/rms_norm_backward.wgsl) and dw column sums in
 * partials of DW_CHUNK rows. Either way the partials are summed by norm/rms_norm_dw.wgsl
 * (skipped when one partial suffices).
 */
export const rmsNormBackwardLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o, outs) {
    const [rows, n] = rowsCols(i.x.shape);
    const dx = ctx.output(outs.dx);
    const dw = ctx.output(outs.dw);
    if (!launchVec(ctx, tier, i, o.eps, rows, n, dx, dw)) launchStreaming(ctx, tier, i, o.eps, rows, n, dx, dw);
    return { dx, dw };
  },
};

/** The register path; false (nothing dispatched) when the row or a window does not suit it. */
function launchVec(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, eps: number, rows: number, n: number, dx: Tensor, dw: Tensor): boolean {
  const x = i.x;
  const e = BYTES[x.dtype];
  const vec = vecPlan(n, e, ctx.limits.maxComputeInvocationsPerWorkgroup);
  if (!vec) return false;
  const chunks = rowChunks(ctx, rows, n * e);
  // The final level binds the whole partial buffer: keep it within one binding. Blocks
  // over all chunks ≤ rows/R + chunks ≤ maxBlocks + chunks.
  const limit = ctx.limits.maxStorageBufferBindingSize;
  const maxBlocks = Math.max(1, Math.min(VEC_BLOCKS, Math.floor(limit / (4 * n)) - chunks.length));
  const R = Math.max(1, Math.min(rows, Math.max(VEC_MIN_ROWS, Math.ceil(rows / maxBlocks))));
  const blocks = chunks.map(([r0, r1]) => Math.ceil((r1 - r0) / R));
  const total = blocks.reduce((s, b) => s + b, 0);
  if (total * n * 4 > limit) return false;
  const part = total > 1 ? ctx.output({ dtype: 'f32', shape: [total, n] }) : undefined;
  // Windows first: vec4 bindings need every base on a 16-byte word, else the streaming path.
  let partRow = 0;
  const plans = chunks.map(([r0, r1], c) => {
    const cnt = (r1 - r0) * n;
    const w = {
      dy: windowOf(ctx, i.dy, 0, r0 * n, cnt),
      x: windowOf(ctx, x, 1, r0 * n, cnt),
      dx: windowOf(ctx, dx, 3, r0 * n, cnt),
      part: part ? windowOf(ctx, part, 4, partRow * n, blocks[c] * n) : windowOf(ctx, dw, 4, 0, n),
      rstd: i.rstd ? windowOf(ctx, i.rstd, 5, r0, r1 - r0) : undefined,
    };
    partRow += blocks[c];
    return { r0, r1, c, w };
  });
  const aligned = plans.every(({ w }) => w.x.base % vec.epv === 0 && w.dy.base === w.x.base && w.dx.base === w.x.base && w.part.base % 4 === 0);
  if (!aligned) {
    part?.dispose();
    return false;
  }
  for (const { r0, r1, c, w } of plans) {
    const bindings = [w.dy.b, w.x.b, { binding: 2, buffer: ctx.buffer(i.weight) }, w.dx.b, w.part.b];
    if (w.rstd) bindings.push(w.rstd.b);
    ctx.rt.dispatch({
      pipeline: { shader: 'norm/rms_norm_backward_vec.wgsl', defines: { X_DT: dtCode(x.dtype), HAS_RSTD: !!i.rstd, SUBGROUPS: tier === 'subgroups', VPT: vec.vpt }, overrides: { WG: vec.wg } },
      bindings,
      params: {
        binding: 6,
        data: packParams(RMS_NORM_BACKWARD_VEC_PARAMS, { rows: r1 - r0, nv: vec.nv, n, block_rows: R, x_base: w.x.base / vec.epv, part_base: w.part.base / 4, rstd_base: w.rstd?.base ?? 0, eps }),
      },
      // At most VEC_BLOCKS workgroups, well within maxComputeWorkgroupsPerDimension.
      workgroups: [blocks[c], 1],
    });
  }
  if (part) {
    sumPartials(ctx, part, total, n, dw);
    part.dispose();
  }
  return true;
}

/** dw = the sum of `count` partial rows of `part`, by norm/rms_norm_dw.wgsl. */
function sumPartials(ctx: LaunchContext, part: Tensor, count: number, n: number, dw: Tensor) {
  const vec = n % 4 === 0;
  ctx.rt.dispatch({
    pipeline: { shader: 'norm/rms_norm_dw.wgsl', defines: { PARTIAL: false, VEC: vec }, overrides: { WG: DW_WG } },
    bindings: [windowOf(ctx, part, 2, 0, count * n).b, windowOf(ctx, dw, 3, 0, n).b],
    params: { binding: 4, data: packParams(RMS_NORM_DW_PARAMS, { rows: count, n, chunk_rows: 0, chunks: count, x_base: 0, rs_base: 0, out_base: 0 }) },
    workgroups: [Math.ceil((vec ? n / 4 : n) / dwCols(vec)), 1],
  });
}

/** dx one workgroup per row (dy, x read twice), then dw from dy, x and the saved r. */
function launchStreaming(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, eps: number, rows: number, n: number, dx: Tensor, dw: Tensor) {
  const x = i.x;
  const rs = ctx.output({ dtype: 'f32', shape: [rows] });
  const dt = dtCode(x.dtype);
  const wg = n >= 1024 ? 256 : n >= 256 ? 128 : 64;
  const chunks = rowChunks(ctx, rows, n * Math.max(4, BYTES[x.dtype]));
  const totalParts = chunks.reduce((s, [a, b]) => s + Math.ceil((b - a) / DW_CHUNK), 0);
  const part = totalParts > 1 ? ctx.output({ dtype: 'f32', shape: [totalParts, n] }) : undefined;
  let partRow = 0;
  for (const [r0, r1] of chunks) {
    const cnt = (r1 - r0) * n;
    const dyw = windowOf(ctx, i.dy, 0, r0 * n, cnt);
    const xw = windowOf(ctx, x, 1, r0 * n, cnt);
    const dxw = windowOf(ctx, dx, 3, r0 * n, cnt);
    const rsw = windowOf(ctx, rs, 4, r0, r1 - r0);
    const bindings = [dyw.b, xw.b, { binding: 2, buffer: ctx.buffer(i.weight) }, dxw.b, rsw.b];
    let rstdBase = 0;
    if (i.rstd) {
      const sw = windowOf(ctx, i.rstd, 5, r0, r1 - r0);
      bindings.push(sw.b);
      rstdBase = sw.base;
    }
    const g = grid(ctx, r1 - r0);
    ctx.rt.dispatch({
      pipeline: { shader: 'norm/rms_norm_backward.wgsl', defines: { X_DT: dt, HAS_RSTD: !!i.rstd, SUBGROUPS: tier === 'subgroups', ATOMIC_OUT: n % 2 === 1 }, overrides: { WG: wg } },
      bindings,
      params: { binding: 6, data: packParams(RMS_NORM_BACKWARD_PARAMS, { rows: r1 - r0, n, groups_x: g.groupsX, x_base: xw.base, rs_base: rsw.base, rstd_base: rstdBase, eps }) },
      workgroups: g.workgroups,
    });
    const parts = Math.ceil((r1 - r0) / DW_CHUNK);
    const dyc = windowOf(ctx, i.dy, 0, r0 * n, cnt);
    const xc = windowOf(ctx, x, 1, r0 * n, cnt);
    const rsc = windowOf(ctx, rs, 2, r0, r1 - r0);
    const target = part ? windowOf(ctx, part, 3, partRow * n, parts * n) : windowOf(ctx, dw, 3, 0, n);
    ctx.rt.dispatch({
      pipeline: { shader: 'norm/rms_norm_dw.wgsl', defines: { X_DT: dt, PARTIAL: true }, overrides: { WG: DW_WG } },
      bindings: [dyc.b, xc.b, rsc.b, target.b],
      params: { binding: 4, data: packParams(RMS_NORM_DW_PARAMS, { rows: r1 - r0, n, chunk_rows: DW_CHUNK, chunks: parts, x_base: xc.base, rs_base: rsc.base, out_base: target.base }) },
      workgroups: [Math.ceil(n / DW_WG), parts],
    });
    partRow += parts;
  }
  if (part) {
    sumPartials(ctx, part, totalParts, n, dw);
    part.dispose();
  }
  rs.dispose();
}
