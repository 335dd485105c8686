import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { NotSupportedError } from '../src/errors.js';
import { fixed, textTable } from '../src/text_table.js';
import { median, warmTimes } from './clock.js';

/** What each STAGE of wgsl/bench/sgmat_ceiling.wgsl adds to the one before. */
export const CEILING_STAGES = [
  'multiply-accumulate only (register fragments)',
  '+ fragment loads from workgroup memory, a barrier per slice',
  '+ registers → workgroup stash (a second barrier)',
  '+ global fetch of A and B (the real loop)',
] as const;

export interface CeilingRow {
  stage: number;
  what: string;
  ms: number;
  tflops: number;
}

/**
 * Times wgsl/bench/sgmat_ceiling.wgsl at each stage: the rate the subgroup-matrix gemm's K
 * loop could reach on this adapter with each of its stages, so a gap between the real
 * kernel and the ceiling can be put on a stage (README, Performance).
 */
export async function sgmatCeiling(gpu: WebGpuBackend, o: { iter?: number; workgroups?: number; reps?: number } = {}): Promise<CeilingRow[]> {
  const rt = gpu.rt;
  if (!rt.opened.features.has('chromium-experimental-subgroup-matrix') || !rt.opened.features.has('shader-f16')) {
    throw new NotSupportedError('[bench] --sgmat-ceiling needs subgroup matrices and shader-f16 (on NVIDIA: --toggles allow_unsafe_apis,vulkan_enable_f16_on_nvidia)');
  }
  const iter = o.iter ?? 1024;
  // Several waves on any GPU: 1024 workgroups of 256 invocations.
  const groups = o.workgroups ?? 1024;
  const out = rt.createBuffer(groups * 8 * 4096 * 4);
  // A and B: 4096×4096 f16 each (their values do not matter to the timing).
  const opBytes = 4096 * 4096 * 2;
  const a = rt.createBuffer(opBytes);
  const b = rt.createBuffer(opBytes);
  const rows: CeilingRow[] = [];
  try {
    for (let stage = 0; stage < CEILING_STAGES.length; stage++) {
      const run = () =>
        rt.dispatch({
          pipeline: { shader: 'bench/sgmat_ceiling.wgsl', defines: { STAGE: stage }, overrides: { ITER: iter } },
          bindings: [
            { binding: 0, buffer: out, size: groups * 8 * 4096 * 4 },
            { binding: 1, buffer: a, size: opBytes },
            { binding: 2, buffer: b, size: opBytes },
          ],
          workgroups: [groups],
        });
      run();
      await rt.sync();
      const ns = await warmTimes(gpu, run, o.reps ?? 7);
      if (!ns) throw new NotSupportedError('[bench] --sgmat-ceiling needs GPU timestamps (timestamp-query)');
      const ms = median(ns) / 1e6;
      // Per workgroup: 8 subgroups × 2·ITER steps × 16 products of 16×16×16.
      const flops = groups * 8 * 2 * iter * 16 * 2 * 16 ** 3;
      rows.push({ stage, what: CEILING_STAGES[stage], ms, tflops: flops / ms / 1e9 });
    }
  } finally {
    rt.releaseBuffer(out);
    rt.releaseBuffer(a);
    rt.releaseBuffer(b);
  }
  return rows;
}

export function ceilingTable(rows: CeilingRow[]): string {
  return textTable(
    ['stage', 'what the K loop does', 'ms (median)', 'TFLOP/s'],
    rows.map((r) => [String(r.stage), r.what, fixed(r.ms, 3), fixed(r.tflops, 1)]),
  ).join('\n');
}
