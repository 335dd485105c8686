import { fixed, textTable } from '../src/text_table.js';
import type { FloatDType } from '../src/dtype.js';
import { OPS, getSpec, type OpName } from '../src/ops/registry.js';
import type { TensorInfo } from '../src/ops/types.js';
import type { Tensor } from '../src/tensor.js';
import { disposeOutputs } from '../src/tensor.js';
import type { MetalBackend } from '../src/backend/metal/backend.js';
import type { MetalTier } from '../src/backend/metal/launch.js';

/** One op × dtype × bench shape, timed on every tier the chip has for it. */
export interface MetalBenchRow {
  op: string;
  dtype: string;
  shape: string;
  /** The tier the router picks for this call. */
  routed?: string;
  tiers: Partial<Record<MetalTier, { ms: number; minMs: number; maxMs: number; tflops: number; gbps: number } | { error: string }>>;
  /** metal3 time over metal4 time (> 1: Metal 4 is faster). */
  speedup?: number;
}

export interface MetalBenchOptions {
  ops?: string[];
  dtypes?: string[];
  tiers?: string[];
  shape?: string;
  warmup?: number;
  reps?: number;
  onRow?: (r: MetalBenchRow) => void;
}

/** Why `pmetal bench --backend metal` refuses on the host runtime. */
export const HOST_TIMINGS_REFUSAL =
  'the metal backend is running on the MSL host runtime (Linux): kernels execute on the CPU, so its timings are not GPU timings and are never reported as GPU performance. ' +
  'Run `node dist/cli.js bench --backend metal` on a Mac with Apple Silicon for the Metal 4 vs Metal 3 table; use `pmetal conformance --backend metal` here.';

/**
 * The Metal 4 vs Metal 3 benchmark: every op × dtype × bench shape from the registry, timed
 * per tier with the command buffer's GPU start/end (median of `reps`). Refuses on the host
 * runtime, whose clock is the CPU's.
 */
export async function runMetalBench(be: MetalBackend, o: MetalBenchOptions = {}): Promise<MetalBenchRow[]> {
  if (be.host) throw new Error(`[bench] ${HOST_TIMINGS_REFUSAL}`);
  const caps = be.capabilities();
  const rows: MetalBenchRow[] = [];
  for (const op of (o.ops?.length ? o.ops : Object.keys(OPS)) as OpName[]) {
    const spec = getSpec(op);
    const support = caps.ops[op] ?? [];
    const dtypes = [...new Set(support.flatMap((t) => t.dtypes))] as FloatDType[];
    for (const dtype of dtypes) {
      if (o.dtypes?.length && !o.dtypes.includes(dtype)) continue;
      for (const shape of spec.bench) {
        if (o.shape && !shape.label.includes(o.shape)) continue;
        const row: MetalBenchRow = { op, dtype, shape: shape.label, tiers: {} };
        const inputs: Record<string, Tensor> = {};
        try {
          for (const [k, h] of Object.entries(shape.make(dtype, 1))) inputs[k] = be.tensor(h.data, h.shape, h.dtype);
          const cost = spec.cost(inputs as Record<string, TensorInfo>, spec.options.parse(shape.options));
          row.routed = be.route(op, inputs, undefined, shape.options);
          for (const t of support) {
            const tier = t.tier as MetalTier;
            if (!t.dtypes.includes(dtype) || (o.tiers?.length && !o.tiers.includes(tier))) continue;
            try {
              const call = () => {
                disposeOutputs(be.run(op, inputs, shape.options, { tier }), inputs);
              };
              for (let i = 0; i < (o.warmup ?? 3); i++) call();
              await be.sync();
              const times: number[] = [];
              for (let i = 0; i < (o.reps ?? 10); i++) {
                const ns = await be.gpuTime(call);
                if (ns === undefined) throw new Error('no GPU timestamps');
                times.push(ns / 1e6);
              }
              times.sort((a, b) => a - b);
              const ms = times[Math.floor(times.length / 2)];
              row.tiers[tier] = { ms, minMs: times[0], maxMs: times[times.length - 1], tflops: cost.flops / ms / 1e9, gbps: cost.bytes / ms / 1e6 };
            } catch (e) {
              row.tiers[tier] = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
            }
          }
          const m3 = row.tiers.metal3;
          const m4 = row.tiers.metal4;
          if (m3 && m4 && 'ms' in m3 && 'ms' in m4) row.speedup = m3.ms / m4.ms;
        } finally {
          for (const t of Object.values(inputs)) t.dispose();
          await be.sync().catch(() => undefined);
        }
        rows.push(row);
        o.onRow?.(row);
      }
    }
  }
  return rows;
}

/** The Metal 4 vs Metal 3 table: per op and shape, time and TFLOP/s per tier, and the speed-up. */
export function metalBenchTable(rows: MetalBenchRow[]): string {
  const head = ['op', 'dtype', 'shape', 'router', 'metal3 ms', 'metal3 TFLOP/s', 'metal4 ms', 'metal4 TFLOP/s', 'speed-up', 'GB/s (best)'];
  const cell = (r: MetalBenchRow, t: MetalTier): [string, string] => {
    const v = r.tiers[t];
    if (!v) return ['-', '-'];
    if ('error' in v) return ['error', v.error.slice(0, 40)];
    return [fixed(v.ms, 3), fixed(v.tflops, 2)];
  };
  const body = rows.map((r) => {
    const best = Object.values(r.tiers).filter((v): v is { ms: number; gbps: number; minMs: number; maxMs: number; tflops: number } => !!v && 'ms' in v);
    const gbps = best.length ? Math.max(...best.map((v) => v.gbps)) : undefined;
    return [r.op, r.dtype, r.shape, r.routed ?? '-', ...cell(r, 'metal3'), ...cell(r, 'metal4'), r.speedup ? `${fixed(r.speedup, 2)}×` : '-', fixed(gbps, 0)];
  });
  return textTable(head, body).join('\n');
}
