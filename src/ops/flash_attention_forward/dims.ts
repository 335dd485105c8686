import { ShapeError } from '../../errors.js';
import { fmt } from '../check.js';
import type { TensorInfo } from '../types.js';

/**
 * The one shape resolver of the attention ops (spec checks, references, bounds, launchers).
 *
 * Padded batches: q [B, Sq, Hq, D] (layout 'bshd') or [B, Hq, Sq, D] ('bhsd'); k, v the same
 * with Sk, Hkv and D / Dv. Variable-length batches (cuSeqlensQ/K given): packed rank-3
 * tensors, [total, H, D] ('bshd') or [H, total, D] ('bhsd'); sequence b owns tokens
 * cu[b] .. cu[b+1]−1. Every tensor is addressed through (batch, position, head) element
 * strides, so both layouts are read in place (no transpose copy).
 */
export type Layout = 'bshd' | 'bhsd';

export interface Strides {
  /** Elements between batches (0 for packed varlen tensors). */
  readonly b: number;
  /** Elements between positions (tokens). */
  readonly s: number;
  /** Elements between heads. */
  readonly h: number;
}

export interface AttnDims {
  readonly varlen: boolean;
  /** Batches (varlen: sequences, cu.length − 1). */
  readonly batch: number;
  /** Query / key positions per batch (varlen: the packed totals). */
  readonly sq: number;
  readonly sk: number;
  readonly hq: number;
  readonly hkv: number;
  /** Query heads per kv head (GQA group; Hq for MQA). */
  readonly group: number;
  readonly d: number;
  readonly dv: number;
  readonly q: Strides;
  readonly k: Strides;
  readonly v: Strides;
  /** o has q's layout with Dv. */
  readonly o: Strides;
  readonly oShape: number[];
  /** f32 [B, Hq, Sq], varlen [Hq, totalQ]: element (b, h, s) at b·sq·hq + h·sq + s (b = 0 for varlen). */
  readonly lseShape: number[];
}

/** The problem sizes and element strides of q, k, v and o as every flash-attention kernel's Params carry them (webgpu and metal, forward and backward). */
export function kernelGeometry(dm: AttnDims) {
  return {
    sq: dm.sq,
    sk: dm.sk,
    hq: dm.hq,
    hkv: dm.hkv,
    group: dm.group,
    d: dm.d,
    dv: dm.dv,
    q_sb: dm.q.b,
    q_ss: dm.q.s,
    q_sh: dm.q.h,
    k_sb: dm.k.b,
    k_ss: dm.k.s,
    k_sh: dm.k.h,
    v_sb: dm.v.b,
    v_ss: dm.v.s,
    v_sh: dm.v.h,
    o_sb: dm.o.b,
    o_ss: dm.o.s,
    o_sh: dm.o.h,
  };
}

/** Head dims: multiples of 8 (16-byte rows for every dtype) from 8 to 256. */
export const HEAD_DIM_MAX = 256;
export const HEAD_DIM_STEP = 8;

function strides(layout: Layout, varlen: boolean, s: number, h: number, d: number): Strides {
  if (varlen) return layout === 'bshd' ? { b: 0, s: h * d, h: d } : { b: 0, s: d, h: s * d };
  return layout === 'bshd' ? { b: s * h * d, s: h * d, h: d } : { b: h * s * d, s: d, h: s * d };
}

/** [batch, pos, head, dim] in the layout's order (batch absent for varlen). */
function shapeOf(layout: Layout, varlen: boolean, b: number, s: number, h: number, d: number): number[] {
  const inner = layout === 'bshd' ? [s, h, d] : [h, s, d];
  return varlen ? inner : [b, ...inner];
}

function describe(layout: Layout, varlen: boolean, s: string, h: string, d: string): string {
  const inner = layout === 'bshd' ? `${s}, ${h}, ${d}` : `${h}, ${s}, ${d}`;
  return varlen ? `[${inner}] (packed, with cuSeqlens)` : `[B, ${inner}] (layout '${layout}')`;
}

/**
 * Resolves and checks the geometry of q, k, v (and the cu_seqlens when given). Throws a
 * ShapeError naming the argument and what was expected.
 */
