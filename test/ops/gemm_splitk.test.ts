import { afterAll, describe, expect, it } from 'vitest';
import { splitKPlan } from '../../src/backend/webgpu/launchers/gemm_splitk.js';
import { gemm as gemmOp } from '../../src/ops/gemm/spec.js';
import { toFloat64 } from '../../src/dtype.js';
import { useWebGpu } from '../webgpu_backends.js';

// Split-K (gemm_splitk.ts): which problems split, that the split path is what runs for them
// on webgpu (the partial pass with SPLIT_K, then gemm_splitk_reduce), that its result is
// inside the gemm's derived bound and the same bits on every run, and that
// PMETAL_GEMM_TUNE=splitK=0 turns it off.

describe('gemm split-K plan', () => {
  it('splits where its cost model (an H100: waves of 132 workgroups, partials at 2.5 TB/s, a dispatch) says it pays', () => {
    // LoRA x·Aᵀ at T = 2048, r = 16, K = 2048 on 128×256 tiles: 16 tiles → 8 chunks of 256.
    expect(splitKPlan(2048, 16, 2048, 128, 256, 2 ** 30)).toEqual({ chunk: 256, splits: 8 });
    // dB = dyᵀ·x: 8192 × 16 over T = 2048 → 64 tiles: two chunks fill the GPU.
    expect(splitKPlan(8192, 16, 2048, 128, 256, 2 ** 30)).toEqual({ chunk: 1024, splits: 2 });
    // Prefill's 2048³ projection fills one wave already: splitting only adds partials.
    expect(splitKPlan(2048, 2048, 2048, 128, 256, 2 ** 30)).toBeUndefined();
    expect(splitKPlan(4096, 4096, 4096, 128, 256, 2 ** 30)).toBeUndefined();
    // Small problems: the extra dispatch costs more than the K loop.
    expect(splitKPlan(40, 17, 700, 64, 64, 2 ** 30)).toBeUndefined();
    // Ragged K: chunks are multiples of 32, the last one short.
    expect(splitKPlan(24, 20, 4100, 64, 64, 2 ** 30)).toEqual({ chunk: 288, splits: 15 });
    // The partials must fit one binding: fewer chunks, or none.
    expect(splitKPlan(128, 256, 8192, 128, 256, 128 * 256 * 4 * 3)).toEqual({ chunk: 2752, splits: 3 });
    expect(splitKPlan(128, 256, 8192, 128, 256, 128 * 256 * 4)).toBeUndefined();
  });
});

describe('gemm split-K on webgpu', () => {
  const gpu = useWebGpu();
  afterAll(() => {
    delete process.env.PMETAL_GEMM_TUNE;
  });

  const shape = { m: 24, n: 20, k: 4096 };
  const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) * (1 + (i % 7)));
  const host = {
    a: { dtype: 'f32' as const, shape: [shape.m, shape.k], data: fill(shape.m * shape.k, 0.37) },
    b: { dtype: 'f32' as const, shape: [shape.k, shape.n], data: fill(shape.k * shape.n, 0.91) },
    c: { dtype: 'f32' as const, shape: [shape.m, shape.n], data: fill(shape.m * shape.n, 1.3) },
    bias: { dtype: 'f32' as const, shape: [shape.n], data: fill(shape.n, 2.1) },
  };
  const opts = { alpha: 0.5, beta: -1.5 };
  const run = async () => {
    const t = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, gpu().tensor(v.data, v.shape, v.dtype)]));
    gpu().rt.trace = [];
    const { y } = gpu().gemm(t as never, opts);
    const trace = gpu().rt.trace!;
    gpu().rt.trace = undefined;
    const out = (await gpu().read(y)) as Float32Array;
    Object.values(t).forEach((x) => x.dispose());
    y.dispose();
    return { out, shaders: trace.map((d) => d.pipeline.shader), defines: trace.map((d) => d.pipeline.defines) };
  };

  it('runs the partial pass over K chunks then the reduce, inside the derived bound, the same bits every run', async () => {
    const first = await run();
    expect(first.shaders).toEqual(['gemm/gemm_tiled.wgsl', 'gemm/gemm_splitk_reduce.wgsl']);
    expect(first.defines[0]).toMatchObject({ SPLIT_K: true, Y_DT: 0, HAS_C: false, HAS_BIAS: false });
    expect(first.defines[1]).toMatchObject({ HAS_C: true, HAS_BIAS: true });
    const again = await run();
    expect(Buffer.from(again.out.buffer).equals(Buffer.from(first.out.buffer))).toBe(true);
    // Against the float64 reference, within the op's own bound.
    const refIn = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: toFloat64(v.dtype, v.data) }]));
    const o = gemmOp.options.parse(opts);
    const ref = gemmOp.reference(refIn as never, o);
    const bound = gemmOp.bounds!(refIn as never, o, ref as never).y;
    let worst = 0;
    first.out.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref.y!.data[j]) / bound![j])));
    expect(worst).toBeLessThanOrEqual(1);
    // Against the unsplit kernel: PMETAL_GEMM_TUNE=splitK=0 is one dispatch.
    process.env.PMETAL_GEMM_TUNE = 'splitK=0';
    const whole = await run();
    delete process.env.PMETAL_GEMM_TUNE;
    expect(whole.shaders).toEqual(['gemm/gemm_tiled.wgsl']);
  });
});
