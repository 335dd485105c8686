import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DataError, OptionsError } from '../../../errors.js';
import type { Dataset } from './dataset.js';
import { firstFitDecreasing } from './ffd.js';
import { Prng } from './prng.js';

/** Where a run is in its data: the next batch to train is batch `batch` of epoch `epoch`. */
export interface Cursor {
  readonly epoch: number;
  readonly batch: number;
}

/** What a checkpoint stores: the cursor, and the fingerprint of the data and packing it is valid for. */
export interface LoaderState extends Cursor {
  readonly fingerprint: string;
}

/**
 * One packed batch in the layout of the varlen forward pass (see ../../batch.ts): sequences
 * back to back, no padding.
 */
export interface TrainBatch {
  /** i32 [T] */
  readonly ids: Int32Array;
  /** i32 [T]: the target of each row's logits, −100 where untrained and at every sequence's last row. */
  readonly labels: Int32Array;
  /** i32 [T]: position within the row's own sequence, from 0 (rope). */
  readonly positions: Int32Array;
  /** i32 [n+1]: sequence s owns rows cuSeqlens[s]..cuSeqlens[s+1]−1. */
  readonly cuSeqlens: Int32Array;
  /** Labels that are not −100. */
  readonly trainedTokens: number;
  /** The JSONL line of each sequence, to trace a loss spike to its records. */
  readonly lines: readonly number[];
  readonly cursor: Cursor;
}

const loaderOptionsSchema = z.object({
  /** Rows of at most dataset.maxSeqLen tokens per batch. */
  batchSize: z.number().int().min(1),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
});
export type LoaderOptions = z.input<typeof loaderOptionsSchema>;

const stateSchema = z.object({ epoch: z.number().int().min(0), batch: z.number().int().min(0), fingerprint: z.string() });

/**
 * Epochs of packed batches. Epoch e's plan is a pure function of (dataset, batchSize, seed, e):
 * a PRNG stream for (seed, e) shuffles the sequences, first-fit decreasing packs them into rows
 * of maxSeqLen tokens (equal lengths keep the shuffled order), the same stream shuffles the
 * rows, and consecutive `batchSize` rows form a batch (the last batch of an epoch may have
 * fewer). Rows only budget memory: a batch is one flat varlen pack. FFD fills rows nearly
 * fully and gives every epoch the same number of batches; the price is that sequences of
 * distinct lengths tend to share a row in every epoch — harmless, since rows never interact
 * (attention and labels stop at sequence boundaries) and rows are reshuffled into batches.
 * Hence a resumed run, given the cursor, sees exactly the batches the first run would have.
 */
export class PackedLoader {
  readonly batchSize: number;
  readonly seed: number;
  readonly batchesPerEpoch: number;
  /** The dataset's fingerprint with the packing options: what a stored cursor must match. */
  readonly fingerprint: string;
  private cached: { epoch: number; batches: number[][] } | undefined;

