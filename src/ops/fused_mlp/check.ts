import { FLOAT_DTYPES } from '../../dtype.js';
import { ShapeError } from '../../errors.js';
import { expectDtype, expectIndexable, expectNonEmptyAxis, expectRank, expectShape, fmt, required } from '../check.js';
import type { TensorInfo } from '../types.js';
import { PROJS, type Proj } from './reference.js';

/**
 * x [..., K] f32/f16/bf16, W_gate and W_up [I, K], W_down [N, I], all of x's dtype; per
 * projection an adapter A [r, in], B [out, r] given whole or not at all (one half alone
 * would be silently ignored). K and I are reduction lengths and must not be empty; so must
 * a present adapter's rank (s = alpha/r). Returns the sizes and the adapters' ranks.
 */
export function checkMlp(op: string, i: Record<string, TensorInfo | undefined>) {
  const x = required(op, 'x', i.x);
  expectRank(op, 'x', x, [2, 3, 4], '[..., K] (rank 2 to 4)');
  expectDtype(op, 'x', x, FLOAT_DTYPES);
  expectNonEmptyAxis(op, 'x', x, -1, 'the input features K');
  const k = x.shape[x.shape.length - 1];
  const wg = required(op, 'wGate', i.wGate);
  expectRank(op, 'wGate', wg, [2], `[I, ${k}]`);
  const inter = wg.shape[0];
  expectShape(op, 'wGate', wg, [inter, k], x.dtype);
  expectNonEmptyAxis(op, 'wGate', wg, 0, 'the intermediate size I');
  expectShape(op, 'wUp', required(op, 'wUp', i.wUp), [inter, k], x.dtype);
  const wd = required(op, 'wDown', i.wDown);
  expectRank(op, 'wDown', wd, [2], `[N, ${inter}]`);
  const n = wd.shape[0];
  expectShape(op, 'wDown', wd, [n, inter], x.dtype);
  const lead = x.shape.slice(0, -1);
  const ranks: Partial<Record<Proj, number>> = {};
  for (const p of PROJS) {
    const [out, inp] = p === 'down' ? [n, inter] : [inter, k];
    const a = i[`${p}A`];
    const b = i[`${p}B`];
    if (!a && !b) continue;
    if (!a || !b) {
      const [given, missing] = a ? [`${p}A`, `${p}B`] : [`${p}B`, `${p}A`];
      throw new ShapeError(`[${op}] ${missing}: expected with ${given} (an adapter is A and B together), got none`);
    }
    expectRank(op, `${p}A`, a, [2], `[r, ${inp}]`);
    expectShape(op, `${p}A`, a, [a.shape[0], inp], x.dtype);
    expectNonEmptyAxis(op, `${p}A`, a, 0, 'the LoRA rank r');
    expectShape(op, `${p}B`, b, [out, a.shape[0]], x.dtype);
    ranks[p] = a.shape[0];
  }
  const t = lead.reduce((p, q) => p * q, 1);
  // h [T, I] is formed (and masked by its element index) on the device: it must be indexable too.
  expectIndexable(op, 'h (the activations [..., I])', { dtype: x.dtype, shape: [...lead, inter] });
  for (const [name, tt] of Object.entries(i)) if (tt) expectIndexable(op, name, tt);
  return { x, k, inter, n, t, lead, ranks };
}

/** Tensors given that the call would ignore are errors, not silently dropped. */
export function expectAbsent(op: string, name: string, t: TensorInfo | undefined, why: string): void {
  if (t) throw new ShapeError(`[${op}] ${name}: given ${why} (it would be ignored); expected none, got ${fmt(t)}`);
}

/**
 * fused_mlp's norm prologue inputs: normWeight (γ) [K] of x's dtype; residual of x's shape and
 * dtype, only together with normWeight (alone it would be added to nothing the op uses).
 * Returns whether the prologue runs and whether it adds a residual.
 */
export function checkMlpNorm(op: string, i: Record<string, TensorInfo | undefined>, x: TensorInfo, k: number): { norm: boolean; residual: boolean } {
  const g = i.normWeight;
  const r = i.residual;
  if (!g) {
    expectAbsent(op, 'residual', r, 'without normWeight (the residual is added before the norm)');
    return { norm: false, residual: false };
  }
  expectShape(op, 'normWeight', g, [k], x.dtype);
  if (r) expectShape(op, 'residual', r, x.shape, x.dtype);
  return { norm: true, residual: !!r };
}
