import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelBenchTable, runModelBench, type ModelBenchOptions } from '../../bench/models/index.js';
import { decodeBytes } from '../../bench/models/phases.js';
import { MODEL_PRESETS, presetConfig } from '../../bench/models/presets.js';
import { RandomWeights } from '../../bench/models/random_weights.js';
import { createBackend } from '../../src/backend/load.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { toFloat64 } from '../../src/dtype.js';
import { modelFromSource } from '../../src/models/load.js';

// The model bench on the tiny preset (test/fixtures/models/llama's shape) on lavapipe: every
// phase runs through the library's own paths and reports sane numbers. No timed assertion.
let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = (await createBackend('webgpu')) as WebGpuBackend;
});
afterAll(() => gpu?.dispose());

const small: Omit<ModelBenchOptions, 'model' | 'dtype'> = {
  phases: ['prefill', 'decode', 'train'],
  batches: [1, 3],
  seq: 48,
  prompt: 8,
  warmupSteps: 1,
  steps: 3,
  reps: 2,
  sustainMs: 20,
  loraR: 4,
  trainWarmup: 1,
  trainSteps: 1,
  copyBytes: 1 << 20,
};

describe('pmetal bench --model (bench/models)', () => {
  it('random weights: every tensor the config implies, HF init scale, tiled from one block; the presets are the real shapes', async () => {
    const c = presetConfig('llama-8b');
    expect([c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.vocabSize, c.tieWordEmbeddings]).toEqual([4096, 32, 32, 8, 128, 14336, 128256, false]);
    expect(c.rope.options.scaling).toMatchObject({ type: 'llama3', factor: 8 });
    const c1 = presetConfig('llama-1b', 'mlx4');
    expect([c1.hiddenSize, c1.numLayers, c1.headDim, c1.intermediateSize, c1.tieWordEmbeddings]).toEqual([2048, 16, 64, 8192, true]);
    expect(c1.rope.options.scaling).toMatchObject({ type: 'llama3', factor: 32 });
    expect(c1.quantization).toEqual({ groupSize: 64, bits: 4 });
    // 1B: embedding + 16 × (2 norms + 7 projections) + final norm, tied (no lm_head); ×3 with scales and biases.
    expect(new RandomWeights(presetConfig('llama-1b')).names().length).toBe(1 + 16 * 9 + 1);
    expect(new RandomWeights(c1).names().length).toBe(3 + 16 * (2 + 21) + 1);
    expect(new RandomWeights(c).names()).toContain('lm_head.weight');

    const src = new RandomWeights(presetConfig('tiny'));
    const w = await src.read('model.layers.0.mlp.down_proj.weight', { shape: [64, 128] });
    const vals = toFloat64('f16', w.data);
    const std = Math.sqrt(vals.reduce((a, v) => a + v * v, 0) / vals.length);
    expect(w.dtype).toBe('f16');
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    const norm = await src.read('model.norm.weight', { shape: [64] });
    expect(new Set(norm.data)).toEqual(new Set([0x3c00])); // 1.0
    await expect(src.read('model.layers.9.mlp.down_proj.weight', { shape: [64, 128] })).rejects.toThrow(/is not part of the model/);
  });

  it('prefill, decode at B = 1 and 3 and a LoRA step on webgpu: tokens/s, GPU time, roofline, peak memory and a loss at ln(vocab)', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', dtype: 'f16', ...small });
    expect(res.records.map((r) => [r.phase, r.batch])).toEqual([
      ['prefill', 1],
      ['decode', 1],
      ['decode', 3],
      ['train', 1],
    ]);
    const weights = res.weightBytes!;
    // Tiny: embedding 320×64 (tied) + 2 layers × (64+32+32+64+3·128)·64 weights + 3 norms of 64, f16, in size classes of 256 B.
    expect(weights).toBeGreaterThanOrEqual(2 * (320 * 64 + 2 * (64 + 32 + 32 + 64 + 3 * 128) * 64 + 5 * 64));
    for (const r of res.records) {
      expect(r.error, `${r.phase} ${r.batch}`).toBeUndefined();
      expect(r.ms).toBeGreaterThan(0);
      expect(r.tokensPerS).toBeCloseTo(((r.phase === 'decode' ? r.batch : r.seq) / r.ms) * 1e3, 6);
      // The weights are live through every phase; the phase's own tensors come on top.
      expect(r.peakLiveBytes!).toBeGreaterThan(weights);
      expect(r.peakAllocatedBytes!).toBeGreaterThanOrEqual(r.peakLiveBytes!);
      if (gpu.rt.timestamps && r.phase !== 'train') expect(r.gpuMs!).toBeGreaterThan(0);
    }
    const [, d1, d3, train] = res.records;
    expect(d1.runs).toBe(3);
    // The loop's own recording of a timed step (3 timed steps: the last records nothing).
    for (const d of [d1, d3]) expect(d.hostMs!).toBeGreaterThan(0);
    // Roofline bytes: every projection once (tied: the embedding is lm_head), B embedding rows, the KV cache at the timed steps' mean length.
    const kv = (B: number) => 2 * 2 * B * 2 * (8 + 1 + 2) * 16 * 2;
    const w = 2 * (2 * (64 + 32 + 32 + 64 + 3 * 128) * 64 + 320 * 64);
    expect(d1.roofline!.bytesPerStep).toBe(w + 64 * 2 + kv(1));
    expect(d3.roofline!.bytesPerStep).toBe(w + 3 * 64 * 2 + kv(3));
    expect(d3.roofline!.ms).toBeCloseTo(d3.roofline!.bytesPerStep / (res.copy!.gbps * 1e6), 9);
    // Random weights at std 0.02 give logits of std ~0.02·√64 = 0.16: the loss sits at ln(V) + 0.16²/2.
    expect(Math.abs(train.loss! - Math.log(320))).toBeLessThan(0.1);
    // The model, caches, adapters and optimizer are gone; what stays live is the rope table the
    // backend caches per rope options (launchers/rope_table.ts): D/2 f32 frequencies, one 256 B size class.
    expect(gpu.rt.memory.liveBytes).toBe(256);
  });

  it('--quant mlx4: packed projections (words, scales, biases) are what decode reads', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', quant: 'mlx4', dtype: 'f16', ...small, phases: ['decode'], batches: [2] });
    const [d] = res.records;
    expect(d.error).toBeUndefined();
    // 4-bit words (k/8 u32 per row) + f16 scales and biases per 64: (n·k/2 + 4·n·k/64) bytes per matrix.
    const packed = (n: number, k: number) => (n * k) / 2 + (4 * n * k) / 64;
    const w = 2 * (packed(64, 64) + 2 * packed(32, 64) + packed(64, 64) + 2 * packed(128, 64) + packed(64, 128)) + packed(320, 64);
    expect(d.roofline!.bytesPerStep).toBe(w + 2 * 64 * 2 + 2 * 2 * 2 * 2 * (8 + 1 + 2) * 16 * 2);
  });

  it('--decode-loop pipelined,serial: a decode record per loop variant, each marked, the environment restored', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', dtype: 'f16', ...small, phases: ['decode'], batches: [2], decodeLoops: ['pipelined', 'serial'], copyBytes: 0 });
    expect(res.records.map((r) => [r.phase, r.batch, r.loop, r.error])).toEqual([
      ['decode', 2, 'pipelined', undefined],
      ['decode', 2, 'serial', undefined],
    ]);
    for (const r of res.records) expect(r.hostMs!).toBeGreaterThan(0);
    // The host split counts the timed steps only (the loop's last timed step records no next
    // step): a tiny decode step is at most 2 layers of ~15 dispatches plus embedding, final
    // norm, LM head and sampler, in about one submission; more than one layer's 5 launches
    // (10 a step on lavapipe since run S20 folded the embedding's count into its gather).
    for (const r of res.records) {
      expect(r.host!.dispatches).toBeGreaterThan(5);
      expect(r.host!.dispatches).toBeLessThan(60);
      expect(r.host!.submits).toBeLessThan(r.host!.dispatches);
      expect(r.host!.submits).toBeGreaterThan(0);
      expect(r.host!.submitMs).toBeGreaterThan(0);
    }
    expect(process.env.PMETAL_DECODE_LOOP_VARIANT).toBeUndefined();
    expect(modelBenchTable(res)).toContain('serial loop');
  });

  it('--mlp-gemv 1,0: a decode record per PMETAL_MLP_GEMV value, each marked, the environment restored', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', dtype: 'f16', ...small, phases: ['decode'], batches: [2], mlpGemv: ['1', '0'], copyBytes: 0 });
    expect(res.records.map((r) => [r.phase, r.batch, r.mlpGemv, r.error])).toEqual([
      ['decode', 2, '1', undefined],
      ['decode', 2, '0', undefined],
    ]);
    expect(process.env.PMETAL_MLP_GEMV).toBeUndefined();
    expect(modelBenchTable(res)).toContain('PMETAL_MLP_GEMV=0');
  });

  it('--profile: one call per phase timed dispatch by dispatch, by op and kernel, in the table', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', dtype: 'f32', ...small, phases: ['decode', 'train'], batches: [1], profile: true });
    const [d, t] = res.records;
    for (const r of [d, t]) {
      expect(r.error).toBeUndefined();
      expect(r.profile!.length).toBeGreaterThan(3);
      expect(r.profile!.reduce((a, p) => a + p.share, 0)).toBeCloseTo(1, 6);
      // Sorted by time, every pass labelled with a public op and a WGSL file.
      for (let i = 1; i < r.profile!.length; i++) expect(r.profile![i].ms).toBeLessThanOrEqual(r.profile![i - 1].ms);
      for (const p of r.profile!) expect(p.kernel).toMatch(/^[a-z_]+\/[a-z0-9_]+/);
    }
    // A decode step: the tiny model's 2 layers each run attention over the cache; a train step: its backward.
    expect(d.profile!.some((p) => p.op === 'decode_attention')).toBe(true);
    expect(t.profile!.some((p) => p.op === 'flash_attention_backward')).toBe(true);
    expect(modelBenchTable(res)).toContain('train B=1: one call, each dispatch timed in its own pass');
  });

  it('decodeBytes counts a model built from any WeightSource (modelFromSource)', async () => {
    const c = presetConfig('tiny');
    const m = await modelFromSource(new RandomWeights(c), c, gpu, { dtype: 'f32' });
    try {
      expect(decodeBytes(m, 1, 0)).toBe(4 * (2 * (64 + 32 + 32 + 64 + 3 * 128) * 64 + 320 * 64 + 64));
      const [logits] = await m.forward([[1, 2, 3]]);
      expect(logits.length).toBe(3 * 320);
      expect(logits.every(Number.isFinite)).toBe(true);
    } finally {
      m.dispose();
    }
    await expect(modelFromSource(new RandomWeights(c), c, gpu, { dtype: 'f8' as 'f32' })).rejects.toThrow(/\[model\] options: dtype/);
  });

  it('bench/peers/torch_models.py builds the same shapes as presets.ts', async () => {
    const py = await promisify(execFile)('python3', ['-c', "import runpy, json; print(json.dumps(runpy.run_path('bench/peers/torch_models.py', run_name='presets')['PRESETS']))"]).catch(() => undefined);
    if (!py) return; // no python3 here: the device machine runs the script itself
    const presets = JSON.parse(py.stdout) as Record<string, [Record<string, unknown>, number, Record<string, unknown>]>;
    expect(Object.keys(presets).sort()).toEqual(Object.keys(MODEL_PRESETS).sort());
    for (const [name, [kw, theta, scaling]] of Object.entries(presets)) {
      const ts = MODEL_PRESETS[name as keyof typeof MODEL_PRESETS] as Record<string, unknown> & { rope_theta?: number; rope_scaling?: object; rope_parameters?: { rope_theta: number } };
      for (const [k, v] of Object.entries(kw)) expect(ts[k], `${name}.${k}`).toEqual(v);
      const { rope_theta: t, ...rest } = ts.rope_parameters ?? { rope_theta: ts.rope_theta!, ...ts.rope_scaling };
      expect(t, `${name} rope_theta`).toBe(theta);
      expect(rest, `${name} rope scaling`).toEqual(scaling);
    }
  });

  const built = existsSync('dist/cli.js');
  it('--max-grad-norm: the train phase clips as pmetal finetune does (the note says so), with no new buffers a step', { timeout: 300_000 }, async () => {
    const res = await runModelBench(gpu, { model: 'tiny', dtype: 'f16', ...small, phases: ['train'], batches: [1], copyBytes: 0, maxGradNorm: 1 });
    const [t] = res.records;
    expect(t.error).toBeUndefined();
    expect(Number.isFinite(t.loss!)).toBe(true);
    expect(t.buffersPerCall).toBe(0);
    expect(modelBenchTable(res)).toContain('clip 1');
  });

  it.skipIf(!built)('the CLI checks its options before opening a device', async () => {
    const run = promisify(execFile);
    const fail = async (...args: string[]) => {
      const r = await run(process.execPath, ['dist/cli.js', 'bench', '--model', 'tiny', ...args]).catch((e: { code: number; stderr: string }) => e);
      return r as { code?: number; stderr: string };
    };
    expect((await fail('--phase', 'prefill,sample')).stderr).toContain("[bench] --phase: expected some of prefill, decode, train, got 'sample'");
    expect((await fail('--batch', '0')).stderr).toContain("[bench] --batch: expected an integer ≥ 1, got '0'");
    expect((await fail('--dtype', 'f16,f32')).stderr).toContain("[bench] --dtype with --model: expected one of f16, f32, bf16, got 'f16,f32'");
    expect((await fail('--backend', 'cpu')).stderr).toContain('[bench] --backend with --model: expected one of webgpu, metal');
    expect((await fail('--decode-loop', 'pipelined,eager')).stderr).toContain("[bench] --decode-loop: expected some of pipelined2, pipelined, serial, got 'eager'");
    expect((await fail('--max-grad-norm', '0')).stderr).toContain("[bench] --max-grad-norm: expected a finite number > 0, got '0'");
    const bad = await fail('--quant', 'q4_0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('q4_0');
  });
});
