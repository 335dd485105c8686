import { z } from 'zod';
import { OptionsError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { packSequences } from '../batch.js';
import { convertFloat } from '../convert.js';
import type { LlamaModel } from '../llama.js';
import { applyLinear } from '../linear.js';
import { disposeGrads, type LoraAdapters, type LoraGrads } from './adapters.js';
import { IGNORE, shiftedTargets } from './labels.js';
import { trainLayerBackward } from './layer_backward.js';
import { disposeSaved, trainLayerForward, type LayerSaved } from './layer_forward.js';
import { linearBackward } from './linear.js';

export const loraStepOptions = z
  .object({
    /** Seeds the LoRA dropout masks of this step (a different one per step). */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    /** Multiplies the loss's gradient (e.g. 1/G over G accumulated micro-batches). */
    lossScale: z.number().finite().default(1),
  })
  .strict();
export type LoraStepOptions = z.input<typeof loraStepOptions>;

/** One training example: token ids and, optionally, a label per token (IGNORE = −100 masks it). */
export interface TrainExample {
  readonly ids: readonly number[] | Int32Array;
  readonly labels?: readonly number[] | Int32Array;
}

/** What recordLoraStep leaves on the backend: the loss not yet read. */
export interface RecordedLoraStep {
  /** f32 [1]: the mean cross-entropy (the caller reads and disposes it). */
  readonly loss: Tensor;
  readonly counted: number;
  readonly grads: LoraGrads;
}

export interface LoraStepResult {
  /** Mean cross-entropy over the counted targets of the batch (f32, read back). */
  readonly loss: number;
  /** How many targets the mean is over. */
  readonly counted: number;
  /** The f32 gradients (the caller disposes them, or passes them back to accumulate). */
  readonly grads: LoraGrads;
}

/**
 * Forward and backward of one packed batch through the model with its LoRA adapters, all
 * through KernelBackend calls: the sequences are packed without padding (varlen attention,
 * each sequence attends to itself only), the loss is HF's causal-LM loss (labels shifted by
 * one inside each sequence, −100 ignored, mean over the counted targets), and the result
 * holds the gradient of that loss for every adapter. `accumulate` grads (from an earlier
 * step's result) are added into and returned.
 */
export async function loraStep(model: LlamaModel, adapters: LoraAdapters, examples: readonly TrainExample[], options: LoraStepOptions = {}, accumulate?: LoraGrads): Promise<LoraStepResult> {
  const r = recordLoraStep(model, adapters, examples, options, accumulate);
  try {
    return { loss: (await model.backend.read(r.loss))[0], counted: r.counted, grads: r.grads };
  } catch (e) {
    if (!accumulate) disposeGrads(r.grads);
    throw e;
  } finally {
    r.loss.dispose();
  }
}

/**
 * loraStep without the wait: every op recorded, the loss left on the backend. The trainer
 * records the optimizer step behind it and reads the loss with AdamW's flag — one wait a
 * step, and the host records AdamW while the GPU runs the backward (a read here left the GPU
 * idle while the host recorded the update, and the host idle while the GPU finished).
 */
export function recordLoraStep(model: LlamaModel, adapters: LoraAdapters, examples: readonly TrainExample[], options: LoraStepOptions = {}, accumulate?: LoraGrads): RecordedLoraStep {
  const p = loraStepOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[lora] options: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const { seed, lossScale } = p.data;
  const c = model.config;
  const b = model.backend;
  const w = model.parameters;
  if (adapters.layers.length !== c.numLayers) throw new OptionsError(`[lora] adapters: expected ${c.numLayers} layers (the model's), got ${adapters.layers.length}`);
  if (adapters.dtype !== model.dtype) throw new OptionsError(`[lora] adapters: expected the model's compute dtype ${model.dtype}, got ${adapters.dtype}`);
  if (accumulate && accumulate.layers.length !== c.numLayers) throw new OptionsError(`[lora] accumulate: expected ${c.numLayers} layers of gradients, got ${accumulate.layers.length}`);
  if (!Array.isArray(examples)) throw new OptionsError('[lora] examples: expected an array of { ids, labels? }');
  const batch = packSequences(examples.map((e) => e?.ids), c.vocabSize);
  const { targets, counted } = shiftedTargets(batch, examples.map((e) => e.labels), c.vocabSize);
  if (counted === 0) throw new OptionsError(`[lora] labels: no target is counted (every shifted label is ${IGNORE}): the mean loss would be 0/0`);

  const T = batch.ids.length;
  const live: Tensor[] = [];
  const keep = <X extends Tensor>(t: X): X => (live.push(t), t);
  const saved: LayerSaved[] = [];
  const grads: LoraGrads = accumulate ?? { layers: Array.from({ length: c.numLayers }, () => ({})) };
  let loss: Tensor | undefined;
  try {
    const ids = keep(b.tensor(batch.ids, [T], 'i32'));
    const io = { positions: keep(b.tensor(batch.positions, [T], 'i32')), cu: keep(b.tensor(batch.cu, [batch.cu.length], 'i32')), tokens: T, dtype: model.dtype };
    const tgt = keep(b.tensor(targets, [T], 'i32'));
    const ones = keep(b.tensor(convertFloat('f32', model.dtype, new Float32Array(c.hiddenSize).fill(1)), [c.hiddenSize], model.dtype));
    const emb = b.embedding({ weight: w.embed, ids });
    emb.invalid.dispose(); // ids were checked on the host by packSequences
    let h = emb.y;
    c.layerWindows.forEach((window, l) => {
      const lc = { settings: adapters.settings, adapters: adapters.layers[l], layer: l, seed };
      const r = trainLayerForward(b, c, w.layers[l], window, h, io, lc);
      saved.push(r.saved);
      h = r.out;
    });
    const hL = keep(h);
    const nf = b.rmsNorm({ x: hL, weight: w.finalNorm }, { eps: c.rmsNormEps });
    keep(nf.y);
    keep(nf.rstd);
    const logits = keep(applyLinear(b, nf.y, w.lmHead, model.dtype));
    const ce = b.crossEntropy({ logits, targets: tgt }, { ignoreIndex: IGNORE, reduction: 'mean' });
    loss = ce.loss;
    keep(ce.lse);
    const dloss = keep(b.tensor(new Float32Array([lossScale]), [1], 'f32'));
    const dlogits = keep(b.crossEntropyBackward({ logits, targets: tgt, lse: ce.lse, dloss }, { ignoreIndex: IGNORE, reduction: 'mean' }).dlogits);
    const dnf = keep(linearBackward(b, dlogits, w.lmHead, model.dtype));
    const rf = b.rmsNormBackward({ dy: dnf, x: hL, weight: w.finalNorm, rstd: nf.rstd }, { eps: c.rmsNormEps });
    rf.dw.dispose();
    let dh = rf.dx;
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const lc = { settings: adapters.settings, adapters: adapters.layers[l], layer: l, seed };
      const next = trainLayerBackward(b, c, w.layers[l], c.layerWindows[l], saved[l], dh, io, lc, grads.layers[l], ones);
      dh.dispose();
      disposeSaved(saved[l]);
      dh = next;
    }
    dh.dispose();
    return { loss, counted, grads };
  } catch (e) {
    loss?.dispose();
    if (!accumulate) disposeGrads(grads);
    throw e;
  } finally {
    for (const s of saved) disposeSaved(s);
    for (const t of live) t.dispose();
  }
}
