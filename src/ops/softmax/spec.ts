import { z } from 'zod';
import { FLOAT_DTYPES, fromFloat64 } from '../../dtype.js';
import { expectDtype, expectRank, f32Scalar, i32Int, required, rowsCols } from '../check.js';
import { uniform } from '../random.js';
import { U32, ULP, boundsOf } from '../tolerance.js';
import { defineOp, type OpCase } from '../types.js';
import { softmaxRef } from './reference.js';
import { softmaxFuzz } from './fuzz.js';

export const softmaxOptions = z
  .object({
    /** Packed as f32 (f32Scalar: 0 or a normal f32). */
    scale: f32Scalar().default(1),
    causal: z.boolean().default(false),
    /**
     * Causal only: query q sees keys k ≤ q + queryOffset; default Sk − Sq (bottom-right). Any
     * i32: the kernels take it as i32 and form q + queryOffset + 1 without overflow.
     */
    queryOffset: i32Int().optional(),
  })
  .strict()
  // An option that would be silently ignored is an error.
  .superRefine((o, ctx) => {
    if (o.queryOffset !== undefined && !o.causal) ctx.addIssue({ code: 'custom', path: ['queryOffset'], message: `only applies with causal: true (got ${o.queryOffset} without it)` });
  });
export type SoftmaxOptions = z.input<typeof softmaxOptions>;

const c = (label: string, shape: number[], options: Record<string, unknown>, quick: boolean, lo = -4, hi = 4): OpCase => ({
  label,
  options,
  quick,
  make: (dtype, seed) => ({ x: uniform(dtype, shape, seed, lo, hi) }),
});

/**
 * Rows whose first `cols` entries are −Inf (all of a row with cols = n; with causal, the
 * entries a query sees): `rows` lists which. The semantics under test are the reference's.
 */
const negInf = (label: string, shape: number[], options: Record<string, unknown>, rows: number[], cols: number): OpCase => ({
  label,
  options,
  quick: true,
  make: (dtype, seed) => {
    const x = uniform(dtype, shape, seed, -4, 4);
    const n = shape[shape.length - 1];
    const ninf = dtype === 'f32' ? -Infinity : fromFloat64(dtype, [-Infinity])[0];
    for (const r of rows) (x.data as Float32Array | Uint16Array).fill(ninf, r * n, r * n + cols);
    return { x };
  },
});

export const softmax = defineOp({
  name: 'softmax',
  summary: 'Softmax over the last dimension of scale·x, with an optional causal mask aligned bottom-right.',
  inputs: [{ name: 'x', doc: '[..., N] (causal: [..., Sq, Sk])' }],
  outputs: [{ name: 'y', doc: 'shape and dtype of x' }],
  options: softmaxOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const op = 'softmax';
    const x = required(op, 'x', i.x);
    expectDtype(op, 'x', x, FLOAT_DTYPES);
    expectRank(op, 'x', x, o.causal ? [2, 3, 4] : [1, 2, 3, 4], o.causal ? '[..., Sq, Sk] (rank 2 to 4) for a causal mask' : '[..., N] with rank 1 to 4');
    return { y: { dtype: x.dtype, shape: x.shape } };
  },
  reference(i, o) {
    const x = i.x!;
    return { y: { dtype: x.dtype, shape: x.shape, data: softmaxRef(x, o.scale, o.causal, o.queryOffset).y } };
  },
  bounds(i, o, ref) {
    // Per element (units of U32): z = fl(scale·x) and z − m each round (an absolute argument
    // error of U32·(|z| + |m| + |z−m|), which exp turns into that relative error), exp itself
    // (ULP.exp), the N-term sum (γ_N ≈ N) plus the largest such exp error in any term, and
    // the division (ULP.div). Masked entries are exactly 0.
    const x = i.x!;
    const [rows, n] = rowsCols(x.shape);
    const r = softmaxRef(x, o.scale, o.causal, o.queryOffset);
    const termErr = new Float64Array(x.data.length);
    const rowErr = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      const lim = r.limitOf(row);
      const m = r.rowMax[row];
      // No visible key (y = 0 exactly) or all visible entries −Inf (NaN, matched exactly).
      if (!Number.isFinite(m)) continue;
      for (let j = 0; j < lim; j++) {
        const zz = r.z[row * n + j];
        const d = zz - m;
        const e = Math.abs(zz) + Math.abs(m) + Math.abs(d) + ULP.exp(d);
        termErr[row * n + j] = e;
        rowErr[row] = Math.max(rowErr[row], e);
      }
    }
    const y = ref.y!.data;
    return {
      y: boundsOf(x.dtype, y, (j) => {
        const row = Math.floor(j / n);
        return (termErr[j] + rowErr[row] + n + 2 + ULP.div) * U32 * Math.abs(y[j]);
      }),
    };
  },
  cases: [
    c('rows=1,n=1', [1, 1], {}, true),
    c('rows=7,n=33', [7, 33], {}, true),
    c('rows=3,n=4096', [3, 4096], { scale: 0.125 }, true),
    c('rows=2,n=8192', [2, 8192], { scale: 0.5 }, true),
    c('rows=5,n=1000,wide', [5, 1000], {}, true, -30, 30),
    c('causal,sq=sk=17', [2, 17, 17], { causal: true }, true),
    c('causal,sq=5,sk=37', [3, 5, 37], { causal: true, scale: 0.5 }, true),
    c('causal,offset=-2', [1, 9, 9], { causal: true, queryOffset: -2 }, true),
    c('causal,sq=8,sk=64', [2, 8, 64], { causal: true, scale: 0.3 }, true),
    c('causal,offset=-3,sq=sk=16', [1, 16, 16], { causal: true, queryOffset: -3 }, true),
    // Offsets at the ends of i32: every key visible (q + offset + 1 past 2^31 must not wrap),
    // and none.
    c('causal,offset=2^31-2', [2, 3, 40], { causal: true, queryOffset: 2 ** 31 - 2 }, true),
    c('causal,offset=-2^31', [1, 5, 24], { causal: true, queryOffset: -(2 ** 31) }, true),
    // All −Inf rows: NaN where visible (torch.softmax), masked entries 0. Rows of 40 f16
    // take the register kernel on webgpu, rows of 33 the word kernel.
    negInf('rows=4,n=40,-inf-rows', [4, 40], {}, [1, 3], 40),
    negInf('rows=3,n=33,-inf-row', [3, 33], {}, [0], 33),
    negInf('causal,sq=4,sk=40,-inf-visible', [1, 4, 40], { causal: true, queryOffset: 2 }, [0, 2], 5),
    c('rows=64,n=8192', [64, 8192], {}, false),
    c('causal,b=2,h=4,s=256', [2, 4, 256, 256], { causal: true, scale: 0.088 }, false),
  ],
  bench: [
    { label: 'rows=131072,n=4096(32x4096x4096)', options: { scale: 0.088 }, make: (d, s) => ({ x: uniform(d, [32, 4096, 4096], s) }) },
    { label: 'causal,32x2048x2048', options: { scale: 0.088, causal: true }, make: (d, s) => ({ x: uniform(d, [32, 2048, 2048], s) }) },
  ],
  cost(i) {
    const [rows, n] = rowsCols(i.x!.shape);
    const e = i.x!.dtype === 'f32' ? 4 : 2;
    return { flops: 5 * rows * n, bytes: 2 * rows * n * e };
  },
  fuzz: softmaxFuzz,
});
