/** LoRA fine-tuning of a LlamaModel through KernelBackend calls only (see trainer.ts for the whole loop). */
export { LORA_TARGETS, TARGET_MODULE, targetDims, disposeAdapters, disposeGrads, type LoraTarget, type LoraPair, type LayerAdapters, type LoraAdapters, type LoraGrads, type LayerGrads, type LoraSettings } from './adapters.js';
export { loraSettings, loraSettingsOptions, initAdapters, type LoraSettingsOptions } from './init.js';
export { loraStep, loraStepOptions, type LoraStepOptions, type LoraStepResult, type TrainExample } from './step.js';
export { IGNORE, shiftedTargets } from './labels.js';
export { LoraAdamW, loraAdamWOptions, type LoraAdamWOptions } from './adamw.js';
export { LoraTrainer, trainerOptions, type AccumulatedGrads, type TrainerOptions } from './trainer.js';
export { clipGradNorm } from './clip.js';
export { readPeftAdapter, peftKey } from './peft.js';
export { writePeftAdapter } from './peft_write.js';
export { readPeftConfig, peftConfigSchema, ADAPTER_CONFIG, ADAPTER_WEIGHTS, type PeftConfig } from './peft_config.js';
export { saveCheckpoint, resumeTrainer, checkpointDataState, OPTIMIZER_FILE, STATE_FILE } from './checkpoint.js';
export { batchExamples } from './from_loader.js';
