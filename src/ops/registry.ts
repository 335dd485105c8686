import { crossEntropy } from './cross_entropy/spec.js';
import { crossEntropyBackward } from './cross_entropy_backward/spec.js';
import { decodeAttention } from './decode_attention/spec.js';
import { flashAttentionBackward } from './flash_attention_backward/spec.js';
import { dwGemmAccum } from './dw_gemm_accum/spec.js';
import { embedding } from './embedding/spec.js';
import { embeddingBackward } from './embedding_backward/spec.js';
import { fusedAdamwStep } from './fused_adamw_step/spec.js';
import { fusedDistillLoss } from './fused_distill_loss/spec.js';
import { fusedDistillLossBackward } from './fused_distill_loss_backward/spec.js';
import { fusedLoraBackward } from './fused_lora_backward/spec.js';
import { fusedLoraForward } from './fused_lora_forward/spec.js';
import { fusedNormLora } from './fused_norm_lora/spec.js';
import { fusedNormLoraBackward } from './fused_norm_lora_backward/spec.js';
import { fusedNormQkv } from './fused_norm_qkv/spec.js';
import { fusedMlp } from './fused_mlp/spec.js';
import { fusedMlpBackward } from './fused_mlp_backward/spec.js';
import { dequantize } from './dequantize/spec.js';
import { flashAttentionForward } from './flash_attention_forward/spec.js';
import { gemm } from './gemm/spec.js';
import { quantizedGemm } from './quantized_gemm/spec.js';
import { rmsNorm } from './rms_norm/spec.js';
import { rmsNormBackward } from './rms_norm_backward/spec.js';
import { rope } from './rope/spec.js';
import { ropeBackward } from './rope_backward/spec.js';
import { sample } from './sample/spec.js';
import { softmax } from './softmax/spec.js';
import { swiglu } from './swiglu/spec.js';
import { swigluBackward } from './swiglu_backward/spec.js';
import { kvCacheCopy } from './kv_cache_copy/spec.js';
import type { OpSpec } from './types.js';

/**
 * The op registry: the one shared file a new op touches. Conformance, the CLI and the bench
 * iterate it, so an op listed here is covered without a new test file.
 */
export const OPS = {
  cross_entropy: crossEntropy,
  cross_entropy_backward: crossEntropyBackward,
  decode_attention: decodeAttention,
  flash_attention_backward: flashAttentionBackward,
  dw_gemm_accum: dwGemmAccum,
  embedding,
  embedding_backward: embeddingBackward,
  fused_adamw_step: fusedAdamwStep,
  fused_distill_loss: fusedDistillLoss,
  fused_distill_loss_backward: fusedDistillLossBackward,
  fused_lora_backward: fusedLoraBackward,
  fused_lora_forward: fusedLoraForward,
  fused_mlp: fusedMlp,
  fused_mlp_backward: fusedMlpBackward,
  fused_norm_lora: fusedNormLora,
  fused_norm_lora_backward: fusedNormLoraBackward,
  fused_norm_qkv: fusedNormQkv,
  dequantize,
  flash_attention_forward: flashAttentionForward,
  gemm,
  kv_cache_copy: kvCacheCopy,
  quantized_gemm: quantizedGemm,
  rms_norm: rmsNorm,
  rms_norm_backward: rmsNormBackward,
  rope,
  rope_backward: ropeBackward,
  sample,
  softmax,
  swiglu,
  swiglu_backward: swigluBackward,
} as const satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];

/**
 * Ops of PMetal's KernelBackend trait (and the extensions DESIGN.md names) that no backend
 * implements yet. Their methods exist on every backend and throw NotSupportedError; they
 * are never advertised in capabilities.
 */
export const PLANNED_OPS = [
  'grouped_gemm',
  'moe_routing',
  'fused_moe_expert',
  'gated_delta_net',
  'turboquant_kv',
] as const;
export type PlannedOp = (typeof PLANNED_OPS)[number];

export function getSpec(name: string): OpSpec {
  const spec = (OPS as Record<string, OpSpec>)[name];
  if (!spec) throw new Error(`unknown op '${name}' (known: ${OP_NAMES.join(', ')})`);
  return spec;
}
