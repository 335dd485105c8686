import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { GpuStorage, LaunchContext } from '../../src/backend/webgpu/launch.js';

/**
 * The backend's launch context with some adapter limits lowered, so small tensors take the
 * paths meant for large ones (windows of one binding, fewer storage bindings). Dawn's limits
 * are getters on a prototype: a proxy keeps them and overrides the given ones.
 */
export function limitedContext(gpu: WebGpuBackend, overrides: Partial<Record<keyof GPUSupportedLimits, number>>): LaunchContext {
  const real = gpu.rt.opened.limits;
  const limits = new Proxy(real, { get: (o, k) => (k in overrides ? overrides[k as keyof GPUSupportedLimits] : Reflect.get(o, k, o)) });
  return {
    rt: gpu.rt,
    features: gpu.rt.opened.features,
    limits,
    adapter: { ...gpu.adapter, limits },
    buffer: (t) => t.storage<GpuStorage>('test').buffer,
    output: (info) => gpu.zeros(info.shape, info.dtype),
  };
}
