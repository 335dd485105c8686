import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { warmTimes } from './clock.js';
import { grid, type LaunchContext } from '../src/backend/webgpu/launch.js';
import { defineParams, packParams } from '../src/backend/params.js';

export const COPY_PARAMS = defineParams([
  ['count', 'u32'],
  ['groups_x', 'u32'],
]);

/** GB/s (read + write) of the plain WGSL copy kernel over `bytes`, median of `reps` GPU-timed runs. */
export async function copyBandwidth(gpu: WebGpuBackend, bytes: number, reps = 10): Promise<{ gbps: number; ms: number; bytes: number }> {
  const rt = gpu.rt;
  const limit = rt.opened.limits.maxStorageBufferBindingSize;
  const vec4s = Math.floor(Math.min(bytes, limit) / 16);
  const src = rt.createBuffer(vec4s * 16);
  const dst = rt.createBuffer(vec4s * 16);
  const ctx = { limits: rt.opened.limits } as LaunchContext;
  const g = grid(ctx, Math.ceil(vec4s / 256));
  const run = () =>
    rt.dispatch({
      pipeline: { shader: 'bench/copy.wgsl', defines: {}, overrides: { WG: 256 } },
      // Sized bindings: the pool rounds buffers up to a size class, which may exceed the
      // binding limit (a 2 GiB class against maxStorageBufferBindingSize = 2 GiB − 4).
      bindings: [
        { binding: 0, buffer: src, size: vec4s * 16 },
        { binding: 1, buffer: dst, size: vec4s * 16 },
      ],
      params: { binding: 2, data: packParams(COPY_PARAMS, { count: vec4s, groups_x: g.groupsX }) },
      workgroups: g.workgroups,
    });
  run();
  await rt.sync();
  const times: number[] = (await warmTimes(gpu, run, reps)) ?? [];
  while (times.length < reps) {
    const t0 = performance.now();
    run();
    await rt.sync();
    times.push((performance.now() - t0) * 1e6);
  }
  rt.releaseBuffer(src);
  rt.releaseBuffer(dst);
  times.sort((a, b) => a - b);
  const ns = times[Math.floor(times.length / 2)];
  return { gbps: (2 * vec4s * 16) / ns, ms: ns / 1e6, bytes: vec4s * 16 };
}
