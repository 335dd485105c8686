import type { OpName } from '../../../ops/registry.js';
import type { MetalLauncher } from '../launch.js';
import { crossEntropyBackwardMetalLauncher, crossEntropyMetalLauncher } from './cross_entropy.js';
import { decodeAttentionMetalLauncher } from './decode_attention.js';
import { dwGemmAccumLauncher } from './dw_gemm_accum.js';
import { embeddingBackwardLauncher, embeddingLauncher } from './embedding.js';
import { fusedAdamwStepLauncher } from './fused_adamw_step.js';
import { fusedDistillLossBackwardLauncher, fusedDistillLossLauncher } from './fused_distill_loss.js';
import { fusedLoraBackwardLauncher, fusedLoraForwardLauncher } from './fused_lora.js';
import { fusedNormLoraBackwardLauncher, fusedNormLoraLauncher } from './fused_norm_lora.js';
import { fusedMlpLauncher } from './fused_mlp.js';
import { fusedNormQkvLauncher } from './fused_norm_qkv.js';
import { fusedMlpBackwardLauncher } from './fused_mlp_backward.js';
import { dequantizeMetalLauncher } from './dequantize.js';
import { flashAttentionForwardMetalLauncher } from './flash_attention.js';
import { flashAttentionBackwardMetalLauncher } from './flash_attention_backward.js';
import { gemmLauncher } from './gemm.js';
import { kvCacheCopyMetalLauncher } from './kv_cache_copy.js';
import { quantizedGemmMetalLauncher } from './quantized_gemm.js';
import { rmsNormLauncher } from './rms_norm.js';
import { rmsNormBackwardLauncher } from './rms_norm_backward.js';
import { ropeBackwardMetalLauncher, ropeMetalLauncher } from './rope.js';
import { sampleMetalLauncher } from './sample.js';
import { softmaxLauncher } from './softmax.js';
import { swigluBackwardLauncher, swigluLauncher } from './swiglu.js';

/**
 * The metal launcher per op; an op absent here is not supported by this backend.
 * Entries are added one line each (keep them sorted), once the op's conformance passes.
 */
export const METAL_LAUNCHERS: Partial<Record<OpName, MetalLauncher>> = {
  cross_entropy: crossEntropyMetalLauncher,
  cross_entropy_backward: crossEntropyBackwardMetalLauncher,
  decode_attention: decodeAttentionMetalLauncher,
  flash_attention_backward: flashAttentionBackwardMetalLauncher,
  dw_gemm_accum: dwGemmAccumLauncher,
  embedding: embeddingLauncher,
  embedding_backward: embeddingBackwardLauncher,
  fused_adamw_step: fusedAdamwStepLauncher,
  fused_distill_loss: fusedDistillLossLauncher,
  fused_distill_loss_backward: fusedDistillLossBackwardLauncher,
  fused_lora_backward: fusedLoraBackwardLauncher,
  fused_lora_forward: fusedLoraForwardLauncher,
  fused_mlp: fusedMlpLauncher,
  fused_mlp_backward: fusedMlpBackwardLauncher,
  fused_norm_lora: fusedNormLoraLauncher,
  fused_norm_lora_backward: fusedNormLoraBackwardLauncher,
  fused_norm_qkv: fusedNormQkvLauncher,
  dequantize: dequantizeMetalLauncher,
  flash_attention_forward: flashAttentionForwardMetalLauncher,
  gemm: gemmLauncher,
  kv_cache_copy: kvCacheCopyMetalLauncher,
  quantized_gemm: quantizedGemmMetalLauncher,
  rms_norm: rmsNormLauncher,
  rms_norm_backward: rmsNormBackwardLauncher,
  rope: ropeMetalLauncher,
  rope_backward: ropeBackwardMetalLauncher,
  sample: sampleMetalLauncher,
  softmax: softmaxLauncher,
  swiglu: swigluLauncher,
  swiglu_backward: swigluBackwardLauncher,
};
