import type { KernelBackend } from '../../src/backend/interface.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { BYTES } from '../../src/dtype.js';
import type { DecodeLoopStats, DecodeLoopVariant } from '../../src/models/decode_loop.js';
import { generateBatch } from '../../src/models/generate.js';
import type { LlamaModel } from '../../src/models/llama.js';
import { linearTensors } from '../../src/models/linear.js';
import { initAdapters, loraSettings } from '../../src/models/train/init.js';
import { LoraTrainer } from '../../src/models/train/trainer.js';
import { rng } from '../../src/ops/random.js';
import type { Tensor } from '../../src/tensor.js';
import { median, sustain, warmTimes } from '../clock.js';
import { profileOps, type OpProfile } from './profile.js';
import { startCpuProfile } from './cpu_profile.js';
import { hostSplit, type HostSplit } from './host_split.js';

/**
 * The three timed phases of the model bench. Every phase is timed in wall time to GPU
 * completion (what a caller sees: host recording included), after the GPU clocks are
 * brought up by back-to-back calls (bench/clock.ts); where the backend has timestamp
 * queries, prefill and decode also report the GPU's own busy time per call, so the host's
 * share is visible.
 */

export type Phase = 'prefill' | 'decode' | 'train';
export const PHASES: readonly Phase[] = ['prefill', 'decode', 'train'];

export interface PhaseRecord {
  phase: Phase;
  /** Sequences per call (prefill and train: 1). */
  batch: number;
  /** prefill / train: tokens of the sequence; decode: the prompt's tokens before the timed steps. */
  seq: number;
  /** Median wall ms per call (prefill: one forward; decode: one step of every sequence; train: one optimizer step). */
  ms: number;
  minMs: number;
  maxMs: number;
  runs: number;
  tokensPerS: number;
  /** GPU busy ms per call from timestamp queries (back to back, clocks up), where the adapter has them. */
  gpuMs?: number;
  /** decode: median host ms recording and submitting one step inside the loop (it overlaps the step before on the GPU). */
  hostMs?: number;
  /** decode: the loop variant timed, when the bench was asked for one (--decode-loop). */
  loop?: DecodeLoopVariant;
  /** decode: the PMETAL_MLP_GEMV value timed, when the bench was asked for it (--mlp-gemv). */
  mlpGemv?: '0' | '1';
  /** decode: the bandwidth bound — weights + KV read once per step at the copy kernel's GB/s. */
  roofline?: { bytesPerStep: number; ms: number; tokensPerS: number; fraction: number };
  /** train: the loss of the last timed step (finite, or the record is an error). */
  loss?: number;
  /** Bytes of GPU storage this phase reached (model weights included): live tensors, and with the pool. */
  peakLiveBytes?: number;
  peakAllocatedBytes?: number;
  /** webgpu: storage buffers created on the device per timed call (pool misses: each also costs its bind groups). */
  buffersPerCall?: number;
  /** webgpu: per timed call, dispatches, submissions and the host ms inside Dawn's submit and createBindGroup (host_split.ts). */
  host?: HostSplit;
  /** With --profile: one call's GPU time by op and kernel (profile.ts). */
  profile?: OpProfile[];
  error?: string;
}

export interface PhaseOptions {
  reps: number;
  sustainMs: number;
  /** decode: prompt tokens, warm-up steps (untimed), timed steps. */
  prompt: number;
  warmupSteps: number;
  steps: number;
  /** train: LoRA rank (alpha = 2r, PEFT's usual), untimed and timed optimizer steps. */
  loraR: number;
  /** train: clip the global gradient norm at this value (as `pmetal finetune`, whose default is 1); absent: no clipping. */
  maxGradNorm?: number;
  trainWarmup: number;
  trainSteps: number;
  /** The copy kernel's GB/s in this run (decode roofline). */
  copyGbps?: number;
  /** Profile one more call of each phase op by op (webgpu with timestamp queries). */
  profile?: boolean;
  /** A folder for a V8 CPU profile of each phase's timed calls (cpu_profile.ts). */
  cpuProfile?: string;
}

/** With o.profile on webgpu: one more call of the phase, timed pass by pass. */
async function maybeProfile(b: KernelBackend, o: PhaseOptions, call: () => void | Promise<void>): Promise<{ profile?: OpProfile[] }> {
  const gpu = o.profile ? webgpu(b) : undefined;
  const p = gpu ? await profileOps(gpu, call) : undefined;
  return p ? { profile: p } : {};
}

const webgpu = (b: KernelBackend) => (b.name === 'webgpu' ? (b as WebGpuBackend) : undefined);

/** Token ids for timing: uniform over the vocabulary, seeded (the values change no timing, only which embedding rows are read). */
export function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * vocab));
}

/** Keeps the GPU busy with `call` for `ms` (clocks up) before a timing. */
async function warm(b: KernelBackend, call: () => void, ms: number): Promise<void> {
  const gpu = webgpu(b);
  await sustain({ call, flush: () => gpu?.rt.flush(), done: () => (gpu ? gpu.rt.device.queue.onSubmittedWorkDone() : b.sync()) }, ms);
}

