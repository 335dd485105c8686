import type { KernelBackend } from '../../backend/interface.js';
import { fromFloat64, type FloatDType } from '../../dtype.js';
import type { Tensor } from '../../tensor.js';
import type { Linear } from '../linear.js';

/**
 * The frozen W of a Linear as fused_lora_forward/backward take it: dense `weight`, or packed
 * (QLoRA: MLX `w` + `scales`/`biases` with format mlx4/mlx8 and the group size; GGUF blocks
 * with their format). The packed W stays packed: the op dequantizes it per call, inside.
 */
export function loraWeight(l: Linear): { inputs: { weight: Tensor } | { w: Tensor; scales?: Tensor; biases?: Tensor }; options: { format?: 'mlx4' | 'mlx8' | 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k'; groupSize?: 32 | 64 | 128 } } {
  if (l.kind === 'dense') return { inputs: { weight: l.w }, options: {} };
  if (l.kind === 'mlx') return { inputs: { w: l.w, scales: l.scales, biases: l.biases }, options: { format: l.bits === 4 ? 'mlx4' : 'mlx8', groupSize: l.groupSize } };
  return { inputs: { w: l.w }, options: { format: l.format } };
}

/**
 * y + bias for a packed Linear's [1, N] bias (linear.ts keeps it so for quantized_gemm): a
 * K = 1 gemm of a ones column into y, as applyLinear does. The op's own bias input takes
 * [N], and reshaping the model's tensor would take its storage away. Consumes y.
 */
export function addRowBias(b: KernelBackend, y: Tensor, bias: Tensor, dtype: FloatDType): Tensor {
  const rows = y.shape[0];
  const ones = b.tensor(fromFloat64(dtype, new Array<number>(rows).fill(1)), [rows, 1], dtype);
  const out = b.gemm({ a: ones, b: bias, c: y }, { beta: 1 }).y;
  ones.dispose();
  y.dispose();
  return out;
}

/**
 * dx = dy·W of a frozen, unadapted Linear (its bias has no gradient to pass on). A packed W is
 * dequantized into the compute dtype for the one gemm — the same copy (and rounding) the
 * LoRA ops make of it — since quantized_gemm only multiplies by Wᵀ.
 */
export function linearBackward(b: KernelBackend, dy: Tensor, l: Linear, dtype: FloatDType): Tensor {
  if (l.kind === 'dense') return b.gemm({ a: dy, b: l.w }).y;
  const q = loraWeight(l);
  const w = b.dequantize(q.inputs as { w: Tensor; scales?: Tensor; biases?: Tensor }, { format: q.options.format!, groupSize: q.options.groupSize, outDtype: dtype }).y;
  const dx = b.gemm({ a: dy, b: w }).y;
  w.dispose();
  return dx;
}
