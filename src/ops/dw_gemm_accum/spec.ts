import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectRank, expectSameDtype, expectShape, finite, fmt, required } from '../check.js';
import { gemmRef } from '../gemm/reference.js';
import { U32, boundsOf, gamma } from '../tolerance.js';
import { defineOp, type OpCase, type RefTensor, type TensorInfo } from '../types.js';
import { dwGemmFuzz } from './fuzz.js';
import { dwInputs, dwLabel, type DwCaseDef } from './cases.js';

export const dwGemmAccumOptions = z.object({ alpha: finite().default(1), beta: finite().default(0) }).strict();
export type DwGemmAccumOptions = z.input<typeof dwGemmAccumOptions>;

const OP = 'dw_gemm_accum';

/** Rows summed over (K = micro-batches × T) and the output's M, N. */
export function dwDims(a: TensorInfo, b: TensorInfo) {
  const m = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  return { m, n, k: a.shape.reduce((x, y) => x * y, 1) / m };
}

/** A [T, M] (or [mb, T, M]) as the [K, M] operand of a transposed gemm: the same memory. */
const flat = (t: RefTensor, cols: number): RefTensor => ({ ...t, shape: [t.data.length / cols, cols] });

const dwCase = (d: DwCaseDef): OpCase => ({
  label: dwLabel(d),
  options: { ...(d.alpha !== undefined ? { alpha: d.alpha } : {}), ...(d.beta ? { beta: d.beta } : {}) },
  quick: d.quick,
  make: (dtype, seed) => dwInputs(d, dtype, seed),
});

