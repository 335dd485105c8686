import { describe, expect, it } from 'vitest';
import { DataError, OptionsError } from '../../../src/errors.js';
import { loadDataset, type Dataset } from '../../../src/models/train/data/dataset.js';
import { firstFitDecreasing } from '../../../src/models/train/data/ffd.js';
import { PackedLoader, type TrainBatch } from '../../../src/models/train/data/loader.js';
import { Prng } from '../../../src/models/train/data/prng.js';
import { IGNORE_INDEX, type TokenizedSequence } from '../../../src/models/train/data/tokenize.js';
import { fixtureTokenizer, jsonlFile } from './files.js';

/** A test-local LCG (not the library's PRNG) for synthetic data. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** n sequences of random lengths in [1, maxSeqLen]; sequence i is on line i + 1, its ids start with i (to identify it). */
function synthetic(n: number, maxSeqLen: number, seed = 1): Dataset {
  const r = lcg(seed);
  const sequences: TokenizedSequence[] = Array.from({ length: n }, (_, i) => {
    const len = 1 + r(maxSeqLen);
    const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? i : r(1000)));
    const labels = Int32Array.from({ length: len }, (_, t) => (t + 1 < len && r(3) > 0 ? ids[t + 1] : IGNORE_INDEX));
    return { ids, labels, trainedTokens: labels.filter((l) => l !== IGNORE_INDEX).length, line: i + 1, truncated: false };
  });
  return { file: 'synthetic.jsonl', maxSeqLen, sequences, stats: {} as Dataset['stats'], fingerprint: `synthetic-${n}-${maxSeqLen}-${seed}` };
}

/** First-fit decreasing the slow, obvious way: scan every open bin. */
function naiveFfd(lengths: number[], order: number[], capacity: number): number[][] {
  const sorted = [...order].sort((a, b) => lengths[b] - lengths[a]);
  const bins: { free: number; items: number[] }[] = [];
  for (const i of sorted) {
    let bin = bins.find((b) => b.free >= lengths[i]);
    if (!bin) bins.push((bin = { free: capacity, items: [] }));
    bin.items.push(i);
    bin.free -= lengths[i];
  }
  return bins.map((b) => b.items);
}

const key = (b: TrainBatch) => JSON.stringify([b.cursor, [...b.ids], [...b.labels], [...b.cuSeqlens], b.lines]);

