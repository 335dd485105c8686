import { BYTES, type DType } from '../../dtype.js';
import { LimitError } from '../../errors.js';
import type { TensorInfo } from '../../ops/types.js';
import type { Tensor } from '../../tensor.js';
import type { Binding, Runtime } from './runtime.js';
import { tuning, type VecPlanMode } from './tuning.js';

export type { VecPlanMode } from './tuning.js';

export const TIERS = ['subgroup-matrix', 'subgroups', 'portable'] as const;
export type WebGpuTier = (typeof TIERS)[number];

/** A tensor's GPU storage: a (pooled) buffer and the tensor's byte length. */
export interface GpuStorage {
  buffer: GPUBuffer;
  bytes: number;
}

/** What a launcher gets: the runtime plus helpers for outputs and binding windows. */
export interface LaunchContext {
  rt: Runtime;
  features: Set<string>;
  limits: GPUSupportedLimits;
  adapter: AdapterTraits;
  buffer(t: Tensor): GPUBuffer;
  /** Allocates an output tensor. */
  output(info: TensorInfo): Tensor;
}

/** What a launcher may ask of the adapter when it names its tiers (beyond the features). */
export interface AdapterTraits {
  subgroupMatrixConfigs: readonly unknown[];
  subgroupMaxSize?: number;
  /** The adapter's smallest subgroup size (a kernel that maps lanes to rows needs min = max). */
  subgroupMinSize?: number;
  limits: GPUSupportedLimits;
  /** A CPU implementation (lavapipe: adapter.info.isFallbackAdapter): a kernel's shape for speed there is moot, its compile time is not. */
  software?: boolean;
}

export interface Launcher {
  /** Tiers that can run this op for `dtype` on an adapter with `features` (and `adapter`'s traits, when given). */
  tiers(dtype: DType, features: Set<string>, adapter?: AdapterTraits): WebGpuTier[];
  launch(ctx: LaunchContext, tier: WebGpuTier, inputs: Record<string, Tensor>, options: any, outputs: Record<string, TensorInfo>): Record<string, Tensor>;
}

/** The tiers every row/elementwise kernel has: subgroups where the adapter offers them. */
export function reductionTiers(features: Set<string>): WebGpuTier[] {
  return features.has('subgroups') ? ['subgroups', 'portable'] : ['portable'];
}

/**
 * A binding of elements [start, start+count) of a tensor. The byte offset is aligned down to
 * minStorageBufferOffsetAlignment (256, an even number of 16-bit elements, so word parity
 * is preserved); `base` is where the window's first element sits inside the binding.
 */
export function windowOf(ctx: LaunchContext, t: Tensor, binding: number, start: number, count: number): { b: Binding; base: number } {
  const e = BYTES[t.dtype];
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const begin = start * e;
  const offset = Math.floor(begin / align) * align;
  const end = Math.ceil(((start + count) * e) / 4) * 4;
  const buf = ctx.buffer(t);
  return { b: { binding, buffer: buf, offset, size: Math.min(end, ctx.rt.sizeOf(buf)) - offset }, base: (begin - offset) / e };
}

/** The largest window a launcher may bind: maxStorageBufferBindingSize less what aligning a window's start down can add. */
export function windowLimit(ctx: LaunchContext): number {
  return ctx.limits.maxStorageBufferBindingSize - ctx.limits.minStorageBufferOffsetAlignment - 8;
}

/**
 * Splits `rows` so every binding's window of a chunk fits maxStorageBufferBindingSize.
 * `rowBytes` is the largest per-row byte count among the bindings.
 */
export function rowChunks(ctx: LaunchContext, rows: number, rowBytes: number): [number, number][] {
  const limit = windowLimit(ctx);
  const per = Math.max(1, Math.floor(limit / Math.max(1, rowBytes)));
  if (rowBytes > limit) {
    throw new LimitError(
      `[${ctx.rt.op ?? 'webgpu'}] a single row of ${rowBytes} bytes is over maxStorageBufferBindingSize (${ctx.limits.maxStorageBufferBindingSize}) of this device, and rows are not split; use shorter rows`,
    );
  }
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(rows, r + per)]);
  return out;
}

/**
 * A 2-D grid for `n` workgroups within maxComputeWorkgroupsPerDimension; kernels guard the
 * tail. The rows are balanced (x = ⌈n / y⌉), so fewer than y workgroups idle: a full first
 * row of 65535 left up to 65534 empty workgroups in the last one — at 65536 workgroups
 * (a 256 MiB copy) half the grid, which the H100 paid for at about a quarter of a real one.
 */
export function grid(ctx: LaunchContext, n: number): { workgroups: [number, number]; groupsX: number } {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.max(1, Math.ceil(n / max));
  const x = Math.max(1, Math.ceil(n / y));
  return { workgroups: [x, y], groupsX: x };
}

/**
 * The register-resident row plan: rows of a multiple of 16 bytes, held as `nv` vec4<u32>
 * words spread over WG invocations with VPT words each (VPT ≤ 8, so at most 64 floats per
 * invocation). Undefined when the row does not qualify; the launcher then takes the
 * streaming kernel.
 */
export function vecPlan(n: number, elemBytes: number, maxWg: number, mode: VecPlanMode = planMode()): { nv: number; epv: number; wg: number; vpt: number } | undefined {
  if ((n * elemBytes) % 16 !== 0) return undefined;
  const epv = 16 / elemBytes;
  const nv = (n * elemBytes) / 16;
  // 'wide': the fewest words per invocation with at most 256 invocations; 'deep': the most
  // (8) with at least 64 invocations; 'mid': 4 words where that leaves ≥ 64 invocations.
  // PMETAL_VEC_PLAN=wide|mid|deep forces one for every register-resident row kernel, so the
  // bench can compare them (tuning.ts).
  const order = mode === 'deep' ? [8, 4, 2, 1] : mode === 'mid' ? [4, 2, 1, 8] : [1, 2, 4, 8];
  for (const vpt of order) {
    if (mode !== 'wide' && vpt > 1 && nv < vpt * 64) continue;
    // 64–256 invocations: enough loads in flight per SM without idle lanes.
    const wg = Math.max(64, Math.min(maxWg, 2 ** Math.ceil(Math.log2(Math.ceil(nv / vpt)))));
    if (wg * vpt >= nv && (wg <= 256 || vpt === 8)) return { nv, epv, wg, vpt };
  }
  return undefined;
}

/** PMETAL_VEC_PLAN when set, else the launcher's measured choice. */
export function planMode(fallback: VecPlanMode = 'wide'): VecPlanMode {
  return tuning().vecPlan ?? fallback;
}
