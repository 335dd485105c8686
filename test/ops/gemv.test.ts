import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import type { FloatDType } from '../../src/dtype.js';
import { uniform } from '../../src/ops/random.js';
import type { HostTensor } from '../../src/ops/types.js';
import { checkAgainstReference } from './against_reference.js';
import { useWebGpu } from '../webgpu_backends.js';

// gemm's decode kernels (M ≤ 16, b as [N,K]) on the webgpu backend, each PMETAL_GEMV_VARIANT,
// against the float64 reference through the op's derived bound, with the kernel that ran
// checked: gemm_gemv_rows where rows are whole 16-byte words (its two-word loop and the odd
// word, 1 to 4 rounds of the reduction, ragged N, batches, the epilogue; its 2- and 4-team
// workgroups), the column kernel
// otherwise and under 'column'.

interface Shape {
  m: number;
  n: number;
  k: number;
  batch?: number;
  beta?: number;
  bias?: boolean;
  outDtype?: FloatDType;
}
const SHAPES: Shape[] = [
  // f16: 521 words a row (two 256-word steps and one more); f32 1042.
  { m: 1, n: 13, k: 4168 },
  { m: 7, n: 6, k: 2064, batch: 2, beta: 0.5, bias: true },
  { m: 16, n: 9, k: 1032, outDtype: 'f32' },
  { m: 9, n: 3, k: 48, bias: true },
  // K not a multiple of 8: f16/bf16 rows are no whole words (the column kernel), f32 ones are.
  { m: 4, n: 5, k: 100 },
  // teams2 / teams4: three workgroups of 16 (8) columns, the last one partly past N.
  { m: 8, n: 37, k: 1040, bias: true },
];

function inputs(s: Shape, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const od = s.outDtype ?? dtype;
  const yShape = s.batch ? [s.batch, s.m, s.n] : [s.m, s.n];
  return {
    a: uniform(dtype, s.batch ? [s.batch, s.m, s.k] : [s.m, s.k], seed),
    b: uniform(dtype, s.batch ? [s.batch, s.n, s.k] : [s.n, s.k], seed + 1),
    ...(s.beta ? { c: uniform(od, yShape, seed + 2) } : {}),
    ...(s.bias ? { bias: uniform(od, [s.n], seed + 3) } : {}),
  };
}

describe('gemm decode kernels (webgpu)', () => {
  const gpu = useWebGpu();
  const shaders: string[] = [];
  beforeAll(() => {
    const rt = gpu().rt;
    const dispatch = rt.dispatch.bind(rt);
    rt.dispatch = (d) => {
      shaders.push(d.pipeline.shader);
      dispatch(d);
    };
  });
  afterAll(() => {
    delete process.env.PMETAL_GEMV_VARIANT;
    refreshTuning();
  });

  // lavapipe compiles each M's pipeline in seconds: the 128-invocation and column variants
  // run one shape (the column kernel's other paths are in the conformance cases).
  const runs: [string, FloatDType, Shape[]][] = [
    ['rows', 'f16', SHAPES],
    ['rows', 'f32', [SHAPES[0], SHAPES[4]]],
    ['rows', 'bf16', [SHAPES[1], SHAPES[2]]],
    ['rows128', 'f16', [SHAPES[1]]],
    ['teams4', 'f16', [SHAPES[5], SHAPES[2]]],
    ['teams2', 'f32', [SHAPES[5], SHAPES[1]]],
    ['column', 'bf16', [SHAPES[1]]],
  ];
  for (const [variant, dtype, shapes] of runs) {
    {
      it(`${variant} ${dtype}`, { timeout: 600_000 }, async () => {
        process.env.PMETAL_GEMV_VARIANT = variant;
        refreshTuning();
        for (const [i, s] of shapes.entries()) {
          shaders.length = 0;
          const opts = { transB: true, ...(s.beta ? { beta: s.beta } : {}), ...(s.outDtype ? { outDtype: s.outDtype } : {}) };
          const r = await checkAgainstReference(gpu(), 'gemm', inputs(s, dtype, 10 * i + 1), opts);
          expect(r.bad, JSON.stringify(s)).toEqual([]);
          const words = s.k % (dtype === 'f32' ? 4 : 8) === 0;
          expect(shaders, JSON.stringify(s)).toEqual([variant !== 'column' && words ? 'gemm/gemm_gemv_rows.wgsl' : 'gemm/gemm_gemv.wgsl']);
        }
      });
    }
  }
});
