import { describe, expect, it } from 'vitest';
import { pickSgmatKernel, type SgmatConfig } from '../../src/backend/webgpu/sgmat_configs.js';

// The configuration lists adapters report through Dawn (GPUAdapterInfo.subgroupMatrixConfigs):
// NVIDIA through Vulkan (read on the H100: f16→f32 16×16×16, 16×8×16, 16×8×8 and
// i8→i32 16×16×32), Apple through Metal (f32→f32 and f16→f16 8×8×8), Intel Xe2 through
// Vulkan / D3D12 (f16→f16 8×16×16).
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number): SgmatConfig => ({ componentType, resultComponentType, M, N, K });
const NVIDIA = [cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16), cfg('f16', 'f32', 16, 8, 8), cfg('i8', 'i32', 16, 16, 32)];
const APPLE = [cfg('f32', 'f32', 8, 8, 8), cfg('f16', 'f16', 8, 8, 8)];
const INTEL = [cfg('f16', 'f16', 8, 16, 16)];

describe('subgroup-matrix kernel choice from the adapter configurations', () => {
  it('NVIDIA: the f16→f32 16×16×16 kernels', () => {
    expect(pickSgmatKernel(NVIDIA, 32, 1024)).toEqual({ kernel: 'f16-16', subgroupSize: 32 });
    // BigInt M/N/K (some bindings) read the same.
    const big = NVIDIA.map((c) => ({ ...c, M: BigInt(Number(c.M)), N: BigInt(Number(c.N)), K: BigInt(Number(c.K)) }));
    expect(pickSgmatKernel(big, 32, 1024).kernel).toBe('f16-16');
  });
  it('Apple: the f32 8×8×8 kernel (f16 staged as f32), never the f16-accumulating config', () => {
    expect(pickSgmatKernel(APPLE, 32, 1024)).toEqual({ kernel: 'f32-8', subgroupSize: 32 });
    expect(pickSgmatKernel([cfg('f16', 'f16', 8, 8, 8)], 32, 1024)).toMatchObject({ kernel: undefined, reason: expect.stringMatching(/f32 accumulation.*f16→f16 8×8×8/) });
  });
  it('Intel Xe2: refused (f16 accumulation), so gemm stays portable', () => {
    const c = pickSgmatKernel(INTEL, 32, 1024);
    expect(c.kernel).toBeUndefined();
    expect(c).toMatchObject({ reason: expect.stringMatching(/f16→f16 8×16×16/) });
  });
  it('refuses where 8 subgroups do not fit a workgroup, or nothing is reported', () => {
    expect(pickSgmatKernel(NVIDIA, 64, 256)).toMatchObject({ kernel: undefined, reason: expect.stringMatching(/8 subgroups of 64/) });
    expect(pickSgmatKernel([], 32, 1024)).toMatchObject({ kernel: undefined, reason: expect.stringMatching(/no subgroup-matrix configurations/) });
  });
});
