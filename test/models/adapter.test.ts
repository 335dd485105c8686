import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { ModelLoadError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { encodeSafetensors } from '../../src/models/safetensors/index.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'models');
const ARCHS = ['llama', 'qwen2', 'qwen3', 'mistral'];
const golden = (arch: string) => JSON.parse(readFileSync(join(FIXTURES, arch, 'golden.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'pmetal-adapter-'));

const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(tmp, { recursive: true, force: true });
});

/** The golden's loss: mean over kept labels of CE(logits[t], labels[t+1]), in float64. */
function loss(logits: Float32Array[], labels: number[][], V: number): { loss: number; maxLogit: number } {
  let sum = 0;
  let count = 0;
  let maxLogit = 0;
  labels.forEach((lab, b) => {
    for (let t = 0; t + 1 < lab.length; t++) {
      const row = logits[b].subarray(t * V, (t + 1) * V);
      row.forEach((x) => (maxLogit = Math.max(maxLogit, Math.abs(x))));
      if (lab[t + 1] === -100) continue;
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      sum += lse - row[lab[t + 1]];
      count++;
    }
  });
  return { loss: sum / count, maxLogit };
}

// The logit bound of golden.test.ts (30 ops × 16 | 128 f32 ulps of the largest logit); the merge
// adds one rounding of each adapted weight, inside that margin. Cross-entropy moves by at most
// twice the largest logit error (|∂CE/∂z| sums to ≤ 2 over a row), and a mean keeps that.
const ULPS: Record<string, number> = { cpu: 30 * 16, webgpu: 30 * 128 };

describe('PEFT adapters merged on load reproduce peft’s LoRA loss', () => {
  const cases = [...ARCHS.map((a) => [a, 'cpu'] as const), ['qwen3', 'webgpu'] as const];
  it.each(cases)('%s on %s: the loss of the LoRA step’s forward, and not the base model’s', async (arch, bname) => {
    const g = golden(arch);
    const dir = join(FIXTURES, arch);
    const V = 320;
    const tuned = await loadModel(dir, backends[bname], { adapter: join(dir, 'lora') });
    const got = loss(await tuned.forward(g.inputs), g.lora.labels, V);
    tuned.dispose();
    const bound = 2 * ULPS[bname] * 2 ** -24 * got.maxLogit;
    expect(Math.abs(got.loss - g.lora.loss)).toBeLessThanOrEqual(bound);
    const base = await loadModel(dir, backends[bname]);
    const plain = loss(await base.forward(g.inputs), g.lora.labels, V);
    base.dispose();
    expect(Math.abs(plain.loss - g.lora.loss)).toBeGreaterThan(bound);
  });
});

describe('adapter errors are typed and name the file', () => {
  const copy = (name: string) => {
    const d = join(tmp, name);
    cpSync(join(FIXTURES, 'llama', 'lora'), d, { recursive: true });
    return d;
  };
  const base = join(FIXTURES, 'llama');
  const fails = async (adapter: string) => (await loadModel(base, backends.cpu, { adapter }).catch((e: unknown) => e)) as ModelLoadError;

  it('configs this merge cannot reproduce', async () => {
    for (const [k, v] of [['use_dora', true], ['fan_in_fan_out', true], ['bias', 'all'], ['peft_type', 'IA3'], ['rank_pattern', { q_proj: 8 }]] as const) {
      const d = copy(`cfg-${k}`);
      const cfg = JSON.parse(readFileSync(join(d, 'adapter_config.json'), 'utf8'));
      writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, [k]: v }));
      const e = await fails(d);
      expect(e).toBeInstanceOf(ModelLoadError);
      expect(e.file).toBe(join(d, 'adapter_config.json'));
    }
  });

  it('tensors: an unknown module, a missing half, a rank contradicting r, another model’s layer', async () => {
    const write = (name: string, t: Record<string, { shape: number[] }>) => {
      const d = copy(name);
      writeFileSync(join(d, 'adapter_model.safetensors'), encodeSafetensors(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { dtype: 'f32' as const, shape: v.shape, data: new Float32Array(v.shape[0] * v.shape[1]) }]))));
      return d;
    };
    const p = 'base_model.model.model.layers';
    expect((await fails(write('embed', { 'base_model.model.model.embed_tokens.lora_A.weight': { shape: [4, 64] } }))).tensor).toBe('base_model.model.model.embed_tokens.lora_A.weight');
    expect((await fails(write('half', { [`${p}.0.self_attn.q_proj.lora_A.weight`]: { shape: [4, 64] } }))).message).toMatch(/lora_B is missing/);
    expect((await fails(write('rank', { [`${p}.0.self_attn.q_proj.lora_A.weight`]: { shape: [8, 64] }, [`${p}.0.self_attn.q_proj.lora_B.weight`]: { shape: [64, 8] } }))).message).toMatch(/contradict r = 4/);
    expect((await fails(write('fit', { [`${p}.0.self_attn.k_proj.lora_A.weight`]: { shape: [4, 64] }, [`${p}.0.self_attn.k_proj.lora_B.weight`]: { shape: [64, 4] } }))).message).toMatch(/do not fit the base weight \[32, 64\]/);
    expect((await fails(write('layer', { [`${p}.7.mlp.up_proj.lora_A.weight`]: { shape: [4, 64] }, [`${p}.7.mlp.up_proj.lora_B.weight`]: { shape: [128, 4] } }))).message).toMatch(/does not have/);
  });
});