  constructor(
    readonly dataset: Dataset,
    options: LoaderOptions,
  ) {
    const r = loaderOptionsSchema.safeParse(options);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new OptionsError(`[data] loader options: '${i.path.join('.')}' ${i.message}`);
    }
    this.batchSize = r.data.batchSize;
    this.seed = r.data.seed;
    if (dataset.sequences.length === 0) throw new OptionsError(`[data] ${dataset.file}: the dataset has no sequences`);
    const bad = dataset.sequences.find((s) => s.ids.length > dataset.maxSeqLen || s.ids.length === 0);
    if (bad) throw new OptionsError(`[data] ${dataset.file}:${bad.line}: a sequence of ${bad.ids.length} tokens does not fit a row of maxSeqLen ${dataset.maxSeqLen}`);
    this.batchesPerEpoch = this.epoch(0).length;
    this.fingerprint = createHash('sha256').update(`${dataset.fingerprint} ${this.batchSize} ${this.seed}`).digest('hex').slice(0, 32);
  }

  /** Epoch e's batches as lists of sequence indices (in pack order). The latest epoch is cached. */
  epoch(e: number): readonly (readonly number[])[] {
    if (!Number.isInteger(e) || e < 0) throw new OptionsError(`[data] epoch: expected an integer ≥ 0, got ${e}`);
    if (this.cached?.epoch === e) return this.cached.batches;
    const seqs = this.dataset.sequences;
    const rng = new Prng(this.seed, e);
    const order = rng.shuffle(seqs.map((_, i) => i));
    const rows = rng.shuffle(
      firstFitDecreasing(
        seqs.map((s) => s.ids.length),
        order,
        this.dataset.maxSeqLen,
      ),
    );
    const batches: number[][] = [];
    for (let r = 0; r < rows.length; r += this.batchSize) batches.push(rows.slice(r, r + this.batchSize).flat());
    this.cached = { epoch: e, batches };
    return batches;
  }

  /** Trained tokens of one batch, without packing it (gradient accumulation needs them before the step). */
  trainedTokens(epoch: number, batch: number): number {
    return this.indices({ epoch, batch }).reduce((a, i) => a + this.dataset.sequences[i].trainedTokens, 0);
  }

  /** The batch at `cursor`, packed. */
  batch(cursor: Cursor): TrainBatch {
    const seqs = this.indices(cursor).map((i) => this.dataset.sequences[i]);
    const total = seqs.reduce((a, s) => a + s.ids.length, 0);
    const ids = new Int32Array(total);
    const labels = new Int32Array(total);
    const positions = new Int32Array(total);
    const cuSeqlens = new Int32Array(seqs.length + 1);
    let t = 0;
    let trainedTokens = 0;
    seqs.forEach((s, k) => {
      ids.set(s.ids, t);
      // Each sequence's labels end in −100 (tokenize.ts), so no row predicts the next sequence.
      labels.set(s.labels, t);
      for (let p = 0; p < s.ids.length; p++) positions[t + p] = p;
      t += s.ids.length;
      cuSeqlens[k + 1] = t;
      trainedTokens += s.trainedTokens;
    });
    return { ids, labels, positions, cuSeqlens, trainedTokens, lines: seqs.map((s) => s.line), cursor: { epoch: cursor.epoch, batch: cursor.batch } };
  }

  /** The cursor after `c`: the next batch, or the first of the next epoch. */
  next(c: Cursor): Cursor {
    return c.batch + 1 < this.batchesPerEpoch ? { epoch: c.epoch, batch: c.batch + 1 } : { epoch: c.epoch + 1, batch: 0 };
  }

  /** Batches from `from` up to (not including) epoch `epochs`. */
  *batches(epochs: number, from: Cursor = { epoch: 0, batch: 0 }): Generator<TrainBatch> {
    for (let c = from; c.epoch < epochs; c = this.next(c)) yield this.batch(c);
  }

  /** The state to store in a checkpoint so that `resume` continues at `cursor`. */
  state(cursor: Cursor): LoaderState {
    this.check(cursor);
    return { epoch: cursor.epoch, batch: cursor.batch, fingerprint: this.fingerprint };
  }

  /**
   * The cursor of a stored state (parsed JSON). A state from other data, another maxSeqLen,
   * batch size or seed would silently train on different batches, so it is a DataError.
   */
  resume(state: unknown, file: string): Cursor {
    const r = stateSchema.safeParse(state);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new DataError(`[data] ${file}: the data cursor has '${i.path.join('.')}' ${i.message}`, { file });
    }
    if (r.data.fingerprint !== this.fingerprint) {
      throw new DataError(`[data] ${file}: the data cursor was stored for other data or packing (fingerprint ${r.data.fingerprint}, this run's ${this.fingerprint}: the JSONL, tokenizer, maxSeqLen, batchSize or seed differ)`, { file });
    }
    if (r.data.batch >= this.batchesPerEpoch) throw new DataError(`[data] ${file}: the data cursor's batch ${r.data.batch} is past the ${this.batchesPerEpoch} batches of an epoch`, { file });
    return { epoch: r.data.epoch, batch: r.data.batch };
  }

  private indices(c: Cursor): readonly number[] {
    this.check(c);
    return this.epoch(c.epoch)[c.batch];
  }

  private check(c: Cursor): void {
    if (!Number.isInteger(c.epoch) || c.epoch < 0 || !Number.isInteger(c.batch) || c.batch < 0 || c.batch >= this.batchesPerEpoch) {
      throw new OptionsError(`[data] cursor: expected an epoch ≥ 0 and a batch in [0, ${this.batchesPerEpoch}), got (${c.epoch}, ${c.batch})`);
    }
  }
}
