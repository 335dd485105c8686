import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { bf16ToNumber, f16ToNumber, f32ArrayTo16, numberToBf16, numberToF16 } from '../../src/dtype.js';
import { ModelLoadError, OptionsError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { encodeSafetensors } from '../../src/models/safetensors/index.js';
import { randomInts } from '../../src/ops/random.js';
import { referenceLogits, refInvFreq, type RefConfig } from './reference_llama.js';
import { writeTinyCheckpoint, type TinySpec } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-llama-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cpu = new CpuBackend();

const VARIANTS: Record<string, { spec: TinySpec; ref: Partial<RefConfig> }> = {
  // llama3 scaling with original_max_position_embeddings 64: head_dim 8's wavelengths 6.3, 63, 628, 6283
  // put one dim in the blended band and two in the divided one.
  llama: { spec: { model_type: 'llama', tie: true, ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, ref: { invFreq: refInvFreq(10000, 8, { factor: 8, low: 1, high: 4, omp: 64 }) } },
  qwen2: { spec: { model_type: 'qwen2', tie: true, ropeTheta: 1e6, eps: 1e-6 }, ref: { invFreq: refInvFreq(1e6, 8), eps: 1e-6 } },
  qwen3: { spec: { model_type: 'qwen3', ropeTheta: 1e6, eps: 1e-6 }, ref: { invFreq: refInvFreq(1e6, 8), qkNorm: true, eps: 1e-6 } },
  // A window of 4 over sequences of 10 and 7 tokens.
  mistral: { spec: { model_type: 'mistral', slidingWindow: 4 }, ref: { window: 4 } },
  'llama with attention_bias': { spec: { model_type: 'llama', attentionBias: true, layers: 1 }, ref: { layers: 1 } },
};

function refConfig(v: (typeof VARIANTS)[string]): RefConfig {
  return { hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: refInvFreq(10000, 8), window: null, qkNorm: false, tie: v.spec.tie ?? false, layers: 2, ...v.ref };
}

const seqs = [Array.from(randomInts('i32', [10], 5, 0, 40).data), Array.from(randomInts('i32', [7], 6, 0, 40).data)];

describe('LlamaModel.forward on cpu against an independent float64 forward (HF semantics)', () => {
  it.each(Object.keys(VARIANTS))('%s: logits of a packed batch of 10 + 7 tokens', async (name) => {
    const v = VARIANTS[name];
    const dir = join(root, name.replace(/ /g, '_'));
    const w = writeTinyCheckpoint(dir, v.spec);
    const model = await loadModel(dir, cpu);
    const got = await model.forward(seqs);
    model.dispose();
    const rc = refConfig(v);
    seqs.forEach((ids, b) => {
      const mirror = referenceLogits(rc, w, ids, true);
      const exact = referenceLogits(rc, w, ids, false);
      const V = 40;
      expect(got[b].length).toBe(ids.length * V);
      let maxRef = 0;
      let dMirror = 0;
      let dExact = 0;
      for (let s = 0; s < ids.length; s++)
        for (let j = 0; j < V; j++) {
          maxRef = Math.max(maxRef, Math.abs(exact[s][j]));
          dMirror = Math.max(dMirror, Math.abs(got[b][s * V + j] - mirror[s][j]));
          dExact = Math.max(dExact, Math.abs(got[b][s * V + j] - exact[s][j]));
        }
      // The mirror rounds to f32 where pmetal's ops hand tensors on; inside each op both sum in
      // float64. They can differ only where float64 summation-order noise (~2^-50 relative)
      // tips an f32 rounding: one ulp (2^-24 relative) at that point, carried to the logits by
      // the network's gain. 16 ulps of the largest logit leaves that gain a margin of 16.
      expect(dMirror).toBeLessThanOrEqual(16 * 2 ** -24 * maxRef);
      // Against exact float64: the ~30 f32 roundings along each path, each ≤ 2^-24 relative.
      expect(dExact).toBeLessThanOrEqual(30 * 16 * 2 ** -24 * maxRef);
      expect(maxRef).toBeGreaterThan(0.5); // logits that are not all ~0: the comparison can fail
    });
  });
});

describe('LlamaModel: batching, dtypes and load errors', () => {
  it('a packed batch gives each sequence the logits it has alone (no cross-sequence attention)', async () => {
    const dir = join(root, 'batching');
    writeTinyCheckpoint(dir, { model_type: 'mistral', slidingWindow: 3 });
    const model = await loadModel(dir, cpu);
    const [a, b] = await model.forward(seqs);
    const [a1] = await model.forward([seqs[0]]);
    const [b1] = await model.forward([new Int32Array(seqs[1])]);
    model.dispose();
    expect(Array.from(a)).toEqual(Array.from(a1));
    expect(Array.from(b)).toEqual(Array.from(b1));
  });

  it('bf16 weights in the file are widened exactly: the logits of the rounded weights', async () => {
    const dir = join(root, 'bf16');
    const spec: TinySpec = { model_type: 'qwen2', tie: false };
    const w = writeTinyCheckpoint(dir, spec, (t) => {
      for (const k of Object.keys(t)) t[k] = { dtype: 'bf16', shape: t[k].shape, data: f32ArrayTo16('bf16', t[k].data as Float32Array) };
    });
    // The reference gets the same bf16-rounded values, widened.
    for (const v of w.values()) {
      const bits = f32ArrayTo16('bf16', v.data);
      v.data = new Float32Array(new Uint32Array(Array.from(bits, (x) => x << 16)).buffer);
    }
    const model = await loadModel(dir, cpu);
    const [got] = await model.forward([seqs[0]]);
    model.dispose();
    const ref = referenceLogits({ ...refConfig({ spec, ref: { invFreq: refInvFreq(10000, 8) } }) }, w, seqs[0], true);
    const flat = ref.flatMap((r) => Array.from(r));
    const maxRef = Math.max(...flat.map(Math.abs));
    // The mirror bound of the first test (16 f32 ulps of the largest logit).
    flat.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(16 * 2 ** -24 * maxRef));
  });

  it.each([
    ['f16', (x: number) => f16ToNumber(numberToF16(x)), 2 ** -11],
    ['bf16', (x: number) => bf16ToNumber(numberToBf16(x)), 2 ** -8],
  ] as const)('compute dtype %s: weights rounded once on load, activations rounded at every op boundary', async (dtype, round, u) => {
    const dir = join(root, `dtype-${dtype}`);
    const spec: TinySpec = { model_type: 'qwen3', slidingWindow: null };
    const w = writeTinyCheckpoint(dir, spec);
    const model = await loadModel(dir, cpu, { dtype });
    const [got] = await model.forward([seqs[0]]);
    model.dispose();
    // The mirror of the forward in the narrow dtype: the same weights rounded, every op output rounded.
    const rw = new Map([...w].map(([k, v]) => [k, { shape: v.shape, data: new Float32Array(Array.from(v.data, round)) }]));
    const ref = referenceLogits(refConfig({ spec, ref: { qkNorm: true } }), rw, seqs[0], round).flatMap((r) => Array.from(r));
    const maxRef = Math.max(...ref.map(Math.abs));
    // As the f32 mirror: agreement up to a rounding tipped by summation order, 16 units of the dtype.
    ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(16 * u * maxRef));
    // And the narrow dtype is really in use: the f32 mirror differs by more than f32 would.
    const f32 = referenceLogits(refConfig({ spec, ref: { qkNorm: true } }), w, seqs[0], true).flatMap((r) => Array.from(r));
    expect(Math.max(...f32.map((x, i) => Math.abs(got[i] - x)))).toBeGreaterThan(16 * 2 ** -24 * maxRef);
  });

  it('a tensor missing from the checkpoint, a shape contradicting config.json: typed, named', async () => {
    const dir = join(root, 'missing');
    writeTinyCheckpoint(dir, { model_type: 'qwen3' }, (t) => delete t['model.layers.1.self_attn.k_norm.weight']);
    const e = await loadModel(dir, cpu).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as ModelLoadError).tensor).toBe('model.layers.1.self_attn.k_norm.weight');
    const dir2 = join(root, 'shape');
    writeTinyCheckpoint(dir2, { model_type: 'llama' }, (t) => {
      t['model.layers.0.self_attn.k_proj.weight'] = { dtype: 'f32', shape: [32, 32], data: new Float32Array(32 * 32) };
    });
    const e2 = await loadModel(dir2, cpu).catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(ModelLoadError);
    expect((e2 as ModelLoadError).message).toMatch(/k_proj.weight": shape \[32, 32\] contradicts the expected \[16, 32\] \(num_key_value_heads 2 × head_dim 8/);
    // Untied: lm_head.weight is required.
    const dir3 = join(root, 'untied');
    writeTinyCheckpoint(dir3, { model_type: 'llama', tie: false }, (t) => delete t['lm_head.weight']);
    expect(((await loadModel(dir3, cpu).catch((x: unknown) => x)) as ModelLoadError).tensor).toBe('lm_head.weight');
  });

  it('a weight the config does not account for is refused (config says llama, the file has Qwen3 q/k norms)', async () => {
    const dir = join(root, 'extra');
    writeTinyCheckpoint(dir, { model_type: 'qwen3' });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'llama' }));
    const e = (await loadModel(dir, cpu).catch((x: unknown) => x)) as ModelLoadError;
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.tensor).toMatch(/^model\.layers\.0\.self_attn\.[qk]_norm\.weight$/);
    expect(e.message).toMatch(/config and the weights disagree/);
  });

  it('a sharded checkpoint gives the logits of the single file', async () => {
    const dir = join(root, 'sharded');
    const w = writeTinyCheckpoint(dir, { model_type: 'qwen2', tie: true });
    const single = await loadModel(dir, cpu);
    const [want] = await single.forward([seqs[0]]);
    single.dispose();
    expect(readFileSync(join(dir, 'model.safetensors')).length).toBeGreaterThan(0);
    unlinkSync(join(dir, 'model.safetensors'));
    const names = [...w.keys()];
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), encodeSafetensors(Object.fromEntries(part.map((n) => [n, { dtype: 'f32' as const, shape: w.get(n)!.shape, data: w.get(n)!.data }]))));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = await loadModel(dir, cpu);
    const [got] = await sharded.forward([seqs[0]]);
    sharded.dispose();
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('token ids out of range, empty sequences, bad options', async () => {
    const dir = join(root, 'tokens');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: 1 });
    const model = await loadModel(dir, cpu);
    await expect(model.forward([[1, 40]])).rejects.toThrow(/tokens\[0\]\[1\]: expected a token id in \[0, 40\), got 40/);
    await expect(model.forward([[1], [-1]])).rejects.toThrow(OptionsError);
    await expect(model.forward([[1], []])).rejects.toThrow(/tokens\[1\]: expected a non-empty/);
    await expect(model.forward([])).rejects.toThrow(OptionsError);
    await expect(model.forward([[1.5]])).rejects.toThrow(OptionsError);
    model.dispose();
    await expect(loadModel(dir, cpu, { dtype: 'f64' as never })).rejects.toThrow(OptionsError);
  });
});
