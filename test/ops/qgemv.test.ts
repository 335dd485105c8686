import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import type { FloatDType } from '../../src/dtype.js';
import { qgemmCase, qgemmInputs, qgemmLabel, type QgemmCaseDef } from '../../src/ops/quantized_gemm/cases.js';
import { checkAgainstReference } from './against_reference.js';

// quantized_gemm's decode kernels (M ≤ 16) on the webgpu backend against the float64
// reference through the op's derived bound, with the kernel that ran checked: qgemv_sg
// (default, 64 invocations; 'sg128': 128) with MLX and Q4_K rows on 16-byte words and Q4_0
// on aligned 4-byte words (UVEC), the others through decode32; qgemv_rows under 'rows' (MLX
// on 16-byte words, GGUF through decode8), qgemv under 'column'. K spans more than one
// 128-unit sweep of the workgroup (the loops run their paired and single steps, the last
// part-way), N is ragged (a partial workgroup), and M takes 1, 2 and 4 rounds of qgemv_rows'
// reduction and the paired (M ≤ 8) and single-unit (M > 8) loops of qgemv_sg.
const CASES: QgemmCaseDef[] = [
  { format: 'mlx4', m: 1, n: 9, k: 4224, groupSize: 64 },
  { format: 'mlx4', m: 6, n: 5, k: 4160, groupSize: 32, scaleDtype: 'bf16', mode: 'bits', outDtype: 'f32' },
  { format: 'mlx8', m: 16, n: 7, k: 4352, groupSize: 128, scaleDtype: 'f32' },
  // f16 scales from random bits (subnormal ones included): the 4-bit path that scales s by 16^-i.
  { format: 'mlx4', m: 2, n: 6, k: 4160, groupSize: 32, mode: 'bits' },
  { format: 'q4_0', m: 3, n: 6, k: 4128 },
  { format: 'q8_0', m: 1, n: 5, k: 4128, mode: 'bits' },
  { format: 'q4_k', m: 8, n: 5, k: 4352, mode: 'bits' },
  { format: 'q6_k', m: 2, n: 3, k: 4352, mode: 'bits', outDtype: 'bf16' },
  // An even number of Q4_0 blocks a row (rows on 4-byte boundaries: qgemv_sg's aligned
  // words, blocks starting 0 and 2 bytes into a word); the case above has an odd number.
  { format: 'q4_0', m: 1, n: 7, k: 4160, mode: 'bits' },
];

describe('quantized_gemm decode kernels (webgpu)', () => {
  let gpu: WebGpuBackend;
  const shaders: string[] = [];
  beforeAll(async () => {
    gpu = await WebGpuBackend.create();
    const rt = gpu.rt;
    const dispatch = rt.dispatch.bind(rt);
    rt.dispatch = (d) => {
      const df = d.pipeline.defines;
      shaders.push(`${d.pipeline.shader}${df.UVEC ? ' UVEC' : ''}${df.WVEC ? ' WVEC' : ''}${df.WG ? ` WG=${df.WG}` : ''}`);
      dispatch(d);
    };
  });
  afterAll(() => {
    delete process.env.PMETAL_QGEMV_VARIANT;
    refreshTuning();
    gpu?.dispose();
  });

  // What each variant runs for a format (lavapipe offers subgroups: the subgroups tier).
  const want = (variant: string, d: QgemmCaseDef): string => {
    if (variant === 'column') return 'quant/qgemv.wgsl';
    if (variant === 'rows') return `quant/qgemv_rows.wgsl${d.format.startsWith('mlx') ? ' WVEC' : ''}`;
    const vec = d.format.startsWith('mlx') || d.format === 'q4_k' || (d.format === 'q4_0' && (d.k / 32) % 2 === 0) ? ' UVEC' : '';
    return `quant/qgemv_sg.wgsl${vec} WG=${variant === 'sg128' ? 128 : 64}`;
  };
  const runs: [string, FloatDType, QgemmCaseDef[]][] = [
    ['sg', 'f16', CASES],
    ['sg', 'f32', [CASES[1], CASES[2], CASES[8]]],
    ['sg', 'bf16', [CASES[0], CASES[6]]],
    ['sg128', 'f16', CASES],
    ['rows', 'f16', CASES],
    ['rows', 'f32', [CASES[1], CASES[2]]],
    ['rows', 'bf16', [CASES[0], CASES[6]]],
    ['column', 'f16', [CASES[0]]],
  ];
  for (const [variant, dtype, defs] of runs) {
    it(`${variant} ${dtype}`, { timeout: 900_000 }, async () => {
      process.env.PMETAL_QGEMV_VARIANT = variant;
      refreshTuning();
      for (const [i, d] of defs.entries()) {
        shaders.length = 0;
        const r = await checkAgainstReference(gpu, 'quantized_gemm', qgemmInputs(d, dtype, 7 * i + 3), qgemmCase(d).options);
        expect(r.bad, qgemmLabel(d)).toEqual([]);
        expect(shaders, qgemmLabel(d)).toEqual([want(variant, d)]);
      }
    });
  }
});
