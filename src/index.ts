/**
 * pmetal — fused LLM kernels behind one KernelBackend interface. Importing this module
 * loads neither Dawn nor the Metal addon: backends load in createBackend().
 */
export { createBackend, probeBackends, BACKEND_NAMES, type BackendOptions } from './backend/load.js';
export type { KernelBackend, Capabilities, CallOptions, TierSupport, BackendName } from './backend/interface.js';
export type { WebGpuOptions } from './backend/webgpu/options.js';
export { Tensor, disposeOutputs } from './tensor.js';
export * from './errors.js';
export {
  DTYPES,
  FLOAT_DTYPES,
  type DType,
  type FloatDType,
  type HostArray,
  fromFloat64,
  toFloat64,
  f16ToNumber,
  bf16ToNumber,
  numberToF16,
  numberToBf16,
  f32ArrayTo16,
} from './dtype.js';
export { OPS, OP_NAMES, PLANNED_OPS, getSpec, type OpName } from './ops/registry.js';
export type { OpSpec, OpCase, TensorInfo, RefTensor, HostTensor } from './ops/types.js';
// Metal routing as pure functions (no addon needed): PMetal's KernelDispatch rule and chip model.
export { routeGemm, gemmThreshold, GEMM_THRESHOLDS } from './backend/metal/router.js';
export { classifyChipName } from './backend/metal/chip.js';
export type { ChipInfo, MetalTier } from './backend/metal/launch.js';
// Models (Llama family) on any backend, and the safetensors reader/writer they load through.
export { loadModel, loadModelOptions, modelFromSource, type LoadModelOptions } from './models/load.js';
export type { WeightSource, ModelWeights, LayerWeights } from './models/weights.js';
export { LlamaModel, type ModelCache } from './models/llama.js';
export { PagedKvCache } from './models/paged_cache.js';
export { KvCache } from './models/kv_cache.js';
export { generateOptions, type GenerateOptions } from './models/generate.js';
export { generateText, generateTextOptions, type GenerateTextOptions } from './models/generate_text.js';
export { loadConfig, parseConfig, ARCHITECTURES, type ModelConfig, type Architecture } from './models/config.js';
export { Checkpoint, SafetensorsFile, encodeSafetensors, writeSafetensors, type LoadedTensor, type TensorToWrite, type TensorExpectation } from './models/safetensors/index.js';
// Fine-tuning data: JSONL → tokenized, prompt-masked, packed varlen batches; the lr schedule and gradient accumulation.
export { TextTokenizer, type ChatMessage } from './models/tokenizer.js';
export { loadDataset, PackedLoader, IGNORE_INDEX, type Dataset, type DatasetOptions, type DatasetStats, type TokenizedSequence, type Cursor, type LoaderState, type LoaderOptions, type TrainBatch } from './models/train/data/index.js';
export { cosineWithWarmup, StepPlan, type CosineScheduleOptions, type LrSchedule, type OptimizerStep, type BatchSource } from './models/train/schedule.js';
// LoRA fine-tuning: packed forward/backward, AdamW, PEFT adapters in and out.
export * from './models/train/index.js';
