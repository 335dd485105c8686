import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import type { FloatDType } from '../../src/dtype.js';
import { qgemmCase, qgemmInputs, qgemmLabel, type QgemmCaseDef } from '../../src/ops/quantized_gemm/cases.js';
import { checkAgainstReference } from './against_reference.js';
import { useWebGpu } from '../webgpu_backends.js';

// quantized_gemm's decode kernels (M ≤ 16) on the webgpu backend against the float64
// reference through the op's derived bound, with the kernel that ran checked: qgemv_sg
// (default, 64 invocations; 'sg128': 128) with MLX and Q4_K rows on 16-byte words and Q4_0
// on aligned 4-byte words (UVEC), the others through decode32; qgemv_wide under 'wide',
// 'wide2', 'wide128' (and their fallback to qgemv_sg); qgemv_rows under 'rows' (MLX
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
// qgemv_wide (M ≤ 8: MLX 4-bit, Q4_K, Q4_0 on aligned words): 8 rows a workgroup, so N
// spans 2–3 workgroups with the last partial; MLX at every group size and scale dtype (GS),
// Q4_K from random bits (every scale byte pattern kpair unpacks, both sides of 4), M up to 8
// (the explicit variants up to 8, where its 64 lanes store 8·M sums; auto: below).
const WIDE: QgemmCaseDef[] = [
  { format: 'mlx4', m: 4, n: 13, k: 4224, groupSize: 128, scaleDtype: 'f32', mode: 'bits' },
  { format: 'mlx4', m: 3, n: 17, k: 4160, groupSize: 32, scaleDtype: 'bf16' },
  { format: 'mlx4', m: 2, n: 9, k: 4352, groupSize: 64, mode: 'bits', outDtype: 'f32' },
  { format: 'q4_k', m: 2, n: 9, k: 4352, mode: 'bits' },
  { format: 'q4_k', m: 4, n: 20, k: 4608 },
  { format: 'q4_0', m: 4, n: 10, k: 4160, mode: 'bits' },
  { format: 'mlx4', m: 8, n: 11, k: 4160, groupSize: 32 },
  { format: 'q4_k', m: 7, n: 9, k: 4352, mode: 'bits' },
];

describe('quantized_gemm decode kernels (webgpu)', () => {
  const gpu = useWebGpu();
  const shaders: string[] = [];
  beforeAll(() => {
    const rt = gpu().rt;
    const dispatch = rt.dispatch.bind(rt);
    rt.dispatch = (d) => {
      const df = d.pipeline.defines;
      shaders.push(`${d.pipeline.shader}${df.UVEC ? ' UVEC' : ''}${df.WVEC ? ' WVEC' : ''}${df.WG ? ` WG=${df.WG}` : ''}${df.UF ? ` UF=${df.UF}` : ''}`);
      dispatch(d);
    };
  });
  afterAll(() => {
    delete process.env.PMETAL_QGEMV_VARIANT;
    refreshTuning();
  });

  // What each variant runs for a format (lavapipe offers subgroups: the subgroups tier).
  // qgemv_wide where it applies, else qgemv_sg with 64 invocations.
  const WIDE_RUN: Record<string, string> = { wide: 'WG=64 UF=1', wide2: 'WG=64 UF=2', wide128: 'WG=128 UF=1' };
  const want = (variant: string, d: QgemmCaseDef, dtype: FloatDType): string => {
    // 'auto' at M = 5…8 (midM): f32 x → wide128; f16 x → wide for Q4_K; else rows.
    if (variant === 'auto') return want(dtype === 'f32' ? 'wide128' : dtype === 'f16' && d.format === 'q4_k' ? 'wide' : 'rows', d, dtype);
    if (variant === 'column') return 'quant/qgemv.wgsl';
    if (variant === 'rows') return `quant/qgemv_rows.wgsl${d.format.startsWith('mlx') ? ' WVEC' : ''}`;
    const q40 = d.format === 'q4_0' && (d.k / 32) % 2 === 0;
    if (WIDE_RUN[variant] && d.m <= 8 && (d.format === 'mlx4' || d.format === 'q4_k' || q40)) return `quant/qgemv_wide.wgsl ${WIDE_RUN[variant]}`;
    const vec = d.format.startsWith('mlx') || d.format === 'q4_k' || q40 ? ' UVEC' : '';
    return `quant/qgemv_sg.wgsl${vec} WG=${variant === 'sg128' ? 128 : 64}`;
  };
  const runs: [string, FloatDType, QgemmCaseDef[]][] = [
    ['sg', 'f16', CASES],
    ['sg', 'f32', [CASES[1], CASES[2], CASES[8]]],
    ['sg', 'bf16', [CASES[0], CASES[6]]],
    ['sg128', 'f16', CASES],
    ['wide', 'f16', [...WIDE, ...CASES]],
    ['wide', 'f32', [WIDE[0], WIDE[3], WIDE[6], CASES[0], CASES[8]]],
    ['wide', 'bf16', [WIDE[1], WIDE[4], WIDE[5]]],
    // wide2's 16-unit bodies compile slowly on lavapipe: one case per format and its paired step.
    ['wide2', 'f16', [WIDE[0], WIDE[3], WIDE[5], CASES[4]]],
    ['wide128', 'f16', [...WIDE, CASES[0], CASES[8]]],
    ['rows', 'f16', CASES],
    ['rows', 'f32', [CASES[1], CASES[2]]],
    ['rows', 'bf16', [CASES[0], CASES[6]]],
    ['column', 'f16', [CASES[0]]],
    ['auto', 'f32', [WIDE[6], WIDE[7]]],
    ['auto', 'f16', [WIDE[6], WIDE[7]]],
    ['auto', 'bf16', [WIDE[7]]],
  ];
  for (const [variant, dtype, defs] of runs) {
    it(`${variant} ${dtype}`, { timeout: 900_000 }, async () => {
      process.env.PMETAL_QGEMV_VARIANT = variant;
      refreshTuning();
      for (const [i, d] of defs.entries()) {
        shaders.length = 0;
        const r = await checkAgainstReference(gpu(), 'quantized_gemm', qgemmInputs(d, dtype, 7 * i + 3), qgemmCase(d).options);
        expect(r.bad, qgemmLabel(d)).toEqual([]);
        expect(shaders, qgemmLabel(d)).toEqual([want(variant, d, dtype)]);
      }
    });
  }
});
