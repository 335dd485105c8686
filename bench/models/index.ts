import type { KernelBackend } from '../../src/backend/interface.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { FloatDType } from '../../src/dtype.js';
import { modelFromSource } from '../../src/models/load.js';
import type { DecodeLoopVariant } from '../../src/models/decode_loop.js';
import { fixed, textTable } from '../../src/text_table.js';
import { copyBandwidth } from '../copy.js';
import { decodePhase, prefillPhase, trainPhase, type Phase, type PhaseOptions, type PhaseRecord } from './phases.js';
import { presetConfig, type ModelPreset } from './presets.js';
import { profileTable } from './profile.js';
import { RandomWeights } from './random_weights.js';

/**
 * `pmetal bench --model`: a whole Llama model with random weights at a real model's shapes
 * (presets.ts), phase by phase — prefill, decode at each batch size, LoRA training — with
 * tokens/s, GPU time, the decode roofline and the peak GPU memory of each phase. The PyTorch
 * twin with the same shapes and phases is bench/peers/torch_models.py.
 */

export interface ModelBenchOptions extends Omit<PhaseOptions, 'copyGbps'> {
  model: ModelPreset;
  quant?: 'mlx4';
  dtype: FloatDType;
  phases: readonly Phase[];
  /** Decode batch sizes. */
  batches: readonly number[];
  /** Decode loop variants (decode_loop.ts), a decode record each per batch size; default: the loop's own default. */
  decodeLoops?: readonly DecodeLoopVariant[];
  /** PMETAL_MLP_GEMV values (fused_mlp's decode plan, webgpu), a decode record each per batch size and loop; default: the switch as set. */
  mlpGemv?: readonly ('0' | '1')[];
  /** prefill and train: tokens of the one sequence. */
  seq: number;
  /** Bytes of the copy kernel that measures bandwidth for the roofline (0: skip it). */
  copyBytes: number;
  onRecord?: (r: PhaseRecord) => void;
}

export interface ModelBenchResult {
  date: string;
  device: string;
  model: ModelPreset;
  quant: 'mlx4' | null;
  dtype: FloatDType;
  config: { hidden: number; layers: number; heads: number; kvHeads: number; headDim: number; intermediate: number; vocab: number; tied: boolean };
  /** ms to build the model (random weights tiled on the host, uploaded). */
  buildMs: number;
  /** GPU bytes live after the build: the weights. */
  weightBytes?: number;
  copy?: { gbps: number; bytes: number };
  options: Omit<ModelBenchOptions, 'onRecord'>;
  records: PhaseRecord[];
}

export async function runModelBench(backend: KernelBackend, o: ModelBenchOptions): Promise<ModelBenchResult> {
  const gpu = backend.name === 'webgpu' ? (backend as WebGpuBackend) : undefined;
  const { onRecord, ...options } = o;
  const config = presetConfig(o.model, o.quant);
  const copy = gpu && o.copyBytes > 0 ? await copyBandwidth(gpu, o.copyBytes) : undefined;
  gpu?.rt.trimPool();
  const t0 = performance.now();
  const model = await modelFromSource(new RandomWeights(config), config, backend, { dtype: o.dtype });
  await backend.sync();
  const buildMs = performance.now() - t0;
  const weightBytes = gpu?.rt.memory.liveBytes;
  const records: PhaseRecord[] = [];
  const po: PhaseOptions = { ...o, ...(copy ? { copyGbps: copy.gbps } : {}) };
  // One phase's record, its peak memory measured from the weights alone (pool emptied first).
  const phase = async (name: Phase, batch: number, seq: number, run: () => Promise<PhaseRecord>) => {
    gpu?.rt.trimPool();
    gpu?.rt.resetPeakMemory();
    let r: PhaseRecord;
    try {
      r = await run();
    } catch (e) {
      r = { phase: name, batch, seq, ms: NaN, minMs: NaN, maxMs: NaN, runs: 0, tokensPerS: NaN, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
      await backend.sync().catch(() => {});
    }
    if (gpu) Object.assign(r, { peakLiveBytes: gpu.rt.memory.peakLiveBytes, peakAllocatedBytes: gpu.rt.memory.peakAllocatedBytes });
    records.push(r);
    onRecord?.(r);
  };
  try {
    if (o.phases.includes('prefill')) await phase('prefill', 1, o.seq, () => prefillPhase(model, o.seq, po));
    if (o.phases.includes('decode')) {
      for (const B of o.batches) {
        for (const mg of o.mlpGemv ?? [undefined])
          for (const loop of o.decodeLoops ?? [undefined]) {
            const run = () => (loop ? withDecodeLoop(loop, () => decodePhase(model, B, po)) : decodePhase(model, B, po));
            await phase('decode', B, o.prompt, () => (mg ? withMlpGemv(mg, run) : run()));
          }
      }
    }
    if (o.phases.includes('train')) await phase('train', 1, o.seq, () => trainPhase(model, o.seq, po));
  } finally {
    model.dispose();
  }
  const c = config;
  return {
    date: new Date().toISOString(),
    device: backend.capabilities().device,
    model: o.model,
    quant: o.quant ?? null,
    dtype: o.dtype,
    config: { hidden: c.hiddenSize, layers: c.numLayers, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, intermediate: c.intermediateSize, vocab: c.vocabSize, tied: c.tieWordEmbeddings },
    buildMs,
    ...(weightBytes !== undefined ? { weightBytes } : {}),
    ...(copy ? { copy: { gbps: copy.gbps, bytes: copy.bytes } } : {}),
    options,
    records,
  };
}

/** Runs `run` under PMETAL_DECODE_LOOP_VARIANT=loop (the loop reads it at its start), marking the record with it. */
async function withDecodeLoop(loop: DecodeLoopVariant, run: () => Promise<PhaseRecord>): Promise<PhaseRecord> {
  const before = process.env.PMETAL_DECODE_LOOP_VARIANT;
  process.env.PMETAL_DECODE_LOOP_VARIANT = loop;
  try {
    return { ...(await run()), loop };
  } finally {
    if (before === undefined) delete process.env.PMETAL_DECODE_LOOP_VARIANT;
    else process.env.PMETAL_DECODE_LOOP_VARIANT = before;
  }
}

/** Runs `run` under PMETAL_MLP_GEMV=v (the webgpu tuning switches are read again at each submission), marking the record with it. */
async function withMlpGemv(v: '0' | '1', run: () => Promise<PhaseRecord>): Promise<PhaseRecord> {
  const before = process.env.PMETAL_MLP_GEMV;
  process.env.PMETAL_MLP_GEMV = v;
  try {
    return { ...(await run()), mlpGemv: v };
  } finally {
    if (before === undefined) delete process.env.PMETAL_MLP_GEMV;
    else process.env.PMETAL_MLP_GEMV = before;
  }
}

const mib = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 20).toFixed(1));

