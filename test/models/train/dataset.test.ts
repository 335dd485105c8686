import { describe, expect, it } from 'vitest';
import { DataError, OptionsError } from '../../../src/errors.js';
import { loadDataset } from '../../../src/models/train/data/dataset.js';
import { fixtureTokenizer } from './files.js';
import { jsonlFile } from './files.js';

const chat = (q: string, a: string) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

describe('loadDataset', () => {
  it('tokenizes text and chat records in file order, with stats', async () => {
    const tok = await fixtureTokenizer();
    const file = jsonlFile([{ text: 'one doc' }, '', chat('q', 'answer'), { text: 'two' }]);
    const d = await loadDataset(file, tok, { maxSeqLen: 64 });
    expect(d.sequences.map((s) => s.line)).toEqual([1, 3, 4]);
    expect(d.stats).toMatchObject({ records: 3, skipped: 0, truncated: 0, untrained: 0 });
    expect(d.stats.tokens).toBe(d.sequences.reduce((a, s) => a + s.ids.length, 0));
    expect(d.stats.trainedTokens).toBe(d.sequences.reduce((a, s) => a + [...s.labels].filter((l) => l !== -100).length, 0));
    expect(d.maxSeqLen).toBe(64);
  });

  it('stops at the first malformed line by default, naming file:line', async () => {
    const tok = await fixtureTokenizer();
    const file = jsonlFile([{ text: 'ok' }, '{"text": ', { messages: [] }]);
    const e = await loadDataset(file, tok, { maxSeqLen: 64 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).line).toBe(2);
    expect((e as DataError).message).toContain(`${file}:2: expected one JSON value per line`);
  });

  it("with onInvalid 'skip' leaves malformed lines out and counts them", async () => {
    const tok = await fixtureTokenizer();
    const file = jsonlFile([{ text: 'ok' }, '{"text": ', { messages: [] }, { text: 7 }, chat('a', 'b')]);
    const d = await loadDataset(file, tok, { maxSeqLen: 64, onInvalid: 'skip' });
    expect(d.sequences.map((s) => s.line)).toEqual([1, 5]);
    expect(d.stats.skipped).toBe(3);
    expect(d.stats.skippedLines.map((s) => s.line)).toEqual([2, 3, 4]);
    expect(d.stats.skippedLines[2].message).toMatch(/:4: 'text'/);
  });

  it('drops a chat whose replies all lie past maxSeqLen, and refuses a file with nothing to train', async () => {
    const tok = await fixtureTokenizer();
    const longPrompt = chat('x'.repeat(40), 'y');
    const file = jsonlFile([longPrompt, { text: 'abc' }]);
    const d = await loadDataset(file, tok, { maxSeqLen: 16 });
    expect(d.sequences.map((s) => s.line)).toEqual([2]);
    expect(d.stats).toMatchObject({ untrained: 1, truncated: 1 });
    await expect(loadDataset(jsonlFile([longPrompt]), tok, { maxSeqLen: 16 })).rejects.toThrow(/no record with a trained token .*1 record\(s\) whose trained tokens lie past maxSeqLen 16/);
    await expect(loadDataset(jsonlFile(['nope']), tok, { maxSeqLen: 16, onInvalid: 'skip' })).rejects.toThrow(/1 malformed line\(s\) skipped/);
    await expect(loadDataset(jsonlFile(['']), tok, { maxSeqLen: 16 })).rejects.toThrow(DataError);
  });

  it('validates its options', async () => {
    const tok = await fixtureTokenizer();
    const file = jsonlFile([{ text: 'a' }]);
    await expect(loadDataset(file, tok, { maxSeqLen: 1 })).rejects.toThrow(OptionsError);
    await expect(loadDataset(file, tok, { maxSeqLen: 8.5 })).rejects.toThrow(/'maxSeqLen'/);
    await expect(loadDataset(file, tok, { maxSeqLen: 8, onInvalid: 'ignore' as 'skip' })).rejects.toThrow(/'onInvalid'/);
  });

  it('fingerprints tokens, labels and maxSeqLen', async () => {
    const tok = await fixtureTokenizer();
    const lines = [{ text: 'abc' }, chat('q', 'a')];
    const a = await loadDataset(jsonlFile(lines), tok, { maxSeqLen: 64 });
    const b = await loadDataset(jsonlFile(lines), tok, { maxSeqLen: 64 });
    const c = await loadDataset(jsonlFile(lines), tok, { maxSeqLen: 63 });
    const d = await loadDataset(jsonlFile([{ text: 'abd' }, chat('q', 'a')]), tok, { maxSeqLen: 64 });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(new Set([a.fingerprint, c.fingerprint, d.fingerprint]).size).toBe(3);
  });
});
