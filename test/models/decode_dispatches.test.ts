// A decode step is host-bound on a big GPU (run S8: ~30 µs of host time per dispatch on the
// H100 machine, op by op), so every dispatch a layer saves counts: the MLP is fused_mlp's 2
// dispatches per layer — the gate/up GEMV with the SwiGLU epilogue and the down GEMV — where
// gate, up, swiglu and down were 4, and the post-attention RMSNorm (with its residual add) is
// computed inside the gate/up GEMV (fused_mlp's normWeight/residual); the attention input is one fused_norm_qkv dispatch where
// rms_norm, the q, k, v gemms and rope were 5 (PMETAL_NORM_QKV=0 keeps those), and that GEMV
// also writes k and v into the KV cache where kv_cache_copy was a dispatch of its own
// (PMETAL_NORM_QKV_CACHE=0 keeps it); and with the separate ops, q and k go through one rope
// call, not two.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/load.js';
import { writeTinyCheckpoint } from './tiny_checkpoint.js';
import { splitRope } from './split_rope.js';
import { useWebGpu } from '../webgpu_backends.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-decode-dispatches-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const gpu = useWebGpu();
afterEach(() => {
  delete process.env.PMETAL_NORM_QKV;
  delete process.env.PMETAL_NORM_QKV_CACHE;
});

/**
 * Dispatches of one B = 1 decode step of the tiny 3-layer Llama with the separate MLP ops
 * (gate, up, swiglu, down) and two rope calls, counted on this test's scenario before
 * decoderLayer called fused_mlp (checked: this test fails with the separate ops restored).
 */
const SEPARATE_MLP_STEP = 49;
const LAYERS = 3;
/**
 * decode_reduce's dispatch a layer, which this test's 32-token cache no longer records: its
 * attention plan has one split, so decode_stream finishes the rows itself (DIRECT).
 */
const REDUCE = LAYERS;
/** embedding_count's dispatch, now counted inside the embedding gather (its COUNT). */
const COUNT = 1;

/** One B = 1 decode step after prefill and a warm-up step: its dispatch count, trace and greedy tokens. */
async function decodeStep(dir: string) {
  const model = await loadModel(dir, gpu());
  const cache = model.createCache(1, 32);
  let logits = await model.prefill([[3, 14, 15, 9, 2]], cache);
  const next = () => [[logits[0].indexOf(Math.max(...logits[0]))]];
  const tokens = [next()[0][0]];
  // One step first: plans and pipelines are built, buffers pooled.
  logits = await model.step(next(), cache);
  tokens.push(next()[0][0]);
  gpu().rt.trace = [];
  const before = gpu().rt.dispatchCount;
  logits = await model.step(next(), cache);
  const count = gpu().rt.dispatchCount - before;
  const trace = gpu().rt.trace!;
  gpu().rt.trace = undefined;
  tokens.push(next()[0][0]);
  cache.dispose();
  model.dispose();
  return { count, trace, tokens };
}

it('webgpu, tiny Llama, B = 1: a decode step records 3 dispatches fewer per layer than with the separate norm and MLP ops, 4 fewer for the attention input and 1 for the cache write; PMETAL_MLP_NORM=0 keeps the norm separate (1 more per layer), same greedy tokens', async () => {
  const dir = join(root, 'mlp');
  writeTinyCheckpoint(dir, { model_type: 'llama', layers: LAYERS });
  const fused = await decodeStep(dir);
  // 2 fewer per layer for the MLP, 1 for the norm inside its gate/up GEMV, 1 for rope (q and
  // k in one call: the last test), 4 for the attention input (one fused_norm_qkv GEMV: the
  // next tests), 1 for kv_cache_copy (written by that GEMV), 1 for decode_reduce (REDUCE);
  // and 1 a step for embedding_count (COUNT).
  expect(fused.count).toBe(SEPARATE_MLP_STEP - 4 * LAYERS - 4 * LAYERS - LAYERS - REDUCE - COUNT);
  expect(fused.trace.filter((d) => d.pipeline.shader === 'embedding/embedding_count.wgsl')).toHaveLength(0);
  expect(fused.trace.filter((d) => d.pipeline.shader === 'attention/decode_reduce.wgsl')).toHaveLength(0);
  expect(fused.trace.filter((d) => d.pipeline.shader === 'attention/decode_stream.wgsl' && d.pipeline.defines?.DIRECT)).toHaveLength(LAYERS);
  expect(fused.trace.filter((d) => d.pipeline.shader === 'attention/kv_cache_copy.wgsl')).toHaveLength(0);
  expect(fused.trace.filter((d) => d.pipeline.shader === 'gemm/gemv_norm_qkv.wgsl')).toHaveLength(LAYERS);
  expect(fused.trace.filter((d) => d.pipeline.defines?.SWIGLU_ROWS && d.pipeline.defines?.NORM && d.pipeline.defines?.NORM_RES)).toHaveLength(LAYERS);
  expect(fused.trace.filter((d) => d.pipeline.shader.startsWith('elementwise/swiglu'))).toHaveLength(0);
  process.env.PMETAL_MLP_NORM = '0';
  try {
    const separate = await decodeStep(dir);
    expect(separate.count).toBe(SEPARATE_MLP_STEP - 3 * LAYERS - 4 * LAYERS - LAYERS - REDUCE - COUNT);
    expect(separate.trace.filter((d) => d.pipeline.defines?.SWIGLU_ROWS && !d.pipeline.defines?.NORM)).toHaveLength(LAYERS);
    expect(fused.tokens).toEqual(separate.tokens);
  } finally {
    delete process.env.PMETAL_MLP_NORM;
  }
});

