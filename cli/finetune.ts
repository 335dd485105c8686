import { Option, type Command } from 'commander';
import { DataError, PmetalError } from '../src/errors.js';
import { loadModel } from '../src/models/load.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import { checkpointDataState, resumeTrainer, saveCheckpoint } from '../src/models/train/checkpoint.js';
import { loadDataset, PackedLoader } from '../src/models/train/data/index.js';
import { batchExamples } from '../src/models/train/from_loader.js';
import { initAdapters, loraSettings } from '../src/models/train/init.js';
import { readPeftAdapter } from '../src/models/train/peft.js';
import { cosineWithWarmup, StepPlan } from '../src/models/train/schedule.js';
import { LoraTrainer } from '../src/models/train/trainer.js';
import { list, loadBackends, webgpuFlags } from './options.js';

const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new PmetalError('OPTIONS', `[finetune] --${name}: expected an integer ≥ ${min}, got '${v}'`);
  return n;
};
const num = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new PmetalError('OPTIONS', `[finetune] --${name}: expected a number ≥ 0, got '${v}'`);
  return n;
};

/** `pmetal finetune`: LoRA on a JSONL of {"text"} / {"messages"}, written as a PEFT adapter (+ a resumable checkpoint) to --out. */
export function registerFinetune(program: Command): void {
  webgpuFlags(
    program
      .command('finetune')
      .description('LoRA fine-tuning of a Hugging Face model folder on JSONL data; writes a PEFT adapter (and optimizer state to resume from) to --out')
      .requiredOption('--model <dir>', 'model folder (config.json, safetensors, tokenizer.json)')
      .requiredOption('--data <file>', 'JSONL: {"text": …} or {"messages": [{"role", "content"}, …]} per line (chat: only assistant turns are learned)')
      .requiredOption('--out <dir>', 'where the adapter and checkpoint go')
      .addOption(new Option('--backend <name>', 'backend').choices(['webgpu', 'metal', 'cpu']).default('webgpu'))
      .addOption(new Option('--dtype <dtype>', 'compute dtype').choices(['f32', 'f16', 'bf16']).default('f32'))
      .option('--lora-r <n>', 'LoRA rank', '16')
      .option('--lora-alpha <n>', 'LoRA alpha (scale alpha/r)', '32')
      .option('--lora-dropout <p>', 'LoRA dropout', '0')
      .addOption(new Option('--targets <list>', 'adapted projections (q,k,v,o,gate,up,down)').argParser(list))
      .option('--lr <lr>', 'peak learning rate', '2e-4')
      .option('--warmup <steps>', 'linear warm-up steps, then cosine decay (default 0)')
      .option('--warmup-ratio <r>', 'warm-up as a fraction of the total steps, rounded up (instead of --warmup)')
      .option('--min-lr-rate <r>', 'the cosine decays to this fraction of --lr', '0')
      .option('--skip-invalid', 'leave malformed JSONL lines out (counted, the first ones named) instead of stopping at the first')
      .option('--weight-decay <wd>', 'AdamW weight decay', '0')
      .option('--max-grad-norm <n>', 'clip the global gradient norm (0: off)', '1')
      .option('--epochs <n>', 'passes over the data', '1')
      .option('--batch-size <n>', 'rows of --max-seq-len tokens per micro-batch (examples packed into rows first-fit decreasing)', '4')
      .option('--grad-accum <n>', 'micro-batches per optimizer step', '1')
      .option('--max-seq-len <n>', 'truncate examples to this many tokens (and the length of a packed row)', '2048')
      .option('--seed <n>', 'seed of the adapter init, the data order and the dropout masks', '0')
      .option('--from-adapter <dir>', 'start from this PEFT adapter instead of a fresh one (--adapter picks the WebGPU adapter)')
      .option('--resume <dir>', 'continue a run from its --out checkpoint (same data, seed and schedule options)')
      .option('--stop-after <steps>', 'checkpoint and stop once this many optimizer steps are taken (a run in pieces)'),
  ).action(async (o) => {
    const seed = int('seed', o.seed, 0);
    const epochs = int('epochs', o.epochs, 1);
    const gradAccum = int('grad-accum', o.gradAccum, 1);
    const maxSeqLen = int('max-seq-len', o.maxSeqLen, 2);
    const batchSize = int('batch-size', o.batchSize, 1);
    const warmupSteps = o.warmup === undefined ? undefined : int('warmup', o.warmup, 0);
    const warmupRatio = o.warmupRatio === undefined ? undefined : num('warmup-ratio', o.warmupRatio);
    if (warmupSteps !== undefined && warmupRatio !== undefined) throw new PmetalError('OPTIONS', '[finetune] --warmup, --warmup-ratio: give one of them, not both');
    if (warmupRatio !== undefined && warmupRatio > 1) throw new PmetalError('OPTIONS', `[finetune] --warmup-ratio: expected a number in [0, 1], got '${o.warmupRatio}'`);
    const minLrRate = num('min-lr-rate', o.minLrRate);
    if (minLrRate > 1) throw new PmetalError('OPTIONS', `[finetune] --min-lr-rate: expected a number in [0, 1], got '${o.minLrRate}'`);
    const maxGradNorm = num('max-grad-norm', o.maxGradNorm);
    const peakLr = num('lr', o.lr);
    const [backend] = await loadBackends(o, [o.backend]);
    const model = await loadModel(o.model, backend, { dtype: o.dtype });
    let trainer: LoraTrainer | undefined;
    try {
      // The data pipeline of src/models/train/data: JSONL → tokenized, prompt-masked sequences →
      // seeded FFD-packed batches per epoch → optimizer steps of --grad-accum batches.
      const dataset = await loadDataset(o.data, await TextTokenizer.load(o.model), { maxSeqLen, onInvalid: o.skipInvalid ? 'skip' : 'throw' });
      const loader = new PackedLoader(dataset, { batchSize, seed });
      const plan = new StepPlan(loader, { gradAccum, epochs });
      const total = plan.totalSteps;
      const lr = cosineWithWarmup({ peakLr, totalSteps: total, minLrRate, ...(warmupRatio !== undefined ? { warmupRatio } : { warmupSteps: Math.min(warmupSteps ?? 0, total) }) });
      let first = 0;
      if (o.resume) {
        trainer = await resumeTrainer(o.resume, model);
        const stored = await checkpointDataState(o.resume);
        // The stored cursor says which batch comes next; a trainer whose step count disagrees would seed other dropout masks.
        first = plan.stepAt(loader.resume(stored.state, stored.file));
        if (first !== trainer.stepsTaken) throw new DataError(`[finetune] ${stored.file}: the data cursor starts step ${first}, but the trainer has taken ${trainer.stepsTaken} steps`, { file: stored.file });
      } else {
        const settings = loraSettings({ r: int('lora-r', o.loraR, 1), alpha: num('lora-alpha', o.loraAlpha), dropout: num('lora-dropout', o.loraDropout), ...(o.targets ? { targets: o.targets } : {}) });
        const adapters = o.fromAdapter ? await readPeftAdapter(o.fromAdapter, model.config, backend, model.dtype) : initAdapters(model.config, settings, backend, model.dtype, seed);
        trainer = new LoraTrainer(model, adapters, { optimizer: { lr: peakLr, weightDecay: num('weight-decay', o.weightDecay) }, ...(maxGradNorm > 0 ? { maxGradNorm } : {}) });
        if (model.dtype !== 'f32') await trainer.optimizer.initMasters();
      }
      process.stderr.write(`data: ${dataset.stats.records} records, ${dataset.stats.tokens} tokens (${dataset.stats.trainedTokens} trained, ${dataset.stats.truncated} truncated${dataset.stats.skipped ? `, ${dataset.stats.skipped} malformed lines skipped, first at line ${dataset.stats.skippedLines[0].line}` : ''}); ${loader.batchesPerEpoch} batches an epoch, ${total} steps\n`);
      const start = Date.now();
      let tokens = 0;
      const stop = o.stopAfter === undefined ? total : Math.min(total, int('stop-after', o.stopAfter, 1));
      for (let s = first; s < stop; s++) {
        const step = plan.step(s);
        const batches = step.microBatches.map((c) => loader.batch(c));
        const r = await trainer.step(batches.map(batchExamples), lr.lr(s));
        // The trainer weights each micro-batch by its counted targets over the step's: StepPlan's normalisation, checked.
        if (r.counted !== step.trainedTokens) throw new DataError(`[finetune] step ${s}: the trainer counted ${r.counted} targets, the loader ${step.trainedTokens}`, { file: o.data });
        tokens += batches.reduce((a, b) => a + b.ids.length, 0);
        const secs = (Date.now() - start) / 1000;
        const eta = ((total - s - 1) * secs) / (s - first + 1);
        process.stderr.write(`step ${s + 1}/${total}  loss ${r.loss.toFixed(4)}  lr ${lr.lr(s).toExponential(2)}${r.gradNorm !== undefined ? `  |g| ${r.gradNorm.toFixed(3)}` : ''}${r.skipped ? '  (skipped: non-finite gradient)' : ''}  ${(tokens / secs).toFixed(0)} tok/s  ETA ${eta.toFixed(0)} s\n`);
      }
      await saveCheckpoint(trainer, o.out, loader.state(plan.cursorOf(stop)));
      console.log(`adapter written to ${o.out} (${trainer.stepsTaken} steps)`);
    } finally {
      trainer?.dispose();
      model.dispose();
      backend.dispose();
    }
  });
}
