// quantized_gemm's dequant prefill plan (PMETAL_QGEMM_PREFILL=dequant, launchers/qgemm_prefill.ts):
// W decoded once to f16 (f32 for f32 x, on request only), then the gemm of x's dtype. The plan an
// H100 would get (Dawn's null backend), the fallbacks (decode sizes, bf16 x), and the numbers on
// lavapipe against the float64 reference through the op's bound (which counts ŵ's f16 rounding
// for f16 x), every format, f16 and f32 x.
import { describe, expect, it } from 'vitest';
import { dequantTempFits, QGEMM_DEQUANT_MAX_BYTES, qgemmPrefillVariant } from '../../src/backend/webgpu/launchers/qgemm_prefill.js';
import { quantizedGemmLauncher } from '../../src/backend/webgpu/launchers/quantized_gemm.js';
import type { FloatDType } from '../../src/dtype.js';
import { qgemmCase, qgemmInputs, type QgemmCaseDef } from '../../src/ops/quantized_gemm/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { checkAgainstReference } from './against_reference.js';
import { withEnv } from './env_variant.js';
import { recordPlan } from './null_plan.js';
import { useWebGpuIfAny, useDawnNull } from '../webgpu_backends.js';

const nullGpu = useDawnNull();
const gpu = useWebGpuIfAny();

const withVariant = <T>(v: string | undefined, fn: () => T): T => withEnv('PMETAL_QGEMM_PREFILL', v, fn);

/** The shaders quantized_gemm records for `d` with x in `dtype` on `tier`, on the null backend. */
function plan(d: QgemmCaseDef, dtype: FloatDType, variant: string | undefined, tier: 'subgroup-matrix' | 'portable' = 'subgroup-matrix'): string[] {
  const be = nullGpu()!;
  const host = qgemmInputs(d, dtype, 3);
  return withVariant(variant, () =>
    recordPlan(be, 49152, (ctx) => {
      const ins: Record<string, Tensor> = Object.fromEntries(Object.entries(host).map(([k, h]) => [k, be.tensor(h.data, h.shape, h.dtype)]));
      const spec = getSpec('quantized_gemm');
      const o = spec.options.parse(qgemmCase(d).options);
      const res = quantizedGemmLauncher.launch(ctx, tier, ins, o, spec.check(ins, o) as never);
      for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
    }),
  ).map((p) => p.pipeline.shader);
}

describe('quantized_gemm: the dequant prefill plan', () => {
  const big: QgemmCaseDef = { format: 'mlx4', m: 256, n: 512, k: 1024, groupSize: 64 };
  it('decodes W once, then the f16 gemm (matrix units on the subgroup-matrix tier, by default there); tiles on request, at decode sizes and for x not f16', () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    // (the gemm may split K at this size: its reduce follows)
    const dq = plan(big, 'f16', 'dequant');
    expect(dq.slice(0, 2)).toEqual(['quant/dequantize.wgsl', 'gemm/gemm_sgmat_vec.wgsl']);
    expect(dq.filter((s) => s.startsWith('quant/'))).toEqual(['quant/dequantize.wgsl']);
    expect(plan({ ...big, m: 4096, n: 4096 }, 'f16', 'dequant')).toEqual(['quant/dequantize.wgsl', 'gemm/gemm_sgmat_vec.wgsl']);
    expect(plan(big, 'f16', undefined).slice(0, 2)).toEqual(['quant/dequantize.wgsl', 'gemm/gemm_sgmat_vec.wgsl']);
    expect(plan(big, 'f16', 'tiles')).toEqual(['quant/qgemm_sgmat.wgsl']);
    expect(plan(big, 'f16', undefined, 'portable')).toEqual(['quant/qgemm_tiled.wgsl']);
    expect(plan({ ...big, m: 8 }, 'f16', 'dequant')).toEqual(['quant/qgemv_rows.wgsl']);
    // f32 x: W decoded to f32, then the f32 gemm (by default on the subgroup-matrix tier, on
    // request elsewhere); bf16 x never.
    for (const [variant, tier] of [[undefined, 'subgroup-matrix'], ['dequant', 'portable']] as const) {
      const f32 = plan(big, 'f32', variant, tier);
      expect(f32[0]).toBe('quant/dequantize.wgsl');
      expect(f32.slice(1).length).toBeGreaterThan(0);
      expect(f32.slice(1).every((s) => s.startsWith('gemm/'))).toBe(true);
    }
    expect(plan(big, 'f32', undefined, 'portable')).toEqual(['quant/qgemm_tiled.wgsl']);
    expect(plan(big, 'f32', 'tiles').every((s) => s.startsWith('quant/qgemm'))).toBe(true);
    expect(plan(big, 'bf16', 'dequant').every((s) => s.startsWith('quant/qgemm'))).toBe(true);
  });
  it("the f16 copy of W stays within 1 GiB and the device's maxBufferSize (else the tiles)", () => {
    expect(dequantTempFits(128256 * 4096 * 2, 2 ** 31)).toBe(true);
    expect(dequantTempFits(QGEMM_DEQUANT_MAX_BYTES + 2, 2 ** 34)).toBe(false);
    expect(dequantTempFits(14336 * 4096 * 2, 2 ** 26)).toBe(false);
    expect(dequantTempFits(4096 * 4096 * 2, 2 ** 28)).toBe(true);
  });
  it('PMETAL_QGEMM_PREFILL is validated', () => {
    expect(qgemmPrefillVariant()).toBe('auto');
    expect(() => qgemmPrefillVariant('fast')).toThrow(/PMETAL_QGEMM_PREFILL: expected one of auto, tiles, dequant, got 'fast'/);
  });
  const cases: QgemmCaseDef[] = [
    { format: 'mlx4', m: 40, n: 70, k: 128, groupSize: 32, scaleDtype: 'bf16' },
    { format: 'mlx8', m: 33, n: 17, k: 256, groupSize: 128 },
    { format: 'q4_0', m: 24, n: 40, k: 96, batch: 2, mode: 'bits' },
    { format: 'q8_0', m: 20, n: 33, k: 64, outDtype: 'f32' },
    { format: 'q4_k', m: 50, n: 21, k: 512 },
    { format: 'q6_k', m: 17, n: 9, k: 256, mode: 'bits' },
  ];
  it.each(cases.flatMap((d) => [['f16', d], ['f32', d]] as const))('%s x within the bound on lavapipe: %j', async (dtype, d) => {
    expect(gpu(), 'a webgpu adapter').toBeDefined();
    const host = qgemmInputs(d, dtype, 17);
    const res = await withVariant('dequant', () => checkAgainstReference(gpu()!, 'quantized_gemm', host, qgemmCase(d).options));
    expect(res.bad).toEqual([]);
  });
});