describe('firstFitDecreasing', () => {
  it('matches the obvious O(n·bins) first-fit decreasing, every item once, no bin over capacity', () => {
    for (const [n, cap, seed] of [
      [1, 8, 1],
      [7, 8, 2],
      [300, 64, 3],
      [1000, 512, 4],
      [33, 5, 5],
    ]) {
      const r = lcg(seed);
      const lengths = Array.from({ length: n }, () => 1 + r(cap));
      const order = new Prng(seed).shuffle(lengths.map((_, i) => i));
      const bins = firstFitDecreasing(lengths, order, cap);
      expect(bins).toEqual(naiveFfd(lengths, order, cap));
      expect(bins.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      for (const b of bins) expect(b.reduce((a, i) => a + lengths[i], 0)).toBeLessThanOrEqual(cap);
    }
  });
});

describe('PackedLoader', () => {
  it('packs every sequence once an epoch into varlen batches: ids, shifted labels, positions, cuSeqlens', () => {
    const d = synthetic(257, 48);
    const loader = new PackedLoader(d, { batchSize: 3, seed: 11 });
    const rows = naiveFfd(
      d.sequences.map((s) => s.ids.length),
      d.sequences.map((_, i) => i),
      48,
    ).length;
    expect(loader.batchesPerEpoch).toBe(Math.ceil(rows / 3));
    for (const epoch of [0, 1]) {
      const seen: number[] = [];
      for (let b = 0; b < loader.batchesPerEpoch; b++) {
        const batch = loader.batch({ epoch, batch: b });
        const T = batch.ids.length;
        expect(T).toBeLessThanOrEqual(3 * 48);
        expect([batch.labels.length, batch.positions.length]).toEqual([T, T]);
        expect(batch.cuSeqlens[0]).toBe(0);
        expect(batch.cuSeqlens[batch.cuSeqlens.length - 1]).toBe(T);
        expect(batch.cuSeqlens.length).toBe(batch.lines.length + 1);
        let trained = 0;
        batch.lines.forEach((line, k) => {
          const s = d.sequences[line - 1];
          const [a, e] = [batch.cuSeqlens[k], batch.cuSeqlens[k + 1]];
          expect([...batch.ids.subarray(a, e)]).toEqual([...s.ids]);
          expect([...batch.labels.subarray(a, e)]).toEqual([...s.labels]);
          expect([...batch.positions.subarray(a, e)]).toEqual(Array.from({ length: e - a }, (_, p) => p));
          // No row predicts across a boundary: the last row of every sequence is ignored.
          expect(batch.labels[e - 1]).toBe(IGNORE_INDEX);
          // Every label is the next token of its own sequence.
          for (let t = a; t < e - 1; t++) if (batch.labels[t] !== IGNORE_INDEX) expect(batch.labels[t]).toBe(batch.ids[t + 1]);
          seen.push(line - 1);
          trained += s.trainedTokens;
        });
        expect(batch.trainedTokens).toBe(trained);
        expect(batch.trainedTokens).toBe([...batch.labels].filter((l) => l !== IGNORE_INDEX).length);
        expect(loader.trainedTokens(epoch, b)).toBe(trained);
      }
      expect(seen.sort((a, b) => a - b)).toEqual(d.sequences.map((_, i) => i));
    }
  });

  it('is deterministic given the seed; seeds and epochs reorder; every epoch has as many batches', () => {
    const d = synthetic(120, 32, 7);
    const run = (seed: number, epoch: number) => Array.from({ length: new PackedLoader(d, { batchSize: 2, seed }).batchesPerEpoch }, (_, b) => key(new PackedLoader(d, { batchSize: 2, seed }).batch({ epoch, batch: b })));
    const a0 = run(5, 0);
    expect(run(5, 0)).toEqual(a0);
    expect(run(6, 0)).not.toEqual(a0);
    const lines = (e: number) => [...new PackedLoader(d, { batchSize: 2, seed: 5 }).batches(e + 1, { epoch: e, batch: 0 })].map((b) => b.lines.join());
    expect(lines(1)).not.toEqual(lines(0));
    expect(lines(1).length).toBe(lines(0).length);
    expect(lines(7).length).toBe(lines(0).length);
  });

  it('resumes exactly: a stored cursor, through JSON and a freshly loaded dataset, yields the same batches', async () => {
    const tok = await fixtureTokenizer();
    const records = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? { text: `doc ${i} ${'ab'.repeat(i % 7)}` } : { messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `reply ${'z'.repeat(i % 5)}` }] },
    );
    const file = jsonlFile(records);
    const first = new PackedLoader(await loadDataset(file, tok, { maxSeqLen: 40 }), { batchSize: 2, seed: 3 });
    const epochs = 3;
    const whole = [...first.batches(epochs)].map(key);
    expect(whole.length).toBe(epochs * first.batchesPerEpoch);
    // Stop mid-epoch 1, store, resume from a new loader over a new load of the file.
    const stopAt = first.batchesPerEpoch + 2;
    let c = { epoch: 0, batch: 0 };
    for (let i = 0; i < stopAt; i++) c = first.next(c);
    const stored = JSON.parse(JSON.stringify(first.state(c)));
    const again = new PackedLoader(await loadDataset(file, tok, { maxSeqLen: 40 }), { batchSize: 2, seed: 3 });
    const resumed = [...again.batches(epochs, again.resume(stored, 'ckpt/state.json'))].map(key);
    expect(resumed).toEqual(whole.slice(stopAt));
  });

  it('refuses a stored cursor for other data or packing, or a malformed one', async () => {
    const d = synthetic(50, 16);
    const loader = new PackedLoader(d, { batchSize: 2, seed: 1 });
    const state = loader.state({ epoch: 1, batch: 1 });
    expect(loader.resume(state, 's.json')).toEqual({ epoch: 1, batch: 1 });
    expect(() => new PackedLoader(d, { batchSize: 2, seed: 2 }).resume(state, 's.json')).toThrow(/s\.json: the data cursor was stored for other data or packing/);
    expect(() => new PackedLoader(d, { batchSize: 3, seed: 1 }).resume(state, 's.json')).toThrow(DataError);
    expect(() => new PackedLoader(synthetic(51, 16), { batchSize: 2, seed: 1 }).resume(state, 's.json')).toThrow(DataError);
    expect(() => loader.resume({ epoch: -1, batch: 0, fingerprint: loader.fingerprint }, 's.json')).toThrow(/s\.json: the data cursor has 'epoch'/);
    expect(() => loader.resume({ epoch: 0, batch: loader.batchesPerEpoch, fingerprint: loader.fingerprint }, 's.json')).toThrow(/past the/);
    expect(() => loader.resume('x', 's.json')).toThrow(DataError);
    expect(() => loader.batch({ epoch: 0, batch: loader.batchesPerEpoch })).toThrow(OptionsError);
    expect(() => loader.batch({ epoch: 0.5, batch: 0 })).toThrow(OptionsError);
  });

  it('validates its options and the dataset', () => {
    const d = synthetic(5, 8);
    expect(() => new PackedLoader(d, { batchSize: 0, seed: 1 })).toThrow(/'batchSize'/);
    expect(() => new PackedLoader(d, { batchSize: 1, seed: -1 })).toThrow(/'seed'/);
    expect(() => new PackedLoader(d, { batchSize: 1, seed: 2 ** 32 })).toThrow(OptionsError);
    const five: TokenizedSequence = { ids: new Int32Array(5), labels: new Int32Array(5).fill(IGNORE_INDEX), trainedTokens: 0, line: 9, truncated: false };
    expect(() => new PackedLoader({ ...d, maxSeqLen: 5, sequences: [five] }, { batchSize: 1, seed: 1 })).not.toThrow();
    expect(() => new PackedLoader({ ...d, maxSeqLen: 4, sequences: [five] }, { batchSize: 1, seed: 1 })).toThrow(/synthetic\.jsonl:9: a sequence of 5 tokens does not fit a row of maxSeqLen 4/);
    expect(() => new PackedLoader({ ...d, sequences: [] }, { batchSize: 1, seed: 1 })).toThrow(/no sequences/);
  });
});

describe('Prng', () => {
  it('gives the same stream for the same (seed, stream), others for others, and uniform-looking draws', () => {
    const draw = (seed: number, stream: number) => Array.from({ length: 8 }, ((p) => () => p.nextU32())(new Prng(seed, stream)));
    expect(draw(1, 0)).toEqual(draw(1, 0));
    expect(draw(1, 1)).not.toEqual(draw(1, 0));
    expect(draw(2, 0)).not.toEqual(draw(1, 0));
    const p = new Prng(9);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[p.below(10)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    const s = new Prng(4).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...s].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(s).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
