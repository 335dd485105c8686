// A decode step's dispatch count on webgpu (the 1B model's step is host-bound on Dawn's
// per-dispatch submit cost): the MLP is fused_mlp's 2 dispatches per layer — the gate/up
// GEMV with the SwiGLU epilogue and the down GEMV — where gate, up, swiglu and down were 4.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { loadModel } from '../../src/models/load.js';
import { writeTinyCheckpoint } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-dispatches-'));
let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
});
afterAll(() => {
  gpu?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Dispatches of one B = 1 decode step of the tiny 3-layer Llama with the separate MLP ops
 * (gate, up, swiglu, down), counted on this test's scenario before decoderLayer called
 * fused_mlp (checked: this test fails with the separate ops restored).
 */
const SEPARATE_MLP_STEP = 49;
const LAYERS = 3;

it('webgpu, tiny Llama, B = 1: a decode step records 2 dispatches fewer per layer than with the separate MLP ops', async () => {
  writeTinyCheckpoint(root, { model_type: 'llama', layers: LAYERS });
  const model = await loadModel(root, gpu);
  const cache = model.createCache(1, 32);
  let logits = await model.prefill([[3, 14, 15, 9, 2]], cache);
  const next = () => [[logits[0].indexOf(Math.max(...logits[0]))]];
  // One step first: plans and pipelines are built, buffers pooled.
  logits = await model.step(next(), cache);
  gpu.rt.trace = [];
  const before = gpu.rt.dispatchCount;
  logits = await model.step(next(), cache);
  const count = gpu.rt.dispatchCount - before;
  const trace = gpu.rt.trace;
  gpu.rt.trace = undefined;
  expect(count).toBe(SEPARATE_MLP_STEP - 2 * LAYERS);
  expect(trace.filter((d) => d.pipeline.defines?.SWIGLU_ROWS)).toHaveLength(LAYERS);
  expect(trace.filter((d) => d.pipeline.shader.startsWith('elementwise/swiglu'))).toHaveLength(0);
  cache.dispose();
  model.dispose();
});
