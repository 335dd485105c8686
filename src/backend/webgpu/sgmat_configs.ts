/**
 * Which subgroup-matrix gemm kernel an adapter can run, from the configurations it reports
 * (`GPUAdapterInfo.subgroupMatrixConfigs`): each kernel is written for one configuration,
 * and the tier is offered only where one of them is present.
 *
 * - `f16-16`: f16 inputs, f32 results, 16×16×16 (NVIDIA through Vulkan; also 16×8×16 and
 *   16×8×8 there) — gemm_sgmat.wgsl and gemm_sgmat_vec.wgsl.
 * - `f32-8`: f32 inputs and results, 8×8×8 (Apple GPUs through Metal report it next to
 *   f16→f16 8×8×8) — gemm_sgmat8.wgsl stages the f16 operands as f32 (exact), so the sums
 *   are those of the f16-16 kernels and the bound is the same.
 *
 * Configurations whose results are f16 (Apple's f16→f16 8×8×8, Intel Xe2's f16→f16 8×16×16)
 * accumulate in f16: outside the gemm bound (f32 accumulation), so they are refused and
 * gemm stays on its `portable` tier there.
 */
export type SgmatKernel = 'f16-16' | 'f32-8';

export interface SgmatConfig {
  componentType?: string;
  resultComponentType?: string;
  // GPUSubgroupMatrixConfig's M/N/K are `unsigned long long` (a BigInt in some bindings).
  M?: number | bigint;
  N?: number | bigint;
  K?: number | bigint;
}

export type SgmatChoice = { kernel: SgmatKernel; subgroupSize: number } | { kernel: undefined; reason: string };

const show = (c: SgmatConfig) => `${c.componentType}→${c.resultComponentType} ${Number(c.M)}×${Number(c.N)}×${Number(c.K)}`;
const is = (c: SgmatConfig, ct: string, rt: string, m: number, n: number, k: number) =>
  c.componentType === ct && c.resultComponentType === rt && Number(c.M) === m && Number(c.N) === n && Number(c.K) === k;

/**
 * The kernel for these configurations, or why none fits. `subgroupMaxSize` is the adapter's
 * (the kernels lay 8 subgroups of it out per workgroup), `maxInvocations` its
 * maxComputeInvocationsPerWorkgroup.
 */
export function pickSgmatKernel(configs: readonly SgmatConfig[], subgroupMaxSize: number | undefined, maxInvocations: number): SgmatChoice {
  const sg = subgroupMaxSize && subgroupMaxSize > 0 ? subgroupMaxSize : 32;
  if (8 * sg > maxInvocations) return { kernel: undefined, reason: `the kernels need workgroups of 8 subgroups of ${sg} (maxComputeInvocationsPerWorkgroup is ${maxInvocations})` };
  if (configs.some((c) => is(c, 'f16', 'f32', 16, 16, 16))) return { kernel: 'f16-16', subgroupSize: sg };
  if (configs.some((c) => is(c, 'f32', 'f32', 8, 8, 8))) return { kernel: 'f32-8', subgroupSize: sg };
  return {
    kernel: undefined,
    reason: configs.length
      ? `no configuration with f32 accumulation that a kernel is written for (f16→f32 16×16×16 or f32→f32 8×8×8); the adapter offers ${configs.map(show).join(', ')}`
      : 'the adapter reports no subgroup-matrix configurations',
  };
}
