import type { KernelBackend } from '../../src/backend/interface.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

/**
 * Where a model call's host time goes on webgpu, per timed call: dispatches recorded,
 * submissions, ms inside Dawn's finish + queue.submit (its translation to Vulkan), bind groups
 * created and ms inside createBindGroup. The rest of a call's host time is our own recording.
 */
export interface HostSplit {
  dispatches: number;
  submits: number;
  submitMs: number;
  newBindGroups: number;
  bindGroupMs: number;
}

function counters(b: WebGpuBackend): HostSplit {
  const rt = b.rt;
  return { dispatches: rt.dispatchCount, submits: rt.submitCount, submitMs: rt.submitMs, newBindGroups: rt.bindGroups.misses, bindGroupMs: rt.bindGroups.createMs };
}

/** Starts counting on a webgpu backend; the returned function gives the per-call averages over `calls` calls. */
export function hostSplit(b: KernelBackend): ((calls: number) => HostSplit) | undefined {
  if (b.name !== 'webgpu') return undefined;
  const gpu = b as WebGpuBackend;
  const c0 = counters(gpu);
  return (calls) => {
    const c1 = counters(gpu);
    const per = (k: keyof HostSplit) => (c1[k] - c0[k]) / Math.max(1, calls);
    return { dispatches: per('dispatches'), submits: per('submits'), submitMs: per('submitMs'), newBindGroups: per('newBindGroups'), bindGroupMs: per('bindGroupMs') };
  };
}
