// Shared by the sampler's edge tests (sample_bound, sample_ranked, sample_no_mass): a webgpu
// backend opened with PMETAL_SAMPLE_VARIANT set for the whole file (restored after), and one
// draw — tokens, their log-probabilities and the top-n — read back from any backend.
import { afterAll, beforeAll } from 'vitest';
import type { CpuBackend } from '../../src/backend/cpu.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { SampleOpOptions } from '../../src/ops/sample/spec.js';
import type { HostTensor } from '../../src/ops/types.js';
import { useWebGpu } from '../webgpu_backends.js';

/** Registers the file's hooks; the getter gives the backend once beforeAll has run. */
export function webgpuWithSampleVariant(variant: string): () => WebGpuBackend {
  const saved = process.env.PMETAL_SAMPLE_VARIANT;
  // Registered before the backend's hooks: set before it opens, restored after it is disposed.
  beforeAll(() => {
    process.env.PMETAL_SAMPLE_VARIANT = variant;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PMETAL_SAMPLE_VARIANT;
    else process.env.PMETAL_SAMPLE_VARIANT = saved;
  });
  return useWebGpu();
}

/** One sample call with the top-20 on `b`, every output read back as numbers. */
export function drawTop20(b: CpuBackend | WebGpuBackend, host: Record<string, HostTensor>): Promise<Record<string, number[]>> {
  return drawSample(b, host, { topLogprobs: 20 });
}

/** One sample call with `options` on `b`, every output read back as numbers. */
export async function drawSample(b: CpuBackend | WebGpuBackend, host: Record<string, HostTensor>, options: SampleOpOptions): Promise<Record<string, number[]>> {
  const ins = Object.fromEntries(Object.entries(host).map(([k, h]) => [k, b.tensor(h.data, h.shape, h.dtype)]));
  const out = b.sample(ins as never, options);
  const res: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(out)) if (t) res[k] = Array.from(await b.read(t));
  [...Object.values(ins), ...Object.values(out)].forEach((t) => t?.dispose());
  return res;
}
