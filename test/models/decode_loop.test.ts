import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { BackendMismatchError, DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { decodeLoopVariant, type DecodeLoopStats } from '../../src/models/decode_loop.js';
import { generateBatch } from '../../src/models/generate.js';
import { loadModel } from '../../src/models/load.js';
import type { LlamaModel } from '../../src/models/llama.js';
import { randomInts } from '../../src/ops/random.js';
import { writeTinyCheckpoint } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-decode-loop-'));
const backends: Record<string, KernelBackend> = {};
const models: Record<string, LlamaModel> = {};
const NAMES = ['cpu', 'webgpu', 'metal'];
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
  backends.metal = await createBackend('metal', { metal: { chip: 'M5' } });
  const dir = join(root, 'qwen3');
  writeTinyCheckpoint(dir, { model_type: 'qwen3' });
  for (const n of NAMES) models[n] = await loadModel(dir, backends[n]);
});
afterAll(() => {
  Object.values(models).forEach((m) => m.dispose());
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

const V = 40;
const ints = (n: number, seed: number) => Array.from(randomInts('i32', [n], seed, 0, V).data);
const PROMPTS = [ints(7, 1), ints(3, 2), ints(5, 3)];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * The loop before pipelining, step by step: sample, read the ids, mask the stopped
 * sequences, feed the host ids back through stepLogits (a stopped sequence gets id 0).
 */
async function stepByStep(model: LlamaModel, prompts: number[][], o: { seed: number; maxNewTokens: number; eos: number[]; temperature?: number }): Promise<number[][]> {
  const b = model.backend;
  const B = prompts.length;
  const cache = model.createCache(B, Math.max(...prompts.map((p) => p.length)) + o.maxNewTokens);
  const seeds = b.tensor(new Uint32Array(Array.from({ length: B }, (_, i) => [o.seed, i]).flat()), [B, 2], 'u32');
  const params = {
    temperature: b.tensor(new Float32Array(B).fill(o.temperature ?? 1), [B], 'f32'),
    topK: b.tensor(new Int32Array(B), [B], 'i32'),
    topP: b.tensor(new Float32Array(B).fill(1), [B], 'f32'),
    minP: b.tensor(new Float32Array(B), [B], 'f32'),
  };
  const steps: number[][] = [];
  const done = new Array<boolean>(B).fill(false);
  let logits = model.prefillLogits(prompts, cache);
  for (let step = 0; ; step++) {
    const offsets = b.tensor(new Uint32Array(B).fill(step), [B], 'u32');
    const s = b.sample({ logits, seeds, offsets, ...params });
    [offsets, logits, s.logprobs].forEach((t) => t.dispose());
    const drawn = Array.from((await b.read(s.tokens)) as Int32Array);
    s.tokens.dispose();
    const out = drawn.map((t, i) => (done[i] ? -1 : t));
    out.forEach((t, i) => (done[i] ||= t < 0 || o.eos.includes(t)));
    steps.push(out);
    if (step + 1 >= o.maxNewTokens || done.every(Boolean)) break;
    logits = model.stepLogits(out.map((t) => [t < 0 ? 0 : t]), cache);
  }
  [cache, seeds, ...Object.values(params)].forEach((t) => t.dispose());
  return steps;
}

describe('pipelined decode loop (generateBatch) ≡ step-by-step stepLogits + sample', () => {
  it.each(NAMES)('%s: three seeds, a ragged batch, EOS stopping one sequence mid-batch and then all of them', async (name) => {
    const model = models[name];
    for (const seed of [0, 5, 1234]) {
      const free = await stepByStep(model, PROMPTS, { seed, maxNewTokens: 10, eos: [] });
      const gotFree = await collect(generateBatch(model, PROMPTS, { seed, maxNewTokens: 10, eosTokenIds: [] }));
      expect(gotFree).toEqual(free);
      // EOS: the id sequence 1 draws at step 3; it stops there (or where it drew it first),
      // others go on unless they draw it too — some step must hold a stopped and a live one.
      const eos = [free[3][1]];
      const want = await stepByStep(model, PROMPTS, { seed, maxNewTokens: 10, eos });
      expect(want.some((s) => s.includes(-1) && s.some((t) => t >= 0))).toBe(true);
      expect(await collect(generateBatch(model, PROMPTS, { seed, maxNewTokens: 10, eosTokenIds: eos }))).toEqual(want);
      // Every sequence stops by step 2 (each one's step-2 id is an EOS): the stream ends
      // there, the step recorded after it is discarded.
      const all = free[2].slice();
      const wantAll = await stepByStep(model, PROMPTS, { seed, maxNewTokens: 10, eos: all });
      expect(wantAll.length).toBeLessThanOrEqual(3);
      expect(await collect(generateBatch(model, PROMPTS, { seed, maxNewTokens: 10, eosTokenIds: all }))).toEqual(wantAll);
    }
  });

  it.each([
    ['cpu', 'serial'],
    ['webgpu', 'serial'],
    ['cpu', 'pipelined'],
    ['webgpu', 'pipelined'],
  ])('%s: PMETAL_DECODE_LOOP_VARIANT=%s yields the same tokens, records no step past maxNewTokens, and an early return leaks nothing', async (name, variant) => {
    const model = models[name];
    const b = backends[name];
    const free = await stepByStep(model, PROMPTS, { seed: 5, maxNewTokens: 8, eos: [] });
    const eos = [free[3][1]];
    const want = await stepByStep(model, PROMPTS, { seed: 5, maxNewTokens: 8, eos });
    const live = () => (name === 'webgpu' ? (b as WebGpuBackend).rt.memory.liveBytes : 0);
    vi.stubEnv('PMETAL_DECODE_LOOP_VARIANT', variant);
    try {
      expect(decodeLoopVariant()).toBe(variant);
      expect(await collect(generateBatch(model, PROMPTS, { seed: 5, maxNewTokens: 8, eosTokenIds: eos }))).toEqual(want);
      const all = await stepByStep(model, PROMPTS, { seed: 5, maxNewTokens: 8, eos: free[1] });
      expect(await collect(generateBatch(model, PROMPTS, { seed: 5, maxNewTokens: 8, eosTokenIds: free[1] }))).toEqual(all);
      const stats: DecodeLoopStats = { recordMs: [] };
      expect(await collect(generateBatch(model, PROMPTS, { seed: 5, maxNewTokens: 8, eosTokenIds: [] }, stats))).toEqual(free);
      expect(stats.recordMs.length).toBe(7);
      const before = live();
      const gen = generateBatch(model, PROMPTS, { maxNewTokens: 20, temperature: 0, eosTokenIds: [] });
      await gen.next();
      await gen.return(undefined);
      expect(live()).toBe(before);
      vi.stubEnv('PMETAL_DECODE_LOOP_VARIANT', 'overlapped');
      await expect(collect(generateBatch(model, PROMPTS, { seed: 5, maxNewTokens: 8 }))).rejects.toThrow(/\[generate\] PMETAL_DECODE_LOOP_VARIANT: expected one of pipelined2, pipelined, serial, got 'overlapped'/);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(decodeLoopVariant()).toBe('pipelined2');
  });

  it('webgpu: the decode step as a graph (PMETAL_DECODE_GRAPH=1, the default) yields the tokens of the op-by-op loop, launching no op after the capture', async () => {
    const model = models.webgpu;
    const b = backends.webgpu as WebGpuBackend;
    const o = { seed: 9, maxNewTokens: 9, temperature: 0.9, eosTokenIds: [] };
    const want = await stepByStep(model, PROMPTS, { seed: 9, maxNewTokens: 9, eos: [], temperature: 0.9 });
    vi.stubEnv('PMETAL_DECODE_GRAPH', '0');
    try {
      const opByOp = await collect(generateBatch(model, PROMPTS, o));
      expect(opByOp).toEqual(want);
      vi.stubEnv('PMETAL_DECODE_GRAPH', '1');
      const launches: number[] = [];
      const graphed: number[][] = [];
      for await (const t of generateBatch(model, PROMPTS, o)) {
        graphed.push(t);
        launches.push(b.tapeStats.recorded + b.tapeStats.replayed);
      }
      expect(graphed).toEqual(opByOp);
      // Step n's yield comes after step n+1 is recorded: from the third yield on, only replays.
      expect(new Set(launches.slice(2)).size).toBe(1);
      vi.stubEnv('PMETAL_DECODE_GRAPH', 'yes');
      await expect(collect(generateBatch(model, PROMPTS, o))).rejects.toThrow(/\[generate\] PMETAL_DECODE_GRAPH: expected 0 or 1, got 'yes'/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each(NAMES.flatMap((n) => [[n, 'pipelined2', 2], [n, 'pipelined', 1]] as const))('%s, %s: %i steps past n are recorded before step n is yielded; none past maxNewTokens', async (name, variant, ahead) => {
    const model = models[name];
    const stats: DecodeLoopStats = { recordMs: [] };
    let steps = 0;
    vi.stubEnv('PMETAL_DECODE_LOOP_VARIANT', variant === 'pipelined2' ? '' : variant);
    try {
      for await (const _ of generateBatch(model, PROMPTS, { maxNewTokens: 6, temperature: 0, eosTokenIds: [] }, stats)) {
        // At step n's yield, steps 1…n+ahead (all but the prefill's) were recorded — none past the 6th token.
        expect(stats.recordMs.length).toBe(Math.min(steps + ahead, 5));
        steps++;
      }
    } finally {
      vi.unstubAllEnvs();
    }
    expect(steps).toBe(6);
    expect(stats.recordMs.every((ms) => ms >= 0 && Number.isFinite(ms))).toBe(true);
  });

  it.each(NAMES)('%s: a consumer that stops early (a step in flight) leaves no tensor behind (webgpu: live bytes) and the backend usable', async (name) => {
    const model = models[name];
    const b = backends[name];
    const live = () => (name === 'webgpu' ? (b as WebGpuBackend).rt.memory.liveBytes : 0);
    // A whole loop first: what the first calls cache for good (rope's tables) is live before.
    const want = await stepByStep(model, PROMPTS, { seed: 0, maxNewTokens: 4, eos: [], temperature: 0 });
    expect(await collect(generateBatch(model, PROMPTS, { maxNewTokens: 4, temperature: 0, eosTokenIds: [] }))).toEqual(want);
    const before = live();
    const gen = generateBatch(model, PROMPTS, { maxNewTokens: 20, temperature: 0, eosTokenIds: [] });
    await gen.next();
    // Mid-loop the cache and the step in flight are live (the check below can fail).
    if (name === 'webgpu') expect(live()).toBeGreaterThan(before);
    await gen.return(undefined);
    expect(live()).toBe(before);
    // The backend goes on: the same loop gives the same tokens.
    expect(await collect(generateBatch(model, PROMPTS, { maxNewTokens: 4, temperature: 0, eosTokenIds: [] }))).toEqual(want);
    await b.sync();
  });
});

describe('LlamaModel.decodeLogits: a decode step on device ids', () => {
  it.each(NAMES)('%s: the logits and cache lengths of stepLogits on the same ids (contiguous and paged caches)', async (name) => {
    const model = models[name];
    const b = backends[name];
    const ids = [3, 17, 39];
    for (const paged of [false, true]) {
      const make = () => (paged ? model.createPagedCache(3, { numBlocks: 12, blockSize: 4, maxBlocks: 4 }) : model.createCache(3, 16));
      const [c1, c2] = [make(), make()];
      model.prefillLogits(PROMPTS, c1).dispose();
      model.prefillLogits(PROMPTS, c2).dispose();
      const want = await b.read(model.stepLogits(ids.map((t) => [t]), c1));
      const idT = b.tensor(new Int32Array(ids), [3], 'i32');
      const logits = model.decodeLogits(idT, c2);
      expect(idT.disposed).toBe(false);
      const got = await b.read(logits);
      idT.dispose();
      logits.dispose();
      // The same kernels on the same inputs: the same bits.
      expect(got).toEqual(want);
      expect(c2.lengths).toEqual(c1.lengths);
      if (paged && 'blocks' in c1 && 'blocks' in c2) {
        expect(c2.blocks).toEqual(c1.blocks);
        expect(c2.freeBlocks).toBe(c1.freeBlocks);
      }
      c1.dispose();
      c2.dispose();
    }
  });

  it('bad ids are typed errors naming the argument, before the cache changes', () => {
    const model = models.cpu;
    const b = backends.cpu;
    const cache = model.createCache(3, 16);
    const bad: [unknown, new (...a: never[]) => Error, RegExp][] = [
      [[1, 2, 3], OptionsError, /\[model\] decode ids: expected a live i32\[3\] Tensor/],
      [b.tensor(new Float32Array(3), [3], 'f32'), DTypeError, /\[model\] decode ids: expected i32\[3\], got f32\[3\]/],
      [b.tensor(new Int32Array(2), [2], 'i32'), ShapeError, /\[model\] decode ids: expected i32\[3\] \(one per sequence of the cache\), got i32\[2\]/],
      [b.tensor(new Int32Array(3), [3, 1], 'i32'), ShapeError, /got i32\[3,1\]/],
      [backends.webgpu.tensor(new Int32Array(3), [3], 'i32'), BackendMismatchError, /\[model\] decode ids: tensor belongs to backend webgpu/],
    ];
    const gone = b.tensor(new Int32Array(3), [3], 'i32');
    gone.dispose();
    bad.push([gone, OptionsError, /expected a live i32\[3\] Tensor, got Tensor\(i32\[3\] on cpu, disposed\)/]);
    for (const [ids, type, msg] of bad) {
      expect(() => model.decodeLogits(ids as never, cache)).toThrow(type);
      expect(() => model.decodeLogits(ids as never, cache)).toThrow(msg);
    }
    expect(cache.lengths).toEqual([0, 0, 0]);
    cache.dispose();
  });
});
