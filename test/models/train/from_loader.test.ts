import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../../src/errors.js';
import { packSequences } from '../../../src/models/batch.js';
import { loadDataset } from '../../../src/models/train/data/dataset.js';
import { PackedLoader } from '../../../src/models/train/data/loader.js';
import { batchExamples } from '../../../src/models/train/from_loader.js';
import { shiftedTargets } from '../../../src/models/train/labels.js';
import { fixtureTokenizer, jsonlFile } from './files.js';

/**
 * The loader gives shifted labels (the target of each row), loraStep takes HF's unshifted
 * ones and shifts them itself: the round trip must give back the loader's targets row for row,
 * or the trainer would learn the wrong token at every position.
 */
describe('batchExamples: a PackedLoader batch as loraStep examples', () => {
  it("loraStep's targets of the examples are the loader's labels, row for row, over every batch of two epochs", async () => {
    const file = jsonlFile([
      { text: 'The quick brown fox jumps over the lazy dog.' },
      { messages: [{ role: 'user', content: 'Hello world!' }, { role: 'assistant', content: 'Hello again, world.' }] },
      { text: 'How are you today?' },
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hi.' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Bye!' }] },
    ]);
    const tok = await fixtureTokenizer();
    const loader = new PackedLoader(await loadDataset(file, tok, { maxSeqLen: 40 }), { batchSize: 2, seed: 1 });
    let batches = 0;
    for (const batch of loader.batches(2)) {
      const ex = batchExamples(batch);
      expect(ex.map((e) => e.ids.length)).toEqual(Array.from({ length: batch.cuSeqlens.length - 1 }, (_, s) => batch.cuSeqlens[s + 1] - batch.cuSeqlens[s]));
      const packed = packSequences(ex.map((e) => e.ids), 1 << 20);
      expect(Array.from(packed.ids)).toEqual(Array.from(batch.ids));
      const { targets, counted } = shiftedTargets(packed, ex.map((e) => e.labels), 1 << 20);
      expect(Array.from(targets)).toEqual(Array.from(batch.labels));
      expect(counted).toBe(batch.trainedTokens);
      batches++;
    }
    expect(batches).toBe(2 * loader.batchesPerEpoch);
  });

  it('refuses a batch whose sequence has a label at its last row (nothing follows it to predict)', () => {
    const ids = new Int32Array([5, 6, 7]);
    const batch = { ids, labels: new Int32Array([6, 7, 8]), positions: new Int32Array([0, 1, 2]), cuSeqlens: new Int32Array([0, 3]), trainedTokens: 3, lines: [1], cursor: { epoch: 0, batch: 4 } };
    expect(() => batchExamples(batch)).toThrow(OptionsError);
    expect(() => batchExamples(batch)).toThrow(/batch \(0, 4\): sequence 0 has a label at its last row/);
  });
});
