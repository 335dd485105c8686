import type { KernelBackend } from '../src/backend/interface.js';
import type { BaseBackend } from '../src/backend/base.js';
import type { HostTensor } from '../src/ops/types.js';
import { uniform, randomInts } from '../src/ops/random.js';
import type { OpName } from '../src/ops/registry.js';
import type { Tensor } from '../src/tensor.js';
import { disposeOutputs } from '../src/tensor.js';
import { fixed, textTable } from '../src/text_table.js';
import { median } from './clock.js';

/**
 * `pmetal bench --host`: what recording one small op costs the CPU. Each op is called
 * `calls` times with the same inputs (outputs disposed as a model's loop would), in batches
 * submitted every `batch` calls; per call, the time in validation + routing (option parsing,
 * shape checks, tier choice) and in encoding (the launcher: pipeline lookup, bind group,
 * Params, dispatch record) is taken with `performance.now()` around each phase, and per
 * batch the submit (`sync()`: flush + wait for the GPU, over the batch's calls). Tiny shapes
 * keep the GPU's share small: the numbers are the host's. On webgpu each case runs twice:
 * first with launch tapes off (the launcher derives every call's dispatches), then on (a
 * plan's recorded launch replayed, launch_tape.ts) — the row's phases are the second run's.
 */
export interface HostCase {
  op: OpName;
  label: string;
  options: Record<string, unknown>;
  inputs: () => Record<string, HostTensor>;
}

export const HOST_CASES: HostCase[] = [
  { op: 'rms_norm', label: '64x256 f32', options: { eps: 1e-5 }, inputs: () => ({ x: uniform('f32', [64, 256], 1), weight: uniform('f32', [256], 2) }) },
  { op: 'softmax', label: '64x256 f32', options: { scale: 0.5 }, inputs: () => ({ x: uniform('f32', [64, 256], 3) }) },
  { op: 'swiglu', label: '64x256 f16', options: {}, inputs: () => ({ gate: uniform('f16', [64, 256], 4), up: uniform('f16', [64, 256], 5) }) },
  { op: 'rope', label: '1x4x8x64 f16', options: { offset: 100 }, inputs: () => ({ x: uniform('f16', [1, 4, 8, 64], 6) }) },
  // A 1B Llama decode step's q (32 heads) and k (8) in one call: against two calls of the row above.
  { op: 'rope', label: '1x1x(32+8)x64 f16, q and k', options: { offset: 100 }, inputs: () => ({ x: uniform('f16', [1, 1, 32, 64], 6), k: uniform('f16', [1, 1, 8, 64], 11) }) },
  { op: 'gemm', label: '1x256x256 f16 (decode)', options: { transB: true }, inputs: () => ({ a: uniform('f16', [1, 256], 7), b: uniform('f16', [256, 256], 8) }) },
  {
    op: 'cross_entropy',
    label: '8x512 f32',
    options: {},
    inputs: () => ({ logits: uniform('f32', [8, 512], 9), targets: randomInts('i32', [8], 10, 0, 512) }),
  },
];

export interface HostRow {
  op: string;
  shape: string;
  backend: string;
  calls: number;
  /** Medians in µs per call. */
  validateUs: number;
  encodeUs: number;
  recordUs: number;
  /** p90 of validate + encode, µs. */
  recordP90Us: number;
  /** webgpu: the record median with launch tapes off (the launcher every call), µs. */
  launcherRecordUs?: number;
  /** sync() per batch divided by its calls, µs (submit + the GPU's time for tiny work). */
  submitUs: number;
}

export async function runHostBench(backend: KernelBackend, o: { calls: number; batch: number; ops?: string[]; onRow?: (r: HostRow) => void }): Promise<HostRow[]> {
  const b = backend as unknown as BaseBackend;
  const rows: HostRow[] = [];
  for (const c of HOST_CASES) {
    if (o.ops?.length && !o.ops.includes(c.op)) continue;
    if (!backend.supports(c.op)) continue;
    const inputs: Record<string, Tensor> = {};
    for (const [k, h] of Object.entries(c.inputs())) inputs[k] = backend.tensor(h.data, h.shape, h.dtype);
    const call = () => {
      disposeOutputs(backend.run(c.op, inputs, c.options), inputs);
    };
    const measure = async () => {
      // Warm: pipelines compiled, pools and caches filled.
      for (let i = 0; i < Math.min(200, o.calls); i++) call();
      await backend.sync();
      const probe = { validate: [] as number[], encode: [] as number[] };
      const submits: number[] = [];
      b.hostProbe = probe;
      try {
        for (let done = 0; done < o.calls; ) {
          const n = Math.min(o.batch, o.calls - done);
          for (let i = 0; i < n; i++) call();
          const t = performance.now();
          await backend.sync();
          submits.push(((performance.now() - t) * 1000) / n);
          done += n;
        }
      } finally {
        b.hostProbe = undefined;
      }
      return { probe, submits, rec: probe.validate.map((v, i) => (v + probe.encode[i]) * 1000).sort((x, y) => x - y) };
    };
    const tapes = backend as unknown as { launchTapes?: boolean };
    let launcherRecordUs: number | undefined;
    if (typeof tapes.launchTapes === 'boolean') {
      const was = tapes.launchTapes;
      tapes.launchTapes = false;
      try {
        launcherRecordUs = median((await measure()).rec);
      } finally {
        tapes.launchTapes = was;
      }
    }
    const { probe, submits, rec } = await measure();
    for (const t of Object.values(inputs)) t.dispose();
    const us = (xs: number[]) => xs.map((x) => x * 1000);
    const row: HostRow = {
      op: c.op,
      shape: c.label,
      backend: backend.name,
      calls: probe.validate.length,
      validateUs: median(us(probe.validate)),
      encodeUs: median(us(probe.encode)),
      recordUs: median(rec),
      recordP90Us: rec[Math.floor(rec.length * 0.9)],
      launcherRecordUs,
      submitUs: median(submits),
    };
    rows.push(row);
    o.onRow?.(row);
  }
  return rows;
}

export function hostTable(rows: readonly HostRow[]): string {
  return textTable(
    ['op', 'shape', 'backend', 'calls', 'validate µs', 'encode µs', 'record µs (median)', 'record p90', 'record, no tapes', 'submit µs/op'],
    rows.map((r) => [r.op, r.shape, r.backend, String(r.calls), fixed(r.validateUs, 1), fixed(r.encodeUs, 1), fixed(r.recordUs, 1), fixed(r.recordP90Us, 1), r.launcherRecordUs === undefined ? '—' : fixed(r.launcherRecordUs, 1), fixed(r.submitUs, 1)]),
  ).join('\n');
}
