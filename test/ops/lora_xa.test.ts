// fused_lora_forward's x·Aᵀ through the decode GEMV (PMETAL_LORA_XA_VARIANT=gemv,
// launchers/lora_xa.ts): xaᵀ = A·xᵀ with A's r ≤ 16 rows as the GEMV's rows, then
// lora_transpose.wgsl. The plan an H100 would get (Dawn's null backend), and the numbers on
// lavapipe against the float64 reference through the op's bounds, dropout included.
import { describe, expect, it } from 'vitest';
import { fusedLoraForwardLauncher } from '../../src/backend/webgpu/launchers/fused_lora.js';
import { loraXaVariant } from '../../src/backend/webgpu/launchers/lora_xa.js';
import type { FloatDType } from '../../src/dtype.js';
import { loraForwardInputs, loraOptions, type LoraDef } from '../../src/ops/fused_lora_forward/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { checkAgainstReference } from './against_reference.js';
import { withEnv } from './env_variant.js';
import { recordPlan } from './null_plan.js';
import { useWebGpuIfAny, useDawnNull } from '../webgpu_backends.js';

const nullGpu = useDawnNull();
const gpu = useWebGpuIfAny();

const withVariant = <T>(v: string | undefined, fn: () => T): T => withEnv('PMETAL_LORA_XA_VARIANT', v, fn);

function plan(t: number, k: number, n: number, r: number, variant?: string) {
  const be = nullGpu()!;
  return withVariant(variant, () =>
    recordPlan(be, 49152, (ctx) => {
      const ins: Record<string, Tensor> = { x: be.zeros([t, k], 'f16'), weight: be.zeros([n, k], 'f16'), loraA: be.zeros([r, k], 'f16'), loraB: be.zeros([n, r], 'f16') };
      const spec = getSpec('fused_lora_forward');
      const o = spec.options.parse({});
      const res = fusedLoraForwardLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
      for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
    }),
  ).map((d) => d.pipeline.shader);
}

describe('fused_lora_forward: x·Aᵀ through the decode GEMV', () => {
  it('the gemv variant runs the GEMV over x then the transpose where r ≤ 16 and T > 16; the default keeps the split-K tile', () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    expect(plan(4096, 4096, 14336, 16, 'gemv').slice(0, 2)).toEqual(['gemm/gemm_gemv_rows.wgsl', 'lora/lora_transpose.wgsl']);
    expect(plan(4096, 4096, 14336, 16).slice(0, 2)).toEqual(['gemm/gemm_sgmat_vec.wgsl', 'gemm/gemm_splitk_reduce.wgsl']);
    // r past the GEMV's 16 rows, or T within them: the gemm launcher as before.
    expect(plan(4096, 4096, 14336, 32, 'gemv')).not.toContain('lora/lora_transpose.wgsl');
    expect(plan(8, 4096, 14336, 16, 'gemv')).not.toContain('lora/lora_transpose.wgsl');
  });
  it('PMETAL_LORA_XA_VARIANT is validated', () => {
    expect(loraXaVariant()).toBe('gemm');
    expect(() => loraXaVariant('fast')).toThrow(/PMETAL_LORA_XA_VARIANT: expected one of gemm, gemv, got 'fast'/);
  });
  const cases: [FloatDType, LoraDef][] = [
    ['f32', { lead: [40], k: 96, n: 50, r: 16, alpha: 32, bias: true }],
    ['f16', { lead: [3, 11], k: 72, n: 24, r: 5, dropout: 0.3, seed: 9 }],
    ['bf16', { lead: [20], k: 33, n: 17, r: 12, alpha: 8 }],
  ];
  it.each(cases)('%s: y and xa within the bounds on lavapipe (%j)', async (dtype, d) => {
    expect(gpu(), 'a webgpu adapter').toBeDefined();
    const host = loraForwardInputs(d, dtype, 21);
    const res = await withVariant('gemv', () => checkAgainstReference(gpu()!, 'fused_lora_forward', host, loraOptions(d, false)));
    expect(res.bad).toEqual([]);
  });
});