/** Wall ms of `reps` calls, each recorded, submitted and waited for. */
async function wallTimes(b: KernelBackend, call: () => void, reps: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    call();
    await b.sync();
    ms.push(performance.now() - t0);
  }
  return ms;
}

function summary(times: number[]): Pick<PhaseRecord, 'ms' | 'minMs' | 'maxMs' | 'runs'> {
  return { ms: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), runs: times.length };
}

async function gpuMs(b: KernelBackend, call: () => void, reps: number, sustainMs: number): Promise<number | undefined> {
  const gpu = webgpu(b);
  const ns = gpu ? await warmTimes(gpu, call, reps, sustainMs) : undefined;
  return ns ? median(ns) / 1e6 : undefined;
}

/** Prefill: one sequence of `seq` tokens into a fresh KV cache, logits of its last token (what generation does first). */
export async function prefillPhase(model: LlamaModel, seq: number, o: PhaseOptions): Promise<PhaseRecord> {
  const b = model.backend;
  const cache = model.createCache(1, seq);
  const ids = randomIds(seq, model.config.vocabSize, 1);
  try {
    // The cache is reused: its lengths go back to 0 and every key is written again.
    const call = () => {
      cache.lengths.fill(0);
      model.prefillLogits([ids], cache).dispose();
    };
    call();
    await b.sync(); // pipelines compiled, pool filled
    await warm(b, call, o.sustainMs);
    const stopProfile = await startCpuProfile(o.cpuProfile, 'prefill');
    const split = hostSplit(b);
    const times = await wallTimes(b, call, o.reps);
    const host = split?.(o.reps);
    await stopProfile();
    const s = summary(times);
    const gpu = await gpuMs(b, call, Math.min(o.reps, 3), o.sustainMs);
    return { phase: 'prefill', batch: 1, seq, ...s, tokensPerS: (seq / s.ms) * 1e3, ...(gpu !== undefined ? { gpuMs: gpu } : {}), ...(host ? { host } : {}), ...(await maybeProfile(b, o, call)) };
  } finally {
    cache.dispose();
  }
}

const tensorBytes = (t: Tensor) => t.size * BYTES[t.dtype];

/** Bytes a decode step reads at least: every linear's weights (lm_head included) once, each sequence's KV cache of `kvLen` keys, and B embedding rows. */
export function decodeBytes(model: LlamaModel, batch: number, kvLen: number): number {
  const c = model.config;
  const w = model.parameters;
  let bytes = 0;
  for (const l of w.layers) for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) for (const t of linearTensors(lin)) bytes += tensorBytes(t);
  for (const t of linearTensors(w.lmHead)) bytes += tensorBytes(t);
  const elem = BYTES[model.dtype];
  bytes += batch * c.hiddenSize * elem;
  bytes += c.numLayers * 2 * batch * c.numKvHeads * kvLen * c.headDim * elem;
  return bytes;
}

/**
 * Decode: `batch` prompts of `prompt` tokens, then greedy generation through the library's
 * own loop (generateBatch: step, sample on the backend, the ids fed to the next step there;
 * step n+1 is submitted before the B ids of step n are read back, as decode_loop.ts does);
 * the first `warmupSteps` steps are not timed. GPU time: the same step back to back at the
 * timed steps' mean KV length; host time: the loop's own recording of each timed step.
 */
