import type { DType } from '../../dtype.js';
import type { TensorInfo } from '../../ops/types.js';
import type { Tensor } from '../../tensor.js';
export type MetalTier = 'metal4' | 'metal3';
export interface ChipInfo { name: string; family: 'apple7'|'apple8'|'apple9'|'apple10'|'unknown'; tier: 'base'|'pro'|'max'|'ultra'; hasNax: boolean; metal4: boolean; host: boolean; maxThreadsPerThreadgroup: number }
export interface MetalConstant { index: number; type: 'bool'|'int'|'uint'|'float'|'half'|'short'|'ushort'; value: number | boolean }
export interface MetalDispatch {
  /** MSL source path under msl/, e.g. 'norm/rms_norm.metal' (embedded at build time, compiled lazily, cached). */
  library: string;
  /** Kernel (host_name) to run. */
  fn: string;
  constants?: MetalConstant[];
  /** Tensors (whole buffer, or a byte offset) bound at [[buffer(index)]]. */
  buffers: { index: number; tensor: Tensor; offset?: number }[];
  /** Small constant data at [[buffer(index)]] (a `constant Params&`): use packParams from ../params.js. */
  bytes?: { index: number; data: ArrayBuffer }[];
  threadgroupMemory?: { index: number; byteLength: number }[];
  grid: [number, number, number];        // threadgroups per grid
  threadgroup: [number, number, number]; // threads per threadgroup
}
export interface MetalContext {
  chip: ChipInfo;
  /** Records a dispatch into the open batch (compiled and run at read()/sync(), in order, barriers between). */
  dispatch(d: MetalDispatch): void;
  /** Allocates an output tensor (zero-filled). */
  output(info: TensorInfo): Tensor;
}
export interface MetalLauncher {
  /** Tiers that can run this op for `dtype` on `chip`, best first (metal4 only where the chip has it and a metal4 kernel exists). */
  tiers(dtype: DType, chip: ChipInfo): MetalTier[];
  launch(ctx: MetalContext, tier: MetalTier, inputs: Record<string, Tensor>, options: any, outputs: Record<string, TensorInfo>): Record<string, Tensor>;
}
