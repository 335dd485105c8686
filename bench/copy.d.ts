import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
export declare const COPY_PARAMS: readonly [readonly ["count", "u32"], readonly ["groups_x", "u32"]];
/** GB/s (read + write) of the plain WGSL copy kernel over `bytes`, median of `reps` GPU-timed runs. */
export declare function copyBandwidth(gpu: WebGpuBackend, bytes: number, reps?: number): Promise<{
    gbps: number;
    ms: number;
}>;
