import type { FloatDType } from '../../dtype.js';
import type { BenchShape, OpCase } from '../types.js';
import type { QuantFormat } from '../quant/formats.js';
import { quantWeight, type QuantSource } from '../quant/inputs.js';

/**
 * One dequantize case. MLX scales/biases take the case dtype (so every output dtype is
 * covered through the default outDtype); GGUF blocks have no float input, so their cases
 * name outDtype themselves (the dtype loop then runs the same case once per dtype).
 */
export interface DeqCaseDef {
  format: QuantFormat;
  n: number;
  k: number;
  groupSize?: 32 | 64 | 128;
  mode: QuantSource['mode'];
  outDtype?: FloatDType;
  quick?: boolean;
}

export function deqLabel(d: DeqCaseDef): string {
  return [`${d.format}`, `n=${d.n},k=${d.k}`, d.groupSize ? `gs=${d.groupSize}` : '', d.mode, d.outDtype ? `out=${d.outDtype}` : ''].filter(Boolean).join(',');
}

export function deqCase(d: DeqCaseDef): OpCase {
  const options: Record<string, unknown> = { format: d.format };
  if (d.groupSize) options.groupSize = d.groupSize;
  if (d.outDtype) options.outDtype = d.outDtype;
  return {
    label: deqLabel(d),
    options,
    quick: d.quick,
    make: (dtype, seed) => quantWeight({ format: d.format, n: d.n, k: d.k, groupSize: d.groupSize, scaleDtype: dtype, mode: d.mode }, seed),
  };
}

const DEFS: DeqCaseDef[] = [
  { format: 'mlx4', n: 3, k: 128, groupSize: 32, mode: 'quantize', quick: true },
  { format: 'mlx4', n: 2, k: 128, mode: 'quantize', quick: true },
  { format: 'mlx4', n: 3, k: 256, groupSize: 128, mode: 'bits', quick: true },
  { format: 'mlx8', n: 3, k: 64, groupSize: 32, mode: 'bits', quick: true },
  { format: 'mlx8', n: 2, k: 256, groupSize: 128, mode: 'quantize', outDtype: 'f32', quick: true },
  { format: 'q4_0', n: 3, k: 64, mode: 'quantize', quick: true },
  { format: 'q4_0', n: 2, k: 96, mode: 'bits', outDtype: 'f16', quick: true },
  { format: 'q8_0', n: 3, k: 64, mode: 'quantize', outDtype: 'bf16', quick: true },
  { format: 'q8_0', n: 1, k: 32, mode: 'bits', quick: true },
  { format: 'q4_k', n: 2, k: 256, mode: 'quantize', quick: true },
  { format: 'q4_k', n: 1, k: 512, mode: 'bits', outDtype: 'f16', quick: true },
  { format: 'q6_k', n: 2, k: 256, mode: 'quantize', outDtype: 'bf16', quick: true },
  { format: 'q6_k', n: 1, k: 512, mode: 'bits', quick: true },
  { format: 'mlx4', n: 64, k: 4096, groupSize: 64, mode: 'quantize' },
  { format: 'mlx8', n: 33, k: 1024, groupSize: 32, mode: 'bits' },
  { format: 'q4_0', n: 31, k: 4096, mode: 'bits' },
  { format: 'q8_0', n: 17, k: 2048, mode: 'quantize' },
  { format: 'q4_k', n: 9, k: 4096, mode: 'quantize' },
  { format: 'q6_k', n: 9, k: 4096, mode: 'bits', outDtype: 'f16' },
];

export const DEQUANTIZE_CASES: OpCase[] = DEFS.map(deqCase);

/** A 4096×14336 projection in each format (random bits: quantizing 58M values on the host is slow). */
export const DEQUANTIZE_BENCH: BenchShape[] = (['mlx4', 'q4_0', 'q4_k', 'q6_k'] as const).map((format) => ({
  label: `${format},n=14336,k=4096`,
  options: { format },
  make: (dtype, seed) => quantWeight({ format, n: 14336, k: 4096, scaleDtype: dtype, mode: 'bits' }, seed),
}));
