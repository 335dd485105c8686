import type { KernelBackend } from '../src/backend/interface.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import type { FloatDType } from '../src/dtype.js';
import { OPS, getSpec, type OpName } from '../src/ops/registry.js';
import type { TensorInfo } from '../src/ops/types.js';
import type { Tensor } from '../src/tensor.js';
import { disposeOutputs } from '../src/tensor.js';
import { fixed, textTable } from '../src/text_table.js';
import { warmTimes } from './clock.js';
import { copyBandwidth } from './copy.js';

export interface BenchRecord {
  op: string;
  backend: string;
  tier: string;
  dtype: string;
  shape: string;
  /** Median GPU time per call (timestamps where the adapter has them, else wall time to completion). */
  ms: number;
  minMs: number;
  maxMs: number;
  runs: number;
  timing: 'gpu-timestamps' | 'wall';
  tflops: number;
  gbps: number;
  /** gbps over the copy kernel's bandwidth measured in the same run (memory-bound ops). */
  copyFraction?: number;
  /** Fraction of the copy kernel's bandwidth when it moves this op's bytes (half read, half written): launch and ramp costs included on both sides, the fair yardstick for small tensors. */
  sameSizeFraction?: number;
  /** Wall time per call with `reps` calls in one submission, to completion: what a caller sees, host work included. */
  wallMs?: number;
  /** With `profile`: one more call, each dispatch timed in a pass of its own, in dispatch order. */
  dispatches?: { kernel: string; ms: number }[];
  error?: string;
}

export interface BenchOptions {
  backends: KernelBackend[];
  ops?: string[];
  tiers?: string[];
  dtypes?: string[];
  /** Only bench shapes whose label contains this. */
  shape?: string;
  warmup?: number;
  reps?: number;
  /** Back-to-back calls before timing, in ms of wall time, so the GPU clocks are up (bench/clock.ts). */
  sustainMs?: number;
  /** webgpu: one more call of each record timed dispatch by dispatch (the op's stage breakdown). */
  profile?: boolean;
  onRecord?: (r: BenchRecord) => void;
}

export interface BenchResult {
  records: BenchRecord[];
  copy?: { gbps: number; ms: number; bytes: number };
  device: Record<string, string>;
}

