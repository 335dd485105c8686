import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { OptionsError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import type { LlamaModel } from '../../src/models/llama.js';

// The transformers fixtures: greedy generation is checked against HF's own greedy tokens.
const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'models');
const golden = (arch: string) => JSON.parse(readFileSync(join(FIXTURES, arch, 'golden.json'), 'utf8'));

const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
});
afterAll(() => Object.values(backends).forEach((b) => b.dispose()));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('LlamaModel.generate over the KV cache with the sample op', () => {
  it.each(['cpu', 'webgpu'])('%s: temperature 0 reproduces HF greedy tokens (mistral: the window is crossed)', async (name) => {
    const g = golden('mistral');
    const model = await loadModel(join(FIXTURES, 'mistral'), backends[name]);
    // HF's margins are ≥ 0.02 at every step here while the logits agree to ~1e-5 (golden.test.ts).
    expect(Math.min(...g.generation.top1_minus_top2_f64)).toBeGreaterThan(1e-3);
    const got = await collect(model.generate(g.generation.prompt_ids, { temperature: 0, maxNewTokens: 20, eosTokenIds: [] }));
    model.dispose();
    expect(got).toEqual(g.generation.greedy_f32);
  });

  let model: LlamaModel;
  beforeAll(async () => {
    model = await loadModel(join(FIXTURES, 'qwen3'), backends.cpu);
  });
  afterAll(() => model?.dispose());

  it('stops after an EOS id (yielded), or at maxNewTokens', async () => {
    const g = golden('qwen3');
    const greedy: number[] = g.generation.greedy_f32;
    const k = greedy.findIndex((t, i) => i >= 2 && !greedy.slice(0, i).includes(t));
    const got = await collect(model.generate(g.generation.prompt_ids, { temperature: 0, eosTokenIds: [greedy[k]], maxNewTokens: 20 }));
    expect(got).toEqual(greedy.slice(0, k + 1));
    expect(await collect(model.generate(g.generation.prompt_ids, { temperature: 0, eosTokenIds: [], maxNewTokens: 5 }))).toEqual(greedy.slice(0, 5));
  });

  it('a ragged batch gives each prompt the tokens it gets alone; a stopped sequence yields −1', async () => {
    const g = golden('qwen3');
    const a: number[] = g.generation.prompt_ids;
    const b = g.inputs[1].slice(0, 9);
    const alone = [
      await collect(model.generate(a, { temperature: 0, eosTokenIds: [], maxNewTokens: 8 })),
      await collect(model.generate(b, { temperature: 0, eosTokenIds: [], maxNewTokens: 8 })),
    ];
    const steps = await collect(model.generateBatch([a, b], { temperature: 0, eosTokenIds: [], maxNewTokens: 8 }));
    expect([steps.map((s) => s[0]), steps.map((s) => s[1])]).toEqual(alone);
    // Sequence 1 stops at its 3rd token; sequence 0 goes on.
    const stop = await collect(model.generateBatch([a, b], { temperature: 0, eosTokenIds: [alone[1][2]], maxNewTokens: 8 }));
    const s1 = stop.map((s) => s[1]);
    const first = alone[1].indexOf(alone[1][2]);
    expect(s1.slice(0, first + 1)).toEqual(alone[1].slice(0, first + 1));
    expect(s1.slice(first + 1).every((t) => t === -1)).toBe(true);
  });

  it('sampling: a seed reproduces its tokens, another seed draws others', async () => {
    const p = golden('qwen3').generation.prompt_ids;
    const run = (seed: number) => collect(model.generate(p, { temperature: 1, seed, eosTokenIds: [], maxNewTokens: 16 }));
    const [a, a2, b] = [await run(7), await run(7), await run(8)];
    expect(a2).toEqual(a);
    expect(b).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('bad options are typed errors before any work', async () => {
    const p = [1, 2, 3];
    await expect(collect(model.generate(p, { temperature: -1 }))).rejects.toThrow(OptionsError);
    await expect(collect(model.generate(p, { topP: 0 }))).rejects.toThrow(OptionsError);
    await expect(collect(model.generate(p, { maxNewTokens: 0 }))).rejects.toThrow(OptionsError);
    await expect(collect(model.generateBatch([], {}))).rejects.toThrow(/at least one prompt/);
    await expect(collect(model.generate([100000], {}))).rejects.toThrow(OptionsError);
  });
});