export async function decodePhase(model: LlamaModel, batch: number, o: PhaseOptions): Promise<PhaseRecord> {
  const b = model.backend;
  const V = model.config.vocabSize;
  const prompts = Array.from({ length: batch }, (_, i) => Array.from(randomIds(o.prompt, V, 100 + i)));
  const times: number[] = [];
  const loop: DecodeLoopStats = { recordMs: [] };
  let last = 0;
  let i = 0;
  let stopped: number | undefined;
  let split: ReturnType<typeof hostSplit>;
  let stopProfile: (() => Promise<void>) | undefined;
  const kvLen = o.prompt + o.warmupSteps + (o.steps + 1) / 2;
  // The same step back to back at the timed steps' mean KV length (the GPU-time call below).
  const withStep = async (run: (call: () => void) => Promise<void>) => {
    const cache = model.createCache(batch, Math.ceil(kvLen) + 1);
    try {
      model.prefillLogits(prompts, cache).dispose();
      const tok = Array.from({ length: batch }, () => [1]);
      // Every call writes position kvLen − 1 again: a constant context, any number of calls.
      await run(() => {
        cache.lengths.fill(Math.ceil(kvLen) - 1);
        model.stepLogits(tok, cache).dispose();
      });
    } finally {
      cache.dispose();
    }
  };
  // Clocks up first (bench/clock.ts): a decode loop alone keeps an idle H100 at its lowest
  // clock for its first ~second (run S8 call E: 345 MHz, a first 1B loop at 3.3 ms a step
  // over 200 steps and 6.4–7.3 over 32, the next ones 2.2).
  await withStep((call) => warm(b, call, o.sustainMs));
  const settings = { maxNewTokens: o.warmupSteps + o.steps + 1, temperature: 0, eosTokenIds: [] };
  // And one whole loop untimed: on the H100 (run S17 calls C and D) the first loop of a process
  // took 3.1–6.0 ms a 1B step after the warm-up above, every later loop 1.69–1.71 ms, whichever
  // loop variant came first — the same GPU work (its timestamps: 2.56 ms either way).
  for await (const _ of generateBatch(model, prompts, settings));
  for await (const toks of generateBatch(model, prompts, settings, loop)) {
    // −1: the sampler found every logit −∞ or NaN (the generator then stops that sequence).
    if (toks.some((t) => t < 0)) stopped ??= i;
    if (i === o.warmupSteps) {
      stopProfile = await startCpuProfile(o.cpuProfile, `decode-B${batch}${process.env.PMETAL_DECODE_LOOP_VARIANT ? `-${process.env.PMETAL_DECODE_LOOP_VARIANT}` : ''}`);
      split = hostSplit(b);
    }
    const now = performance.now();
    if (i > o.warmupSteps) times.push(now - last);
    last = now;
    i++;
  }
  const host = split?.(times.length);
  await stopProfile?.();
  // recordMs[k] is step k+1's recording: the warm-up's are left out (a median per step, whichever step's wall it fell in).
  const hostTimes = loop.recordMs.slice(o.warmupSteps + 1);
  const total = times.reduce((a, t) => a + t, 0);
  // Throughput over the timed steps (their mean), the median beside it.
  const s = { ...summary(times), ms: total / times.length };
  let gpu: number | undefined;
  let profile: { profile?: OpProfile[] } = {};
  await withStep(async (call) => {
    gpu = await gpuMs(b, call, 10, o.sustainMs);
    profile = await maybeProfile(b, o, call);
  });
  const rec: PhaseRecord = { phase: 'decode', batch, seq: o.prompt, ...s, tokensPerS: (batch / s.ms) * 1e3, ...(gpu !== undefined ? { gpuMs: gpu } : {}), ...(hostTimes.length ? { hostMs: median(hostTimes) } : {}), ...(host ? { host } : {}), ...profile };
  if (stopped !== undefined) rec.error = `a sequence stopped at step ${stopped}: every logit was −∞ or NaN`;
  if (o.copyGbps) {
    const bytes = decodeBytes(model, batch, kvLen);
    const ms = bytes / (o.copyGbps * 1e6);
    rec.roofline = { bytesPerStep: bytes, ms, tokensPerS: (batch / ms) * 1e3, fraction: ms / s.ms };
  }
  return rec;
}

/**
 * LoRA training: one sequence of `seq` tokens per optimizer step, rank r on q, k, v, o, gate,
 * up and down (alpha 2r), AdamW with f32 master weights for f16 adapters — LoraTrainer.step,
 * which reads the loss back (so each step ends on GPU completion).
 */
export async function trainPhase(model: LlamaModel, seq: number, o: PhaseOptions): Promise<PhaseRecord> {
  const b = model.backend;
  const adapters = initAdapters(model.config, loraSettings({ r: o.loraR, alpha: 2 * o.loraR }), b, model.dtype, 0);
  const trainer = new LoraTrainer(model, adapters, { optimizer: { lr: 1e-4 }, ...(o.maxGradNorm !== undefined ? { maxGradNorm: o.maxGradNorm } : {}) });
  try {
    if (model.dtype !== 'f32') await trainer.optimizer.initMasters();
    const ids = Array.from(randomIds(seq, model.config.vocabSize, 7));
    const batch = [[{ ids }]];
    for (let i = 0; i < o.trainWarmup; i++) await trainer.step(batch);
    const created0 = webgpu(b)?.rt.buffersCreated;
    const times: number[] = [];
    let loss = NaN;
    const stopProfile = await startCpuProfile(o.cpuProfile, 'train');
    const split = hostSplit(b);
    for (let i = 0; i < o.trainSteps; i++) {
      const t0 = performance.now();
      loss = (await trainer.step(batch)).loss;
      times.push(performance.now() - t0);
    }
    const host = split?.(o.trainSteps);
    await stopProfile();
    const s = summary(times);
    const created = created0 === undefined ? undefined : (webgpu(b)!.rt.buffersCreated - created0) / o.trainSteps;
    const rec: PhaseRecord = { phase: 'train', batch: 1, seq, ...s, tokensPerS: (seq / s.ms) * 1e3, loss, ...(host ? { host } : {}), ...(created !== undefined ? { buffersPerCall: created } : {}), ...(await maybeProfile(b, o, async () => void (await trainer.step(batch)))) };
    if (!Number.isFinite(loss)) rec.error = `the loss is ${loss}`;
    return rec;
  } finally {
    trainer.dispose();
  }
}