/** Times every op × backend × tier × dtype × bench shape from the registry. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const records: BenchRecord[] = [];
  const device: Record<string, string> = {};
  let copy: BenchResult['copy'];
  // Copy bandwidth by byte count (one measurement per distinct size).
  const sizes = new Map<number, number>();
  const sameSize = async (gpu: WebGpuBackend, bytes: number) => {
    const key = Math.round(bytes / 2);
    if (!sizes.has(key)) sizes.set(key, (await copyBandwidth(gpu, key)).gbps);
    return sizes.get(key)!;
  };
  for (const backend of o.backends) {
    const caps = backend.capabilities();
    device[backend.name] = caps.device;
    if (backend.name === 'webgpu' && !copy) {
      copy = await copyBandwidth(backend as WebGpuBackend, 512 * 2 ** 20);
    }
    for (const op of (o.ops?.length ? o.ops : Object.keys(OPS)) as OpName[]) {
      const spec = getSpec(op);
      for (const t of caps.ops[op] ?? []) {
        if (o.tiers?.length && !o.tiers.includes(t.tier)) continue;
        for (const dtype of t.dtypes) {
          if (o.dtypes?.length && !o.dtypes.includes(dtype)) continue;
          for (const shape of spec.bench) {
            if (o.shape && !shape.label.includes(o.shape)) continue;
            const r = await benchOne(backend, op, t.tier, dtype, shape, o, copy?.gbps, sameSize);
            records.push(r);
            o.onRecord?.(r);
          }
        }
      }
    }
  }
  return { records, copy, device };
}

async function benchOne(
  backend: KernelBackend,
  op: OpName,
  tier: string,
  dtype: FloatDType,
  shape: (typeof OPS)[OpName]['bench'][number],
  o: BenchOptions,
  copyGbps: number | undefined,
  sameSize: (gpu: WebGpuBackend, bytes: number) => Promise<number>,
): Promise<BenchRecord> {
  const spec = getSpec(op);
  const base: BenchRecord = { op, backend: backend.name, tier, dtype, shape: shape.label, ms: NaN, minMs: NaN, maxMs: NaN, runs: 0, timing: 'wall', tflops: NaN, gbps: NaN };
  const inputs: Record<string, Tensor> = {};
  try {
    const host = shape.make(dtype, 1);
    for (const [k, h] of Object.entries(host)) inputs[k] = backend.tensor(h.data, h.shape, h.dtype);
    const opts = spec.options.parse(shape.options);
    const cost = spec.cost(inputs as Record<string, TensorInfo>, opts);
    const call = () => {
      disposeOutputs(backend.run(op, inputs, shape.options, { tier }), inputs);
    };
    for (let i = 0; i < (o.warmup ?? 3); i++) call();
    await backend.sync();
    const gpu = backend.name === 'webgpu' ? (backend as WebGpuBackend) : undefined;
    const reps = o.reps ?? 10;
    const ns = gpu ? await warmTimes(gpu, call, reps, o.sustainMs) : undefined;
    const timing: BenchRecord['timing'] = ns ? 'gpu-timestamps' : 'wall';
    const times: number[] = ns ? ns.map((t) => t / 1e6) : [];
    for (let i = 0; !ns && i < reps; i++) {
      const t0 = performance.now();
      call();
      await backend.sync();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    const gbps = cost.bytes / ms / 1e6;
    // Host path included: many calls recorded back to back, one submission, wait.
    await backend.sync();
    const w0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    await backend.sync();
    const wallMs = (performance.now() - w0) / reps;
    // Memory-bound rows only (under 16 flops a byte; gemm at 4096³ has ~700): what a copy of
    // the same bytes reaches.
    const same = gpu && cost.flops < 16 * cost.bytes ? await sameSize(gpu, cost.bytes) : undefined;
    const passes = gpu && o.profile ? await gpu.profile(call) : undefined;
    return {
      ...base,
      ms,
      minMs: times[0],
      maxMs: times[times.length - 1],
      runs: times.length,
      timing,
      tflops: cost.flops / ms / 1e9,
      gbps,
      copyFraction: copyGbps ? gbps / copyGbps : undefined,
      sameSizeFraction: same ? gbps / same : undefined,
      wallMs,
      ...(passes ? { dispatches: passes.map((p) => ({ kernel: p.kernel, ms: p.ns / 1e6 })) } : {}),
    };
  } catch (e) {
    return { ...base, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    await backend.sync().catch(() => {});
    (backend as Partial<WebGpuBackend>).rt?.trimPool();
  }
}

const pct = (f: number | undefined) => (f ? `${(f * 100).toFixed(0)}%` : '-');

export function benchTable(res: BenchResult): string {
  const head = ['op', 'backend', 'tier', 'dtype', 'shape', 'ms (median)', 'min–max', 'TFLOP/s', 'GB/s', 'of copy', 'of same-size copy', 'wall ms/call'];
  const body = res.records.map((r) =>
    r.error
      ? [r.op, r.backend, r.tier, r.dtype, r.shape, 'error', r.error.slice(0, 60), '', '', '', '', '']
      : [r.op, r.backend, r.tier, r.dtype, r.shape, fixed(r.ms, 3), `${fixed(r.minMs, 3)}–${fixed(r.maxMs, 3)}`, fixed(r.tflops, 1), fixed(r.gbps, 0), pct(r.copyFraction), pct(r.sameSizeFraction), fixed(r.wallMs, 3)],
  );
  const lines = textTable(head, body);
  if (res.copy) lines.push(`copy kernel: ${res.copy.gbps.toFixed(0)} GB/s over ${res.copy.bytes / 2 ** 20} MiB (the "of copy" baseline)`);
  return lines.join('\n');
}

/**
 * `bench --profile`: each record's dispatches in order with their GPU ms, so the stage that
 * holds a fused op back is named before anything is rewritten. Each dispatch ran in a pass of
 * its own, so the sum is above the batched median by a pass boundary per dispatch.
 */
export function dispatchTable(res: BenchResult): string {
  const out: string[] = [];
  for (const r of res.records) {
    if (!r.dispatches?.length) continue;
    const sum = r.dispatches.reduce((a, d) => a + d.ms, 0);
    out.push(`${r.op} ${r.tier} ${r.dtype} ${r.shape}: ${r.dispatches.length} dispatches, ${fixed(sum, 4)} ms summed (median batched ${fixed(r.ms, 4)})`);
    out.push(...textTable(['#', 'kernel', 'GPU ms', 'share'], r.dispatches.map((d, i) => [String(i), d.kernel, fixed(d.ms, 4), `${((d.ms / sum) * 100).toFixed(1)}%`])));
  }
  return out.join('\n');
}
