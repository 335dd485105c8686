import type { QuantDims } from '../../../ops/quant/formats.js';
import type { Tensor } from '../../../tensor.js';

/**
 * What the quantized MSL kernels share (msl/quant/decode.h): the instantiation infix
 * (`mlx4_f16`, `q4_k_none`) and the tensors bound at 0–2 — the packed weight, then MLX's
 * scales and biases (GGUF kernels have none: w is bound there again and never read).
 */
export function quantInfix(d: QuantDims): string {
  return `${d.format}_${d.info.kind === 'mlx' ? d.scaleDtype : 'none'}`;
}

export function quantBuffers(d: QuantDims, i: Record<string, Tensor>): { index: number; tensor: Tensor }[] {
  const w: Tensor = i.w;
  return [
    { index: 0, tensor: w },
    { index: 1, tensor: d.info.kind === 'mlx' ? i.scales : w },
    { index: 2, tensor: d.info.kind === 'mlx' ? i.biases : w },
  ];
}

/** Bytes per row of the packed weight (MLX rows are u32 words). */
export const quantRowBytesOf = (d: QuantDims): number => (d.info.kind === 'mlx' ? 4 * d.rowUnits : d.rowUnits);
