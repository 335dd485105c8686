// fused_mlp on the 'subgroup-matrix' tier does not take the one-pass gate/up kernel (SIMT
// gemm_tiled tiles): two matrix-unit projections and the swiglu kernel instead, the path
// recompute = false already takes (its bound covers g and u rounded to the dtype). Checked on
// Dawn's null backend, which builds and validates the launch but runs nothing.
import { expect, it } from 'vitest';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { fusedMlpLauncher } from '../../src/backend/webgpu/launchers/fused_mlp.js';
import { MLP_DEFS, mlpForwardInputs, mlpOptions } from '../../src/ops/fused_mlp/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { useDawnNull } from '../webgpu_backends.js';

const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16)], subgroupMinSize: 32, subgroupMaxSize: 32, limits: {} as GPUSupportedLimits };

const nullGpu = useDawnNull();

it('subgroup-matrix tier: no SWIGLU one-pass dispatch, one swiglu pass, the launch validates', async () => {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  const spec = getSpec('fused_mlp');
  const def = MLP_DEFS.find((d) => d.quick)!;
  const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(mlpForwardInputs(def, 'f16', 1))) ins[k] = be.tensor(t.data, t.shape, t.dtype);
  const o = spec.options.parse({ ...mlpOptions(def, false), recompute: true });
  const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
  be.rt.trace = [];
  const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
  const trace = be.rt.trace;
  be.rt.trace = undefined;
  expect(trace.some((d) => d.pipeline.defines?.SWIGLU)).toBe(false);
  expect(trace.filter((d) => d.pipeline.shader.startsWith('elementwise/swiglu'))).toHaveLength(1);
  await be.sync();
  for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
});
