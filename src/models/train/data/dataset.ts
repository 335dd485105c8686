import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DataError, OptionsError } from '../../../errors.js';
import type { TextTokenizer } from '../../tokenizer.js';
import { readJsonl } from './jsonl.js';
import { parseRecord } from './records.js';
import { tokenizeRecord, type TokenizedSequence } from './tokenize.js';

export const datasetOptionsSchema = z.object({
  /** Longest sequence kept (tokens past it are cut) and the capacity of a packed row. */
  maxSeqLen: z.number().int().min(2),
  /** 'throw': the first malformed line is a DataError; 'skip': it is left out and counted. */
  onInvalid: z.enum(['throw', 'skip']).default('throw'),
  /** Append tokenizer_config's eos_token to `{"text"}` records (default true). */
  addEos: z.boolean().default(true),
});
export type DatasetOptions = z.input<typeof datasetOptionsSchema>;

export interface DatasetStats {
  /** Records kept. */
  readonly records: number;
  /** Malformed lines left out (onInvalid 'skip'); the first 20 are in `skippedLines`. */
  readonly skipped: number;
  readonly skippedLines: readonly { line: number; message: string }[];
  /** Records cut at maxSeqLen. */
  readonly truncated: number;
  /** Records left out because truncation cut every trained token (a chat whose replies lie past maxSeqLen). */
  readonly untrained: number;
  readonly tokens: number;
  readonly trainedTokens: number;
}

/**
 * A tokenized training set held in memory: records are read and tokenized one line at a time,
 * but every epoch is shuffled and packed anew, which needs all of them (4 bytes a token for ids
 * and 4 for labels). `fingerprint` hashes the tokens, labels and maxSeqLen, so a checkpoint can
 * tell whether it resumes on the same data.
 */
export interface Dataset {
  readonly file: string;
  readonly maxSeqLen: number;
  readonly sequences: readonly TokenizedSequence[];
  readonly stats: DatasetStats;
  readonly fingerprint: string;
}

const MAX_SKIPPED_KEPT = 20;

export async function loadDataset(file: string, tokenizer: TextTokenizer, options: DatasetOptions): Promise<Dataset> {
  const parsed = datasetOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new OptionsError(`[data] options: '${i.path.join('.')}' ${i.message}`);
  }
  const o = parsed.data;
  const sequences: TokenizedSequence[] = [];
  const skippedLines: { line: number; message: string }[] = [];
  let skipped = 0;
  let truncated = 0;
  let untrained = 0;
  for await (const l of readJsonl(file)) {
    let seq: TokenizedSequence;
    try {
      if (l.error) throw l.error;
      seq = tokenizeRecord(tokenizer, parseRecord(l.value, file, l.line), o, file, l.line);
    } catch (e) {
      if (!(e instanceof DataError) || o.onInvalid === 'throw') throw e;
      skipped++;
      if (skippedLines.length < MAX_SKIPPED_KEPT) skippedLines.push({ line: l.line, message: e.message });
      continue;
    }
    if (seq.truncated) truncated++;
    if (seq.trainedTokens === 0) {
      untrained++;
      continue;
    }
    sequences.push(seq);
  }
  if (sequences.length === 0) {
    throw new DataError(`[data] ${file}: no record with a trained token (${skipped} malformed line(s) skipped, ${untrained} record(s) whose trained tokens lie past maxSeqLen ${o.maxSeqLen})`, { file });
  }
  const tokens = sequences.reduce((a, s) => a + s.ids.length, 0);
  const trainedTokens = sequences.reduce((a, s) => a + s.trainedTokens, 0);
  return {
    file,
    maxSeqLen: o.maxSeqLen,
    sequences,
    stats: { records: sequences.length, skipped, skippedLines, truncated, untrained, tokens, trainedTokens },
    fingerprint: fingerprint(sequences, o.maxSeqLen),
  };
}

function fingerprint(sequences: readonly TokenizedSequence[], maxSeqLen: number): string {
  const h = createHash('sha256');
  h.update(`pmetal-data-v1 ${maxSeqLen} ${sequences.length}\n`);
  for (const s of sequences) {
    h.update(`${s.ids.length}\n`);
    h.update(new Uint8Array(s.ids.buffer, s.ids.byteOffset, s.ids.byteLength));
    h.update(new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength));
  }
  return h.digest('hex').slice(0, 32);
}