/** Greedy tokens of `steps` decode steps after a prompt, and the dispatches of the last step. */
async function greedy(dir: string, steps: number): Promise<{ tokens: number[]; last: number }> {
  const model = await loadModel(dir, gpu());
  const cache = model.createCache(1, 32);
  let out = await model.prefill([[3, 1, 4, 1, 5]], cache);
  const tokens: number[] = [];
  let last = 0;
  for (let s = 0; s < steps; s++) {
    tokens.push(out[0].indexOf(Math.max(...out[0])));
    const before = gpu().rt.dispatchCount;
    out = await model.step([[tokens[s]]], cache);
    last = gpu().rt.dispatchCount - before;
  }
  cache.dispose();
  model.dispose();
  return { tokens, last };
}

describe('decode step dispatches', () => {
  // Llama: the GEMV writes the cache in every layer (15 storage bindings with the residual);
  // Qwen2's three biases put the residual layers at 18, over lavapipe's 16, so only layer 0
  // (no residual yet: 16) writes it in the GEMV and the others launch kv_cache_copy after.
  it.each([
    ['llama', {}, LAYERS],
    ['qwen2 (q/k/v biases)', { model_type: 'qwen2' }, 1],
  ] as const)('%s: the attention input is one fused_norm_qkv dispatch a layer, 4 fewer than PMETAL_NORM_QKV=0 records (and 1 more where it writes the cache), same greedy tokens', async (name, spec, cacheInGemv) => {
    const dir = join(root, `qkv-${name.split(' ')[0]}`);
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: LAYERS, ...spec });
    const fused = await greedy(dir, 4);
    process.env.PMETAL_NORM_QKV = '0';
    const separate = await greedy(dir, 4);
    expect(separate.last - fused.last).toBe(4 * LAYERS + cacheInGemv);
    expect(fused.tokens).toEqual(separate.tokens);
  });

  it('PMETAL_NORM_QKV_CACHE=0: kv_cache_copy is its own dispatch again (1 more a layer), same greedy tokens', async () => {
    const dir = join(root, 'qkv-cache');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: LAYERS });
    const fused = await greedy(dir, 5);
    process.env.PMETAL_NORM_QKV_CACHE = '0';
    const separate = await greedy(dir, 5);
    expect(separate.last - fused.last).toBe(LAYERS);
    expect(fused.tokens).toEqual(separate.tokens);
  });

  it('B = 6 (past the normalising GEMV): the attention input is rms_norm + the GEMV on its output, which writes the cache — 4 dispatches a layer fewer than PMETAL_NORM_QKV_VARIANT=gemv4 (the separate launches and kv_cache_copy), same greedy tokens', async () => {
    const dir = join(root, 'qkv-b6');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: LAYERS });
    const run = async () => {
      const model = await loadModel(dir, gpu());
      const cache = model.createCache(6, 32);
      const prompts = Array.from({ length: 6 }, (_, b) => [3 + b, 1, 4, 1 + b, 5]);
      let out = await model.prefill(prompts, cache);
      const argmax = () => out.map((row) => [row.indexOf(Math.max(...row))]);
      const tokens = [argmax()];
      out = await model.step(argmax(), cache);
      tokens.push(argmax());
      gpu().rt.trace = [];
      out = await model.step(argmax(), cache);
      const shaders = gpu().rt.trace!.map((d) => d.pipeline.shader);
      gpu().rt.trace = undefined;
      tokens.push(argmax());
      cache.dispose();
      model.dispose();
      return { tokens, shaders };
    };
    const fused = await run();
    expect(fused.shaders.filter((x) => x === 'gemm/gemv_norm_qkv.wgsl')).toHaveLength(LAYERS);
    expect(fused.shaders.filter((x) => x === 'attention/kv_cache_copy.wgsl')).toHaveLength(0);
    process.env.PMETAL_NORM_QKV_VARIANT = 'gemv4';
    try {
      const separate = await run();
      expect(separate.shaders.length - fused.shaders.length).toBe(4 * LAYERS);
      expect(fused.tokens).toEqual(separate.tokens);
    } finally {
      delete process.env.PMETAL_NORM_QKV_VARIANT;
    }
  });

  it('qwen3 (q/k RMSNorm between the projections and rope) keeps the separate ops', async () => {
    const dir = join(root, 'qkv-qwen3');
    writeTinyCheckpoint(dir, { model_type: 'qwen3', layers: LAYERS });
    const a = await greedy(dir, 2);
    process.env.PMETAL_NORM_QKV = '0';
    const b = await greedy(dir, 2);
    expect(a.last).toBe(b.last);
    expect(a.tokens).toEqual(b.tokens);
  });

  it('one rope dispatch per layer for q and k (PMETAL_NORM_QKV=0, the separate ops): a step records numLayers fewer dispatches than with two rope calls, same logits', async () => {
    process.env.PMETAL_NORM_QKV = '0';
    const layers = 3;
    const dir = join(root, 'llama');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers });
    const counts: number[] = [];
    const logits: Float32Array[][] = [];
    for (const b of [gpu(), splitRope(gpu())]) {
      const model = await loadModel(dir, b);
      const cache = model.createCache(1, 32);
      let out = await model.prefill([[3, 1, 4, 1, 5]], cache);
      // Warm: the first step plans and records; count a later one.
      out = await model.step([[out[0].indexOf(Math.max(...out[0]))]], cache);
      const before = gpu().rt.dispatchCount;
      out = await model.step([[out[0].indexOf(Math.max(...out[0]))]], cache);
      counts.push(gpu().rt.dispatchCount - before);
      logits.push(out);
      cache.dispose();
      model.dispose();
    }
    expect(counts[1] - counts[0]).toBe(layers);
    expect([...logits[0][0]]).toEqual([...logits[1][0]]);
  });
});