export function modelBenchTable(res: ModelBenchResult): string {
  const head = ['phase', 'batch', 'tokens', 'ms (median)', 'tokens/s', 'GPU ms', 'host ms', 'roofline tok/s', 'of roofline', 'peak MiB', 'peak MiB (pool)', 'note'];
  const body = res.records.map((r) =>
    r.error && !Number.isFinite(r.ms)
      ? [r.phase, String(r.batch), String(r.seq), 'error', '', '', '', '', '', mib(r.peakLiveBytes), mib(r.peakAllocatedBytes), r.error.slice(0, 80)]
      : [
          r.phase,
          String(r.batch),
          r.phase === 'decode' ? `${r.seq}+${r.runs}` : String(r.seq),
          fixed(r.ms, 2),
          fixed(r.tokensPerS, 1),
          r.gpuMs === undefined ? '-' : fixed(r.gpuMs, 2),
          r.hostMs === undefined ? '-' : fixed(r.hostMs, 2),
          r.roofline ? fixed(r.roofline.tokensPerS, 0) : '-',
          r.roofline ? `${(r.roofline.fraction * 100).toFixed(0)}%` : '-',
          mib(r.peakLiveBytes),
          mib(r.peakAllocatedBytes),
          r.error ?? [r.loss !== undefined ? `loss ${r.loss.toFixed(3)}${res.options.maxGradNorm !== undefined ? `, clip ${res.options.maxGradNorm}` : ''}` : r.loop ? `${r.loop} loop` : '', r.mlpGemv ? `PMETAL_MLP_GEMV=${r.mlpGemv}` : '', r.buffersPerCall !== undefined ? `${r.buffersPerCall.toFixed(0)} new buffers/step` : ''].filter(Boolean).join(', '),
        ],
  );
  const lines = [`${res.model}${res.quant ? ` ${res.quant}` : ''} ${res.dtype} (random weights) on ${res.device}: built in ${(res.buildMs / 1e3).toFixed(1)} s, weights ${mib(res.weightBytes)} MiB`, ...textTable(head, body)];
  if (res.copy) lines.push(`copy kernel: ${res.copy.gbps.toFixed(0)} GB/s over ${(res.copy.bytes / 2 ** 20).toFixed(0)} MiB (the decode roofline's bandwidth)`);
  const split = res.records.filter((r) => r.host);
  if (split.length) {
    lines.push('', 'host per call (webgpu): dispatches, submissions, ms inside Dawn\'s finish + queue.submit, bind groups created and ms inside createBindGroup');
    const f = (n: number) => fixed(n, n >= 100 ? 0 : 2);
    lines.push(...textTable(['phase', 'batch', 'note', 'dispatches', 'submits', 'submit ms', 'new bind groups', 'bind-group ms'], split.map((r) => [r.phase, String(r.batch), r.loop ?? '', f(r.host!.dispatches), f(r.host!.submits), fixed(r.host!.submitMs, 2), f(r.host!.newBindGroups), fixed(r.host!.bindGroupMs, 2)])));
  }
  for (const r of res.records) if (r.profile) lines.push('', profileTable(`${r.phase} B=${r.batch}: one call, each dispatch timed in its own pass`, r.profile));
  return lines.join('\n');
}
