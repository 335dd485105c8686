import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { OptionsError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { randomInts } from '../../src/ops/random.js';
import { writeTinyCheckpoint } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-decode-'));
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
  backends.metal = await createBackend('metal', { metal: { chip: 'M5' } });
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

const V = 40;
const ints = (n: number, seed: number) => Array.from(randomInts('i32', [n], seed, 0, V).data);
const lastRow = (l: Float32Array) => l.subarray(l.length - V);

/**
 * The cached path must give the logits the packed forward gives for the whole sequence so far.
 * cpu: both paths sum in float64 and round each op output to f32 the same way, so only a
 * rounding tipped by summation order differs (16 ulps of the largest logit, as llama.test.ts).
 * GPU: two different f32 attention kernels, ~30 ops of ≤ 64-term f32 sums (llama-backends).
 */
const ULPS: Record<string, number> = { cpu: 16, webgpu: 30 * 64, metal: 30 * 64 };
function expectClose(got: Float32Array, want: Float32Array, backend: string): void {
  const m = want.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  let worst = 0;
  want.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i] - x))));
  expect(worst).toBeLessThanOrEqual(ULPS[backend] * 2 ** -24 * m);
  expect(m).toBeGreaterThan(0.5);
}

describe('KV-cache generation path: prefill + steps ≡ the full forward', () => {
  it.each(['cpu', 'webgpu', 'metal'])('%s: ragged prompts, 20 decode steps, a 3-token step, a 20-token chunked step, window 4', async (name) => {
    const b = backends[name];
    const dir = join(root, name);
    writeTinyCheckpoint(dir, { model_type: 'mistral', slidingWindow: 4 });
    const model = await loadModel(dir, b);
    const seqs = [ints(9, 1), ints(5, 2)];
    const cache = model.createCache(2, 64);
    let logits = await model.prefill(seqs, cache);
    expect(cache.lengths).toEqual([9, 5]);
    const full0 = await model.forward(seqs);
    seqs.forEach((s, i) => expectClose(logits[i], lastRow(full0[i]), name));
    // Decode steps feeding each sequence its own greedy token.
    for (let t = 0; t < 20; t++) {
      const next = logits.map((l) => l.indexOf(Math.max(...l)));
      next.forEach((id, i) => seqs[i].push(id));
      logits = await model.step(next.map((id) => [id]), cache);
    }
    // Several tokens per step, then more than decode_attention takes at once (chunks of 16).
    for (const n of [3, 20]) {
      const extra = [ints(n, 10 + n), ints(n, 20 + n)];
      extra.forEach((e, i) => seqs[i].push(...e));
      logits = await model.step(extra, cache);
    }
    expect(cache.lengths).toEqual([9 + 43, 5 + 43]);
    const full = await model.forward(seqs);
    seqs.forEach((s, i) => expectClose(logits[i], lastRow(full[i]), name));
    cache.dispose();
    model.dispose();
  });

  it.each(['cpu', 'webgpu', 'metal'])('%s: a paged cache (blocks of 4 from a shared pool) gives the contiguous cache’s logits', async (name) => {
    const b = backends[name];
    const dir = join(root, `paged-${name}`);
    writeTinyCheckpoint(dir, { model_type: 'qwen3', slidingWindow: null });
    const model = await loadModel(dir, b);
    const prompts = [ints(9, 3), ints(5, 4)];
    const flat = model.createCache(2, 40);
    const paged = model.createPagedCache(2, { numBlocks: 24, blockSize: 4, maxBlocks: 10 });
    let a = await model.prefill(prompts, flat);
    let p = await model.prefill(prompts, paged);
    const run = [a, p];
    for (let t = 0; t < 12; t++) {
      const next = a.map((l) => [l.indexOf(Math.max(...l))]);
      [a, p] = [await model.step(next, flat), await model.step(next, paged)];
      run.push(a, p);
    }
    for (let i = 0; i < run.length; i += 2) run[i].forEach((l, s) => expectClose(run[i + 1][s], l, name));
    // Slot 0 holds 9 + 12 = 21 tokens (6 blocks), slot 1 holds 17 (5 blocks; its 9-token padded prompt took 3).
    expect(paged.blocks.map((x) => x.length)).toEqual([6, 5]);
    expect(paged.freeBlocks).toBe(24 - 11);
    paged.release(1);
    expect(paged.freeBlocks).toBe(24 - 6);
    flat.dispose();
    paged.dispose();
    model.dispose();
  });

  it('a paged pool that runs out is a typed error before any work, leaving the cache as it was', async () => {
    const dir = join(root, 'pool');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: 1 });
    const model = await loadModel(dir, backends.cpu);
    const paged = model.createPagedCache(2, { numBlocks: 3, blockSize: 4, maxBlocks: 8 });
    await model.prefill([ints(4, 1), ints(4, 2)], paged);
    await expect(model.step([ints(5, 3), ints(5, 4)], paged)).rejects.toThrow(/more blocks needed, 1 free of 3/);
    expect(paged.lengths).toEqual([4, 4]);
    await expect(model.step([ints(30, 3), ints(1, 4)], paged)).rejects.toThrow(OptionsError);
    expect(() => paged.release(2)).toThrow(OptionsError);
    expect(() => model.createPagedCache(1, { numBlocks: 0, blockSize: 4, maxBlocks: 1 })).toThrow(OptionsError);
    paged.dispose();
    model.dispose();
  });

  it('typed errors: capacity, batch, a used cache for prefill, unequal steps, a disposed cache', async () => {
    const dir = join(root, 'errors');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers: 1 });
    const model = await loadModel(dir, backends.cpu);
    const cache = model.createCache(2, 8);
    await expect(model.prefill([ints(9, 1), ints(2, 2)], cache)).rejects.toThrow(/sequence 0 would hold 9 tokens, over the capacity 8/);
    await expect(model.prefill([ints(3, 1)], cache)).rejects.toThrow(/expected 2 sequences/);
    await model.prefill([ints(3, 1), ints(2, 2)], cache);
    await expect(model.prefill([ints(3, 1), ints(2, 2)], cache)).rejects.toThrow(/fresh cache/);
    await expect(model.step([[1], [1, 2]], cache)).rejects.toThrow(/same number of new tokens/);
    await expect(model.step([[1], [V]], cache)).rejects.toThrow(OptionsError);
    expect(cache.lengths).toEqual([3, 2]);
    cache.dispose();
    await expect(model.step([[1], [1]], cache)).rejects.toThrow(/live KvCache/);
    expect(() => model.createCache(0, 8)).toThrow(OptionsError);
    model.dispose();
  });
});