export function attnDims(op: string, layout: Layout, q: TensorInfo, k: TensorInfo, v: TensorInfo, cuQ?: TensorInfo, cuK?: TensorInfo): AttnDims {
  if (!!cuQ !== !!cuK) {
    throw new ShapeError(`[${op}] ${cuQ ? 'cuSeqlensK' : 'cuSeqlensQ'}: expected both cuSeqlensQ and cuSeqlensK for a variable-length batch, got only ${cuQ ? 'cuSeqlensQ' : 'cuSeqlensK'}`);
  }
  const varlen = !!cuQ;
  const rank = varlen ? 3 : 4;
  // The batch and the positions may be 0 (an empty batch: PyTorch returns empty outputs);
  // heads and head dims may not.
  const headAxis = rank - (layout === 'bshd' ? 2 : 3);
  for (const [name, t, s, h, d] of [['q', q, 'Sq', 'Hq', 'D'], ['k', k, 'Sk', 'Hkv', 'D'], ['v', v, 'Sk', 'Hkv', 'Dv']] as const) {
    if (t.shape.length !== rank || t.shape.some((x, a) => !Number.isInteger(x) || x < (a === headAxis || a === rank - 1 ? 1 : 0))) {
      throw new ShapeError(`[${op}] ${name}: expected ${describe(layout, varlen, s, h, d)}, got ${fmt(t)}`);
    }
  }
  const pos = (t: TensorInfo) => t.shape[rank - (layout === 'bshd' ? 3 : 2)];
  const head = (t: TensorInfo) => t.shape[rank - (layout === 'bshd' ? 2 : 3)];
  const batch = varlen ? cuQ!.shape[0] - 1 : q.shape[0];
  const sq = pos(q);
  const sk = pos(k);
  const hq = head(q);
  const hkv = head(k);
  const d = q.shape[rank - 1];
  const dv = v.shape[rank - 1];
  for (const [name, x] of [['q', d], ['v', dv]] as const) {
    if (x % HEAD_DIM_STEP !== 0 || x > HEAD_DIM_MAX) {
      throw new ShapeError(`[${op}] ${name}: expected a head dim that is a multiple of ${HEAD_DIM_STEP} from ${HEAD_DIM_STEP} to ${HEAD_DIM_MAX}, got ${fmt(name === 'q' ? q : v)}`);
    }
  }
  if (hq % hkv !== 0) throw new ShapeError(`[${op}] k: expected a kv head count dividing Hq = ${hq} (GQA/MQA), got ${fmt(k)}`);
  const kShape = shapeOf(layout, varlen, batch, sk, hkv, d);
  if (k.shape.some((x, i) => x !== kShape[i])) throw new ShapeError(`[${op}] k: expected ${k.dtype}[${kShape}] (batch and head dim of q), got ${fmt(k)}`);
  const vShape = shapeOf(layout, varlen, batch, sk, hkv, dv);
  if (v.shape.some((x, i) => x !== vShape[i])) throw new ShapeError(`[${op}] v: expected ${v.dtype}[${vShape}] (batch, keys and heads of k), got ${fmt(v)}`);
  if (varlen) {
    for (const [name, t] of [['cuSeqlensQ', cuQ!], ['cuSeqlensK', cuK!]] as const) {
      if (t.dtype !== 'i32' || t.shape.length !== 1 || t.shape[0] < 2) throw new ShapeError(`[${op}] ${name}: expected i32[batch+1] with batch ≥ 1, got ${fmt(t)}`);
    }
    if (cuK!.shape[0] !== cuQ!.shape[0]) throw new ShapeError(`[${op}] cuSeqlensK: expected i32[${cuQ!.shape[0]}] (the length of cuSeqlensQ), got ${fmt(cuK!)}`);
  }
  // Query rows with no key at all would each be o = 0, lse = −∞ (or the sink): a zero-size k/v
  // the kernels do not bind. Without query rows (B = 0, Sq = 0, no tokens) nothing is launched.
  const rows = varlen ? sq : batch * sq;
  if (rows > 0 && sk === 0) throw new ShapeError(`[${op}] k: expected at least one key when there are query rows (${rows}), got ${fmt(k)}`);
  const o = strides(layout, varlen, sq, hq, dv);
  return {
    varlen,
    batch,
    sq,
    sk,
    hq,
    hkv,
    group: hq / hkv,
    d,
    dv,
    q: strides(layout, varlen, sq, hq, d),
    k: strides(layout, varlen, sk, hkv, d),
    v: strides(layout, varlen, sk, hkv, dv),
    o,
    oShape: shapeOf(layout, varlen, batch, sq, hq, dv),
    lseShape: varlen ? [hq, sq] : [batch, hq, sq],
  };
}
