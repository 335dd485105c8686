import type { OpName } from '../../../ops/registry.js';
import type { Launcher } from '../launch.js';
import { crossEntropyBackwardLauncher, crossEntropyLauncher } from './cross_entropy.js';
import { decodeAttentionLauncher } from './decode_attention.js';
import { dwGemmAccumLauncher } from './dw_gemm_accum.js';
import { embeddingBackwardLauncher, embeddingLauncher } from './embedding.js';
import { fusedAdamwStepLauncher } from './fused_adamw_step.js';
import { fusedDistillLossBackwardLauncher, fusedDistillLossLauncher } from './fused_distill_loss.js';
import { fusedLoraBackwardLauncher, fusedLoraForwardLauncher } from './fused_lora.js';
import { fusedNormLoraBackwardLauncher, fusedNormLoraLauncher } from './fused_norm_lora.js';
import { fusedMlpLauncher } from './fused_mlp.js';
import { fusedNormQkvLauncher } from './fused_norm_qkv.js';
import { fusedMlpBackwardLauncher } from './fused_mlp_backward.js';
import { dequantizeLauncher } from './dequantize.js';
import { flashAttentionForwardLauncher } from './flash_attention.js';
import { flashAttentionBackwardLauncher } from './flash_attention_backward.js';
import { gemmLauncher } from './gemm.js';
import { kvCacheCopyLauncher } from './kv_cache_copy.js';
import { quantizedGemmLauncher } from './quantized_gemm.js';
import { rmsNormLauncher } from './rms_norm.js';
import { rmsNormBackwardLauncher } from './rms_norm_backward.js';
import { ropeBackwardLauncher, ropeForwardLauncher } from './rope.js';
import { sampleLauncher } from './sample.js';
import { softmaxLauncher } from './softmax.js';
import { swigluBackwardLauncher, swigluLauncher } from './swiglu.js';

/** The webgpu launcher per op; an op absent here is not supported by this backend. */
export const LAUNCHERS: Partial<Record<OpName, Launcher>> = {
  cross_entropy: crossEntropyLauncher,
  cross_entropy_backward: crossEntropyBackwardLauncher,
  decode_attention: decodeAttentionLauncher,
  flash_attention_backward: flashAttentionBackwardLauncher,
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
  dequantize: dequantizeLauncher,
  flash_attention_forward: flashAttentionForwardLauncher,
  gemm: gemmLauncher,
  kv_cache_copy: kvCacheCopyLauncher,
  quantized_gemm: quantizedGemmLauncher,
  rms_norm: rmsNormLauncher,
  rms_norm_backward: rmsNormBackwardLauncher,
  rope: ropeForwardLauncher,
  rope_backward: ropeBackwardLauncher,
  sample: sampleLauncher,
  softmax: softmaxLauncher,
  swiglu: swigluLauncher,
  swiglu_backward: swigluBackwardLauncher,
};
