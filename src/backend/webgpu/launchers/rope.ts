import { BYTES } from '../../../dtype.js';
import { ropeDims, rotaryDimOf, type RopeOpts } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';
import { tuning } from '../tuning.js';
import { freqTable } from './rope_table.js';
import { ropeQkVariant, SMALL_TOKENS } from './rope_variant.js';
import type { Binding } from '../runtime.js';

/** rope/rope.wgsl and rope/rope_vec.wgsl (wgsl/rope/rope_params.wgsl; lanes and tpw: rope_vec only). */
export const ROPE_PARAMS = defineParams([
  ['tokens', 'u32'],
  ['tok0', 'u32'],
  ['heads', 'u32'],
  ['seq', 'u32'],
  ['row_words', 'u32'],
  ['rot_words', 'u32'],
  ['rot_units', 'u32'],
  ['units', 'u32'],
  ['lanes', 'u32'],
  ['tpw', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['pos_bstride', 'u32'],
  ['offset', 'i32'],
  ['mscale', 'f32'],
  ['heads_k', 'u32'],
  ['k_base', 'u32'],
  ['yk_base', 'u32'],
]);

/** rope/rope_elementwise.wgsl: one invocation per output word, any layout. */
export const ROPE_ELEMENTWISE_PARAMS = defineParams([
  ['count', 'u32'],
  ['d', 'u32'],
  ['half', 'u32'],
  ['heads', 'u32'],
  ['seq', 'u32'],
  ['row0', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['pos_bstride', 'u32'],
  ['offset', 'i32'],
  ['mscale', 'f32'],
  ['count_k', 'u32'],
  ['heads_k', 'u32'],
  ['row0_k', 'u32'],
  ['k_base', 'u32'],
  ['yk_base', 'u32'],
]);

const WG = 256;
/** Heads each rope_vec invocation aims to cover: its angles are computed once for all of them (1 for few tokens: rope_variant.ts). */
const VEC_HEADS = 4;

/**
 * The 16-byte-word plan of rope_vec.wgsl, or undefined when the pairs do not line up on
 * 16-byte words: D·e and (NeoX) rd/2·e or (GPT-J) rd·e multiples of 16 (e = element bytes).
 * Window bases then fall on words too (chunks start on whole tokens of H·D elements and
 * binding offsets are 256-byte aligned); the launcher checks. A token gets `lanes`
 * invocations — its work units × ⌈H / headsPerLane⌉ head groups — and a workgroup of 64–256
 * holds ⌊WG / lanes⌋ tokens, with spare lanes spread over more head groups.
 * PMETAL_ROPE_VEC=0 turns the path off (for the bench's comparison with rope.wgsl).
 */
export function ropeVecPlan(h: number, d: number, rd: number, elemBytes: number, neox: boolean, headsPerLane = VEC_HEADS) {
  if (!tuning().ropeVec) return undefined;
  const rotBytes = (neox ? rd / 2 : rd) * elemBytes;
  if ((d * elemBytes) % 16 !== 0 || rotBytes % 16 !== 0) return undefined;
  const epv = 16 / elemBytes;
  const rotWords = rd / epv;
  const rotUnits = neox ? rotWords / 2 : rotWords;
  const units = rotUnits + (d - rd) / epv;
  const want = Math.min(256, units * Math.ceil(h / headsPerLane));
  const wg = Math.max(64, 2 ** Math.ceil(Math.log2(want)));
  const tpw = Math.max(1, Math.floor(wg / want));
  return { epv, rowWords: d / epv, rotWords, rotUnits, units, wg, tpw, lanes: Math.floor(wg / tpw) };
}

/** One tensor the dispatch rotates: its input, output and heads per token. */
interface Part {
  x: Tensor;
  y: Tensor;
  heads: number;
}

/** What every dispatch of one rope call shares. */
interface Call {
  ctx: LaunchContext;
  o: RopeOpts;
  positions: Tensor | undefined;
  backward: boolean;
  /** Batch, sequence, head dim, rotated dims (x's and k's). */
  b: number;
  s: number;
  d: number;
  rd: number;
  table: { buffer: GPUBuffer; attention: number };
  headsPerLane: number;
}

/**
 * rope and rope_backward. Pairs that line up on 16-byte words (ropeVecPlan: every common
 * head size) take rope_vec.wgsl, which moves 16 bytes per load; otherwise the word kernel
 * rope.wgsl. Both take one token (or a few) per workgroup, so the H heads of a token share
 * each cos/sin, and read/write whole words; rope.wgsl needs pairs that fall on 32-bit words: D even and, for NeoX, rotaryDim/2 even — every real model. Other
 * layouts (odd D, NeoX with rotaryDim ≡ 2 mod 4) run rope_elementwise.wgsl, one output word
 * per invocation. Work is chunked (by tokens, or rows) so every binding fits the limits.
 * Portable only: nothing in an elementwise rotation benefits from subgroup operations.
 *
 * With the optional second tensor (k / dk), every kernel takes it under QK in the same
 * dispatch: the token kernels see H + Hk heads per token (q's, then k's, sharing the
 * token's angles), rope_elementwise covers y's words then yk's; chunks are whole tokens of
 * both. When one of the two has no heads the other runs alone, as a plain call.
 * PMETAL_ROPE_QK_VARIANT (rope_variant.ts) picks the lanes per token, or two dispatches.
 */
function ropeLauncher(xName: 'x' | 'dy', yName: 'y' | 'dx', kName: 'k' | 'dk', ykName: 'yk' | 'dxk', backward: boolean): Launcher {
  return {
    tiers: () => ['portable'],
    launch(ctx, _tier, i, o: RopeOpts, outs) {
      const x: Tensor = i[xName];
      const kIn: Tensor | undefined = i[kName];
      const { b, s, h, d } = ropeDims(x.shape);
      const y = ctx.output(outs[yName]);
      const yk: Tensor | undefined = kIn ? ctx.output(outs[ykName]) : undefined;
      const result = { [yName]: y, ...(yk ? { [ykName]: yk } : {}) };
      // The base launches nothing when every output is empty; one of q, k may still be.
      const parts: Part[] = [];
      if (h > 0) parts.push({ x, y, heads: h });
      if (kIn && yk && ropeDims(kIn.shape).h > 0) parts.push({ x: kIn, y: yk, heads: ropeDims(kIn.shape).h });
      if (!parts.length) return result;
      const variant = ropeQkVariant();
      const rd = rotaryDimOf(o, d);
      // A decode step's few tokens cannot fill the GPU with one workgroup each: one head a lane.
      const headsPerLane = variant === 'fused' && b * s < SMALL_TOKENS ? 1 : VEC_HEADS;
      const call: Call = { ctx, o, positions: i.positions, backward, b, s, d, rd, table: freqTable(ctx, o, rd), headsPerLane };
      for (const group of variant === 'split' ? parts.map((pt) => [pt]) : [parts]) launchGroup(call, group[0], group[1]);
      return result;
    },
  };
}

/** The dispatches (one per chunk of tokens or rows) that rotate `main`, and `second` with it (QK). */
function launchGroup(c: Call, main: Part, second: Part | undefined): void {
  const { ctx, o, positions, b, s, d, rd, table } = c;
  const dtype = main.x.dtype;
  const neox = o.style === 'neox';
  const qk = !!second;
  const heads = main.heads + (second?.heads ?? 0);
  const shared = { heads: main.heads, heads_k: second?.heads ?? 0, seq: s, pos_bstride: positions && positions.shape.length === 2 ? s : 0, offset: o.offset, mscale: table.attention };
  const defines = { X_DT: dtCode(dtype), NEOX: neox, BACKWARD: c.backward, POSITIONS: !!positions, QK: qk };
  type W = { b: Binding; base: number };
  const bindings = (xw: W, yw: W, kw?: W, ykw?: W) => {
    const out = [xw.b, { binding: 1, buffer: table.buffer, offset: 0, size: (rd / 2) * 4 }, yw.b];
    if (positions) out.push({ binding: 3, buffer: ctx.buffer(positions), offset: 0, size: positions.size * 4 });
    if (kw && ykw) out.push(kw.b, ykw.b);
    return out;
  };
  // Chunks of whole tokens: every binding of a chunk (the larger of the two parts') fits.
  const tokenChunks = () => rowChunks(ctx, b * s, Math.max(main.heads, second?.heads ?? 0) * d * BYTES[dtype]);
  const windows = (pt: Part | undefined, t0: number, t1: number, bx: number, by: number) => {
    if (!pt) return [undefined, undefined] as const;
    const per = pt.heads * d;
    return [windowOf(ctx, pt.x, bx, t0 * per, (t1 - t0) * per), windowOf(ctx, pt.y, by, t0 * per, (t1 - t0) * per)] as const;
  };
  // One token (or tpw tokens) per workgroup, all its heads sharing each cos/sin:
  // rope_vec.wgsl on 16-byte words where the pairs line up on them, else rope.wgsl on
  // 32-bit words where they line up on those (D even and, NeoX, rotaryDim/2 even).
  const vec = ropeVecPlan(heads, d, rd, BYTES[dtype], neox, c.headsPerLane);
  const rotUnits = neox ? rd / 4 : rd / 2;
  const units = rotUnits + (d - rd) / 2;
  const plan = vec
    ? { shader: 'rope/rope_vec.wgsl', defines, wg: vec.wg, tpw: vec.tpw, lanes: vec.lanes, align: vec.epv, unit: vec.epv, rowWords: vec.rowWords, rotWords: vec.rotWords, rotUnits: vec.rotUnits, units: vec.units }
    : d % 2 === 0 && (!neox || (rd / 2) % 2 === 0)
      ? // The per-token kernel writes whole words only: no atomics needed. Bases in elements.
        { shader: 'rope/rope.wgsl', defines: { ...defines, ATOMIC_OUT: false }, wg: heads * units >= 256 ? 256 : heads * units >= 128 ? 128 : 64, tpw: 1, lanes: 0, align: 2, unit: 1, rowWords: d / 2, rotWords: rd / 2, rotUnits, units }
      : undefined;
  if (plan) {
    for (const [t0, t1] of tokenChunks()) {
      const [xw, yw] = windows(main, t0, t1, 0, 2);
      const [kw, ykw] = windows(second, t0, t1, 5, 6);
      // Aligned by construction (windows start on whole tokens); the kernels rely on it.
      for (const w of [xw!, yw!, ...(kw && ykw ? [kw, ykw] : [])]) {
        if (w.base % plan.align) throw new Error(`[rope] internal: window base ${w.base} not on a ${plan.align}-element word`);
      }
      const g = grid(ctx, Math.ceil((t1 - t0) / plan.tpw));
      ctx.rt.dispatch({
        pipeline: { shader: plan.shader, defines: plan.defines, overrides: { WG: plan.wg } },
        bindings: bindings(xw!, yw!, kw, ykw),
        params: {
          binding: 4,
          data: packParams(ROPE_PARAMS, {
            ...shared,
            tokens: t1 - t0,
            tok0: t0,
            row_words: plan.rowWords,
            rot_words: plan.rotWords,
            rot_units: plan.rotUnits,
            units: plan.units,
            lanes: plan.lanes,
            tpw: plan.tpw,
            groups_x: g.groupsX,
            x_base: xw!.base / plan.unit,
            y_base: yw!.base / plan.unit,
            k_base: kw ? kw.base / plan.unit : 0,
            yk_base: ykw ? ykw.base / plan.unit : 0,
          }),
        },
        workgroups: g.workgroups,
      });
    }
    return;
  }
  // rope_elementwise: alone, chunks of head rows; with k, chunks of whole tokens of both
  // (the grid covers y's words, then yk's).
  const chunks = second
    ? tokenChunks().map(([t0, t1]) => ({ r0: t0 * main.heads, r1: t1 * main.heads, k0: t0 * second.heads, k1: t1 * second.heads, t0, t1 }))
    : rowChunks(ctx, b * s * main.heads, d * BYTES[dtype]).map(([r0, r1]) => ({ r0, r1, k0: 0, k1: 0, t0: 0, t1: 0 }));
  const words = (cnt: number, base: number) => Math.ceil((cnt + (base & 1)) / 2);
  for (const ch of chunks) {
    const cnt = (ch.r1 - ch.r0) * d;
    const xw = windowOf(ctx, main.x, 0, ch.r0 * d, cnt);
    const yw = windowOf(ctx, main.y, 2, ch.r0 * d, cnt);
    const [kw, ykw] = windows(second, ch.t0, ch.t1, 5, 6);
    const cntK = (ch.k1 - ch.k0) * d;
    const g = grid(ctx, Math.ceil((words(cnt, xw.base) + (kw ? words(cntK, kw.base) : 0)) / WG));
    ctx.rt.dispatch({
      pipeline: { shader: 'rope/rope_elementwise.wgsl', defines, overrides: { WG } },
      bindings: bindings(xw, yw, kw, ykw),
      params: {
        binding: 4,
        data: packParams(ROPE_ELEMENTWISE_PARAMS, {
          ...shared,
          count: cnt,
          d,
          half: rd / 2,
          row0: ch.r0,
          groups_x: g.groupsX,
          x_base: xw.base,
          y_base: yw.base,
          count_k: cntK,
          row0_k: ch.k0,
          k_base: kw?.base ?? 0,
          yk_base: ykw?.base ?? 0,
        }),
      },
      workgroups: g.workgroups,
    });
  }
}

export const ropeForwardLauncher = ropeLauncher('x', 'y', 'k', 'yk', false);
export const ropeBackwardLauncher = ropeLauncher('dy', 'dx', 'dk', 'dxk', true);
