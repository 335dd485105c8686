import type { KernelBackend } from '../backend/interface.js';
import { fromFloat64, type FloatDType } from '../dtype.js';
import type { Tensor } from '../tensor.js';

/**
 * A linear layer y = x·Wᵀ (+ bias), W in HF's [out, in] layout: dense (gemm with transB) or
 * MLX-quantized (W kept packed: u32 words + per-group scales and biases, quantized_gemm), or
 * GGUF-quantized (the file's ggml blocks, quantized_gemm).
 */
export type Linear =
  | { readonly kind: 'dense'; readonly w: Tensor; readonly bias?: Tensor }
  | {
      readonly kind: 'mlx';
      readonly w: Tensor;
      readonly scales: Tensor;
      readonly biases: Tensor;
      readonly bits: 4 | 8;
      readonly groupSize: 32 | 64 | 128;
      /** The layer's own bias as [1, N]: quantized_gemm has none, a rank-1 gemm adds it. */
      readonly bias?: Tensor;
    }
  | {
      readonly kind: 'gguf';
      /** u8 [N, rowBytes]: the ggml blocks of each row as stored in the file. */
      readonly w: Tensor;
      readonly format: 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k';
      /** [1, N], as for MLX. */
      readonly bias?: Tensor;
    };

export function applyLinear(b: KernelBackend, x: Tensor, l: Linear, dtype: FloatDType): Tensor {
  if (l.kind === 'dense') return b.gemm({ a: x, b: l.w, bias: l.bias }, { transB: true }).y;
  const y =
    l.kind === 'mlx'
      ? b.quantizedGemm({ x, w: l.w, scales: l.scales, biases: l.biases }, { format: l.bits === 4 ? 'mlx4' : 'mlx8', groupSize: l.groupSize }).y
      : b.quantizedGemm({ x, w: l.w }, { format: l.format }).y;
  if (!l.bias) return y;
  // y + 1·bias: a K = 1 gemm accumulating into y (c, beta = 1) adds the bias to every row.
  const rows = y.shape[0];
  const ones = b.tensor(fromFloat64(dtype, new Array<number>(rows).fill(1)), [rows, 1], dtype);
  const out = b.gemm({ a: ones, b: l.bias, c: y }, { beta: 1 }).y;
  ones.dispose();
  y.dispose();
  return out;
}

export function linearTensors(l: Linear): Tensor[] {
  return l.kind === 'mlx' ? [l.w, l.scales, l.biases, ...(l.bias ? [l.bias] : [])] : [l.w, ...(l.bias ? [l.bias] : [])];
}
