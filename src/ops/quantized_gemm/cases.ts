import type { FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';
import { FORMATS, type QuantFormat } from '../quant/formats.js';
import { quantWeight, type QuantSource } from '../quant/inputs.js';

export interface QgemmCaseDef {
  format: QuantFormat;
  m: number;
  n: number;
  k: number;
  /** x as [B, S, K] with this B. */
  batch?: number;
  groupSize?: 32 | 64 | 128;
  /** MLX scales dtype (default f16). */
  scaleDtype?: FloatDType;
  mode?: QuantSource['mode'];
  outDtype?: FloatDType;
  quick?: boolean;
}

export function qgemmLabel(d: QgemmCaseDef): string {
  return [d.format, `m=${d.m},n=${d.n},k=${d.k}`, d.batch ? `batch=${d.batch}` : '', d.groupSize ? `gs=${d.groupSize}` : '', FORMATS[d.format].kind === 'mlx' ? `scales=${d.scaleDtype ?? 'f16'}` : '', d.mode ?? 'quantize', d.outDtype ? `out=${d.outDtype}` : '']
    .filter(Boolean)
    .join(',');
}

export function qgemmInputs(d: QgemmCaseDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const xShape = d.batch ? [d.batch, d.m / d.batch, d.k] : [d.m, d.k];
  return {
    x: uniform(dtype, xShape, seed, -1, 1),
    ...quantWeight({ format: d.format, n: d.n, k: d.k, groupSize: d.groupSize, scaleDtype: d.scaleDtype ?? 'f16', mode: d.mode ?? 'quantize' }, seed + 1),
  };
}

export function qgemmCase(d: QgemmCaseDef): OpCase {
  const options: Record<string, unknown> = { format: d.format };
  if (d.groupSize) options.groupSize = d.groupSize;
  if (d.outDtype) options.outDtype = d.outDtype;
  return { label: qgemmLabel(d), options, quick: d.quick, make: (dtype, seed) => qgemmInputs(d, dtype, seed) };
}

const DEFS: QgemmCaseDef[] = [
  // Decode (M ≤ 16): one and several rows, ragged N (a partial workgroup of columns).
  { format: 'mlx4', m: 1, n: 9, k: 128, groupSize: 32, quick: true },
  { format: 'mlx4', m: 5, n: 12, k: 256, quick: true, scaleDtype: 'bf16', mode: 'bits' },
  { format: 'mlx8', m: 16, n: 7, k: 128, groupSize: 128, quick: true, scaleDtype: 'f32' },
  { format: 'q4_0', m: 3, n: 10, k: 96, quick: true },
  { format: 'q8_0', m: 2, n: 9, k: 64, quick: true, mode: 'bits', outDtype: 'f32' },
  { format: 'q4_k', m: 1, n: 11, k: 256, quick: true },
  { format: 'q6_k', m: 4, n: 5, k: 512, quick: true, mode: 'bits' },
  // Prefill (M > 16): tiles with ragged edges, a batched x.
  { format: 'mlx4', m: 17, n: 13, k: 64, groupSize: 64, quick: true },
  { format: 'q4_0', m: 33, n: 65, k: 64, batch: 3, quick: true, mode: 'bits' },
  { format: 'q6_k', m: 20, n: 9, k: 256, quick: true, outDtype: 'bf16' },
  { format: 'q4_k', m: 70, n: 66, k: 256, quick: true, mode: 'bits' },
  { format: 'mlx8', m: 40, n: 70, k: 96, groupSize: 32, quick: true, scaleDtype: 'bf16', mode: 'bits' },
  { format: 'q8_0', m: 64, n: 64, k: 128, quick: true },
  // Larger.
  { format: 'mlx4', m: 1, n: 512, k: 4096, groupSize: 64 },
  { format: 'q4_k', m: 8, n: 300, k: 2048 },
  { format: 'q6_k', m: 130, n: 129, k: 512, mode: 'bits' },
  { format: 'q8_0', m: 200, n: 96, k: 1024, mode: 'bits', outDtype: 'f32' },
  { format: 'mlx4', m: 100, n: 257, k: 1024, groupSize: 128, scaleDtype: 'bf16' },
];

export const QGEMM_CASES: OpCase[] = DEFS.map(qgemmCase);

/**
 * The shapes (random bits: quantizing 10⁸ weights on the host is slow): decode M = 1
 * and 8 through 4096×14336 (up/gate) and 14336×4096 (down) projections and a 128256×4096 LM
 * head; prefill 4096 tokens through the 4096→14336 up and the 14336→4096 down projections.
 */
const BENCH: [QuantFormat, number, number, number][] = [];
for (const f of ['mlx4', 'q4_k', 'q4_0'] as const) {
  for (const m of [1, 8]) BENCH.push([f, m, 14336, 4096], [f, m, 4096, 14336]);
  BENCH.push([f, 1, 128256, 4096]);
}
BENCH.push(['mlx4', 4096, 14336, 4096], ['q4_k', 4096, 14336, 4096], ['mlx4', 4096, 4096, 14336]);

export const QGEMM_BENCH: BenchShape[] = BENCH.map(([format, m, n, k]) => ({
  label: `${format},m=${m},n=${n},k=${k}`,
  options: { format },
  make: (dtype, seed) => qgemmInputs({ format, m, n, k, mode: 'bits' }, dtype, seed),
}));
