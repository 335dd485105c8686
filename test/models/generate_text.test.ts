import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { OptionsError } from '../../src/errors.js';
import { generateText } from '../../src/models/generate_text.js';
import type { LlamaModel } from '../../src/models/llama.js';
import { loadModel } from '../../src/models/load.js';
import { TextTokenizer } from '../../src/models/tokenizer.js';

// The qwen3 fixture: HF's greedy tokens for the prompt "The quick brown fox" (golden.json).
const DIR = join(process.cwd(), 'test', 'fixtures', 'models', 'qwen3');
const g = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8'));
const cpu = new CpuBackend();
let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  model = await loadModel(DIR, cpu);
  tok = await TextTokenizer.load(DIR);
});
afterAll(() => model?.dispose());

const text = async (it: AsyncIterable<string>) => {
  let s = '';
  for await (const d of it) s += d;
  return s;
};

describe('generateText: text in, text deltas out', () => {
  it("the prompt text encodes to the golden prompt ids, and the output is HF's greedy tokens decoded", async () => {
    expect(tok.encode(g.prompt_text)).toEqual(g.generation.prompt_ids);
    const want = tok.decode(g.generation.greedy_f32);
    expect(await text(generateText(model, tok, g.prompt_text, { temperature: 0, maxNewTokens: 20, eosTokenIds: [] }))).toBe(want);
  });

  it('ends before a stop string, also one that arrives across token boundaries', async () => {
    const full = tok.decode(g.generation.greedy_f32);
    const stop = full.slice(7, 12);
    const at = full.indexOf(stop);
    expect(await text(generateText(model, tok, g.prompt_text, { temperature: 0, maxNewTokens: 20, eosTokenIds: [], stop: [stop, 'never appears'] }))).toBe(full.slice(0, at));
  });

  it('stops at an EOS id without emitting it; a conversation goes through the chat template', async () => {
    const third = g.generation.greedy_f32[2];
    const k = g.generation.greedy_f32.indexOf(third);
    expect(await text(generateText(model, tok, g.prompt_text, { temperature: 0, maxNewTokens: 20, eosTokenIds: [third] }))).toBe(tok.decode(g.generation.greedy_f32.slice(0, k)));
    const msgs = [{ role: 'user' as const, content: 'Hello world!' }];
    const ids: number[] = [];
    for await (const t of model.generate(tok.encode(tok.applyChatTemplate(msgs, true), false), { temperature: 0, maxNewTokens: 6, eosTokenIds: [] })) ids.push(t);
    expect(await text(generateText(model, tok, msgs, { temperature: 0, maxNewTokens: 6, eosTokenIds: [] }))).toBe(tok.decode(ids));
    await expect(text(generateText(model, tok, 'x', { stop: [''] }))).rejects.toThrow(OptionsError);
  });
});
