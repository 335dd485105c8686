import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { f16ToNumber } from '../../src/dtype.js';
import { ModelLoadError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/models/safetensors/index.js';
import { mlxQ, mlxQuantize } from '../../src/ops/quant/mlx.js';
import { randomInts } from '../../src/ops/random.js';
import { referenceLogits, refInvFreq } from './reference_llama.js';
import { tinyConfig, tinyWeights, type TinySpec } from './tiny_checkpoint.js';

/**
 * An MLX-quantized checkpoint as mlx_lm writes one: every linear layer (and the embedding) as
 * u32-packed `.weight` + f16 `.scales` and `.biases`, config.json's "quantization". The model
 * must keep them packed (quantized_gemm) and compute what the dequantized weights compute.
 */
const root = mkdtempSync(join(tmpdir(), 'pmetal-mlx-'));
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

// Qwen2: q/k/v biases on quantized layers; tied: the quantized embedding is also the lm_head.
const SPEC: TinySpec = { model_type: 'qwen2', tie: true, hidden: 32, intermediate: 64 };
const GROUP = 32;

/** Writes the quantized checkpoint; returns the dequantized f32 weights (w = s·q + b) for the reference. */
function writeMlx(dir: string, bits: 4 | 8) {
  const w = tinyWeights(SPEC);
  const out: Record<string, TensorToWrite> = {};
  const deq = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of w) {
    const base = name.replace(/\.weight$/, '');
    const quantize = t.shape.length === 2 && /(_proj|embed_tokens)\.weight$/.test(name);
    if (!quantize) {
      out[name] = { dtype: 'f32', shape: t.shape, data: t.data };
      deq.set(name, t);
      continue;
    }
    const [n, k] = t.shape;
    const q = mlxQuantize(t.data, n, k, bits, GROUP, 'f16');
    out[`${base}.weight`] = { dtype: 'u32', shape: [n, (k * bits) / 32], data: q.w };
    out[`${base}.scales`] = { dtype: 'f16', shape: [n, k / GROUP], data: q.scales as Uint16Array };
    out[`${base}.biases`] = { dtype: 'f16', shape: [n, k / GROUP], data: q.biases as Uint16Array };
    const d = new Float32Array(n * k);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < k; c++) {
        const g = r * (k / GROUP) + Math.floor(c / GROUP);
        d[r * k + c] = f16ToNumber((q.scales as Uint16Array)[g]) * mlxQ(q.w, (r * k * bits) / 32, c, bits) + f16ToNumber((q.biases as Uint16Array)[g]);
      }
    deq.set(name, { shape: t.shape, data: d });
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tinyConfig(SPEC), quantization: { group_size: GROUP, bits } }));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(out));
  return deq;
}

const ids = Array.from(randomInts('i32', [11], 31, 0, 40).data);

describe('MLX-quantized checkpoints stay packed and compute the dequantized model', () => {
  const cases = [
    [4, 'cpu'],
    [8, 'cpu'],
    [4, 'webgpu'],
  ] as const;
  it.each(cases)('%i-bit on %s', async (bits, bname) => {
    const dir = join(root, `q${bits}-${bname}`);
    mkdirSync(dir);
    const deq = writeMlx(dir, bits);
    const model = await loadModel(dir, backends[bname]);
    const [got] = await model.forward([ids]);
    model.dispose();
    const ref = referenceLogits({ hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: refInvFreq(10000, 8), window: null, qkNorm: false, tie: true, layers: 2 }, deq, ids, false).flatMap((r) => Array.from(r));
    const maxRef = Math.max(...ref.map(Math.abs));
    // The bounds of the dense tests (cpu: ~30 f32 roundings with a gain margin of 16; webgpu:
    // ≤ 64-term f32 sums), with the dequantized weights as the exact weights.
    const bound = (bname === 'cpu' ? 30 * 16 : 30 * 64) * 2 ** -24 * maxRef;
    ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(bound));
    expect(maxRef).toBeGreaterThan(0.5);
    // The unquantized weights give other logits: the quantization is really in the computation.
    const dense = referenceLogits({ hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: refInvFreq(10000, 8), window: null, qkNorm: false, tie: true, layers: 2 }, tinyWeights(SPEC), ids, false).flatMap((r) => Array.from(r));
    expect(Math.max(...dense.map((x, i) => Math.abs(got[i] - x)))).toBeGreaterThan(bound);
  });

  it('packed weights without "quantization" in config.json, or a scales shape off the group size: typed errors', async () => {
    const dir = join(root, 'noquant');
    mkdirSync(dir);
    writeMlx(dir, 4);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, quantization: undefined }));
    const e = (await loadModel(dir, backends.cpu).catch((x: unknown) => x)) as ModelLoadError;
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toMatch(/no "quantization"/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, quantization: { group_size: 64, bits: 4 } }));
    const e2 = (await loadModel(dir, backends.cpu).catch((x: unknown) => x)) as ModelLoadError;
    expect(e2).toBeInstanceOf(ModelLoadError);
    expect(e2.message).toMatch(/group_size 64|groups of 64/);
  });
});