export const dwGemmAccum = defineOp({
  name: OP,
  summary:
    'The weight-gradient product C = α·Aᵀ·B + β·C in f32 (A [T, M] activations or upstream gradients, B [T, N]); rank-3 A/B [mb, T, ·] are summed over the micro-batches too. Runs the gemm kernels (transposed A, f32 output) on every tier.',
  inputs: [
    { name: 'a', doc: '[T, M] or [mb, T, M], f32/f16/bf16' },
    { name: 'b', doc: '[T, N] or [mb, T, N], dtype and leading dims of a' },
    { name: 'c', optional: true, doc: 'f32 [M, N], the gradient so far; required when beta ≠ 0 (and only then)' },
  ],
  outputs: [{ name: 'c', doc: 'f32 [M, N]: α·Aᵀ·B + β·C (a new tensor)' }],
  options: dwGemmAccumOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const a = required(OP, 'a', i.a);
    const b = required(OP, 'b', i.b);
    expectRank(OP, 'a', a, [2, 3], '[T, M] or [mb, T, M]');
    expectRank(OP, 'b', b, [2, 3], '[T, N] or [mb, T, N]');
    expectDtype(OP, 'a', a, FLOAT_DTYPES);
    expectSameDtype(OP, 'b', b, a, 'a');
    const lead = a.shape.slice(0, -1);
    if (b.shape.length !== a.shape.length || lead.some((d, k) => d !== b.shape[k])) {
      throw new ShapeError(`[${OP}] b: expected [${lead.join(',')}, N] (the leading dims of a ${fmt(a)}: the same tokens), got ${fmt(b)}`);
    }
    const { m, n } = dwDims(a, b);
    if (o.beta !== 0 && !i.c) throw new ShapeError(`[${OP}] c: required when beta ≠ 0 (beta = ${o.beta}), got none`);
    if (o.beta === 0 && i.c) throw new OptionsError(`[${OP}] beta: expected a nonzero beta when c is given (beta = 0 would ignore c), got 0`);
    if (i.c) expectShape(OP, 'c', i.c, [m, n], 'f32');
    return { c: { dtype: 'f32', shape: [m, n] } };
  },
  // No rows (T = 0 or mb = 0): Aᵀ·B sums over none, so C = β·C (0 without c), as torch.addmm.
  emptyResult(i, o) {
    if (dwDims(i.a!, i.b!).k !== 0) return undefined;
    return { c: o.beta === 0 ? 0 : { input: 'c', scale: o.beta } };
  },
  reference(i, o) {
    const { m, n } = dwDims(i.a!, i.b!);
    const { y } = gemmRef(flat(i.a!, m), flat(i.b!, n), i.c, undefined, { transA: true, transB: false, alpha: o.alpha, beta: o.beta });
    return { c: { dtype: 'f32', shape: [m, n], data: y } };
  },
  bounds(i, o, ref) {
    // gemm's bound (src/ops/gemm/spec.ts) with K = mb·T and an f32 output: exact products,
    // the K-term f32 accumulation γ_K·S (γ_2K for f16, whose subgroup-matrix tier adds with
    // truncation), then α·ŝ ⊕ β·c: γ_3·(|α|·S + |β·c|), and the f32 rounding.
    const { m, n, k } = dwDims(i.a!, i.b!);
    const { absSum } = gemmRef(flat(i.a!, m), flat(i.b!, n), i.c, undefined, { transA: true, transB: false, alpha: o.alpha, beta: o.beta }, true);
    const gAcc = i.a!.dtype === 'f16' ? gamma(2 * k) : gamma(k);
    const g3 = gamma(3);
    const c = i.c?.data;
    return {
      c: boundsOf('f32', ref.c!.data, (j) => {
        const p = Math.abs(o.alpha) * absSum![j];
        return gAcc * p * (1 + U32) ** 3 + g3 * (p + (c ? Math.abs(o.beta * c[j]) : 0));
      }),
    };
  },
  cases: [
    dwCase({ t: 1, m: 1, n: 1, quick: true }),
    dwCase({ t: 17, m: 33, n: 65, quick: true }),
    dwCase({ t: 7, m: 20, n: 24, mb: 3, beta: 1, quick: true }),
    dwCase({ t: 64, m: 33, n: 70, quick: true }),
    dwCase({ t: 32, m: 45, n: 66, mb: 2, alpha: 0.5, beta: -1, quick: true }),
    dwCase({ t: 100, m: 1, n: 129, alpha: 2, quick: true }),
    dwCase({ t: 3, m: 130, n: 5, beta: 0.25, quick: true }),
    dwCase({ t: 512, m: 256, n: 300 }),
    dwCase({ t: 128, m: 128, n: 64, mb: 4, beta: 1 }),
    dwCase({ t: 1000, m: 17, n: 4096, alpha: 0.125 }),
  ],
  bench: [
    // Llama-3-8B, T = 4096 tokens: the down projection's dW [4096, 14336] = dyᵀ·h, and a
    // 4096 × 4096 projection's over 4 micro-batches of 1024 tokens, accumulated.
    { label: 't=4096,m=4096,n=14336', options: {}, make: (d, s) => dwInputs({ t: 4096, m: 4096, n: 14336 }, d, s) },
    { label: 't=1024,m=4096,n=4096,mb=4,beta=1', options: { beta: 1 }, make: (d, s) => dwInputs({ t: 1024, m: 4096, n: 4096, mb: 4, beta: 1 }, d, s) },
  ],
  cost(i) {
    const { m, n, k } = dwDims(i.a!, i.b!);
    const e = BYTES[i.a!.dtype];
    return { flops: 2 * m * n * k, bytes: k * (m + n) * e + m * n * 4 * (i.c ? 2 : 1) };
  },
  gradCheck: {
    // dL/dB of y = A·B (gemm, A [T, M] or [batch, T, M], B [M, N] broadcast) is Aᵀ·dy summed
    // over the batch: this op with a = A, b = dy.
    forward: 'gemm',
    grads: { b: 'c' },
    upstream: { y: 'b' },
    applies: (c) => /^m=\d+,n=\d+,k=\d+(,batchA=\d+)?$/.test(c.label),
    backwardInputs: (fin, _fout, up) => ({ a: fin.a, b: up.y }),
  },
  fuzz: dwGemmFuzz,
});
