// quantized_gemm's Metal 4 tier (msl/quant/qgemm_mpp.metal: W tiles dequantized into
// threadgroup memory, the gemm's MPP tile matmul) on the MSL host runtime (emulated M5):
// every format, group size and scale dtype, f32/f16/bf16 x, M and N not multiples of the
// 64×32 tile, against the float64 reference and the bound of src/ops/quantized_gemm/spec.ts;
// the dispatch is checked to be the Metal 4 kernel. Then the router: decodes stay on the
// metal3 qgemv, prefills follow the gemm rule, the tier can be forced per call and globally.
// QGEMM_ASAN=1 compiles the kernels under AddressSanitizer (every device access checked; slower).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { emulatedChip } from '../../src/backend/metal/chip.js';
import { QGEMV_MAX_M, routeGemm, routeQuantizedGemm } from '../../src/backend/metal/router.js';
import { prepareCase, runCaseOn } from '../../conformance/runner.js';
import { qgemmCase, type QgemmCaseDef } from '../../src/ops/quantized_gemm/cases.js';
import { TierUnavailableError } from '../../src/errors.js';
import type { FloatDType } from '../../src/dtype.js';

const HOST = process.platform !== 'darwin';

// M = 70 and N = 45: a partial row tile and a partial column tile; K per format (whole
// groups / blocks, several 32-deep slices).
const DEFS: QgemmCaseDef[] = [
  { format: 'mlx4', m: 70, n: 45, k: 96, groupSize: 32 },
  { format: 'mlx4', m: 70, n: 45, k: 128, groupSize: 64, scaleDtype: 'bf16', mode: 'bits' },
  { format: 'mlx4', m: 33, n: 70, k: 256, groupSize: 128, scaleDtype: 'f32', outDtype: 'f32' },
  { format: 'mlx8', m: 70, n: 45, k: 64, groupSize: 32, scaleDtype: 'bf16' },
  { format: 'mlx8', m: 17, n: 33, k: 128, groupSize: 64, mode: 'bits' },
  { format: 'mlx8', m: 70, n: 45, k: 128, groupSize: 128, scaleDtype: 'f32', outDtype: 'bf16' },
  { format: 'q4_0', m: 70, n: 45, k: 96 },
  { format: 'q4_0', m: 66, n: 31, k: 64, batch: 3, mode: 'bits' },
  { format: 'q8_0', m: 70, n: 45, k: 96, mode: 'bits', outDtype: 'f16' },
  { format: 'q4_k', m: 70, n: 45, k: 256 },
  { format: 'q4_k', m: 20, n: 9, k: 512, mode: 'bits' },
  { format: 'q6_k', m: 70, n: 45, k: 256, mode: 'bits' },
  { format: 'q6_k', m: 65, n: 33, k: 256, outDtype: 'f32' },
];
const DTYPES: FloatDType[] = ['f32', 'f16', 'bf16'];

describe.skipIf(!HOST)('quantized_gemm metal4 kernel (emulated M5)', () => {
  let be: MetalBackend;
  const worst: string[] = [];
  beforeAll(async () => {
    be = await MetalBackend.create({ chip: 'M5', asan: !!process.env.QGEMM_ASAN });
  });
  afterAll(() => {
    be?.dispose();
    console.log(`[qgemm metal4] worst err/bound: ${worst.join(', ')}`);
  });

  it.each(DTYPES)('x %s: every format, ragged M and N', async (dtype) => {
    let w = 0;
    for (const d of DEFS) {
      const c = prepareCase('quantized_gemm', dtype, `${dtype} ${JSON.stringify(d)}`, qgemmCase(d), 1);
      be.trace = [];
      const { rec } = await runCaseOn(be, 'metal4', c);
      expect(rec.error, c.id).toBeUndefined();
      expect(rec.pass, `${c.id}: ${rec.detail}`).toBe(true);
      const fns = be.trace.map((t) => t.fn);
      expect(fns, c.id).toEqual([expect.stringMatching(new RegExp(`^qgemm_mpp_${d.format}_`))]);
      expect(be.trace[0].library).toBe('quant/qgemm_mpp.metal');
      w = Math.max(w, rec.worstRatio);
    }
    be.trace = undefined;
    worst.push(`${dtype} ${w.toFixed(3)}`);
  });

  it('a forced metal4 runs decodes (M ≤ 16) on the Metal 4 kernel too', async () => {
    const c = prepareCase('quantized_gemm', 'f16', 'decode', qgemmCase({ format: 'q4_k', m: 3, n: 40, k: 256 }), 2);
    be.trace = [];
    const { rec } = await runCaseOn(be, 'metal4', c);
    expect(rec.pass, rec.detail ?? rec.error).toBe(true);
    expect(be.trace.map((t) => t.fn)).toEqual(['qgemm_mpp_q4_k_none_f16_f16']);
    be.trace = undefined;
  });
});

describe('routeQuantizedGemm (pure)', () => {
  const ultra = emulatedChip('M5 Ultra');
  const base = emulatedChip('M5');
  it('decodes (M ≤ 16) stay on metal3 at any size', () => {
    expect(QGEMV_MAX_M).toBe(16);
    for (const m of [1, 2, 8, 16]) expect(routeQuantizedGemm(ultra, 'f16', m, 14336, 4096)).toBe('metal3');
    expect(routeGemm(ultra, 'f16', 16, 14336, 4096)).toBe('metal4'); // where a plain gemm would not
  });
  it('prefills follow the gemm rule, x dtype choosing the threshold column', () => {
    expect(routeQuantizedGemm(ultra, 'f16', 17, 14336, 4096)).toBe('metal4');
    expect(routeQuantizedGemm(base, 'f16', 4096, 14336, 4096)).toBe('metal4');
    // base f32: 4,194,304 (N = 96: no halving); 17·96·2048 = 3,342,336 → metal3, 22·96·2048 → metal4
    expect(routeQuantizedGemm(base, 'f32', 17, 96, 2048)).toBe('metal3');
    expect(routeQuantizedGemm(base, 'f32', 22, 96, 2048)).toBe('metal4');
    expect(routeQuantizedGemm(base, 'f16', 17, 96, 2048)).toBe('metal4'); // 3,342,336 > 2,097,152
    expect(routeQuantizedGemm(ultra, 'f16', 4096, 63, 4096)).toBe('metal3'); // N < 64
    for (const [m, n, k] of [[17, 64, 64], [100, 4096, 256], [4096, 4096, 4096]]) {
      expect(routeQuantizedGemm(base, 'bf16', m, n, k)).toBe(routeGemm(base, 'bf16', m, n, k));
    }
  });
  it('a chip without NAX is always metal3', () => {
    for (const name of ['M4 Max', 'M3 Ultra', 'M1']) expect(routeQuantizedGemm(emulatedChip(name), 'f16', 4096, 4096, 4096)).toBe('metal3');
  });
});

describe.skipIf(!HOST)('quantized_gemm routing through the backend', () => {
  const inputs = (be: Awaited<ReturnType<typeof createBackend>>, m: number, n: number, k: number) => ({
    x: be.zeros([m, k], 'f16'),
    w: be.zeros([n, k / 8], 'u32'),
    scales: be.zeros([n, k / 64], 'f16'),
    biases: be.zeros([n, k / 64], 'f16'),
  });
  const opts = { format: 'mlx4', groupSize: 64 };

  it('M5 Max: routes by the rule; forceable per call and globally', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5 Max' } });
    try {
      expect(be.capabilities().ops.quantized_gemm.map((t) => t.tier)).toEqual(['metal4', 'metal3']);
      const chip = emulatedChip('M5 Max');
      for (const [m, n, k] of [[1, 256, 256], [16, 256, 256], [17, 256, 256], [64, 64, 128], [8, 64, 64], [200, 96, 192]]) {
        expect(be.route('quantized_gemm', inputs(be, m, n, k), undefined, opts), `${m}x${n}x${k}`).toBe(routeQuantizedGemm(chip, 'f16', m, n, k));
      }
      const small = inputs(be, 1, 256, 256);
      const big = inputs(be, 128, 256, 256);
      expect(be.route('quantized_gemm', big, undefined, opts)).toBe('metal4');
      expect(be.route('quantized_gemm', small, { tier: 'metal4' }, opts)).toBe('metal4');
      expect(be.route('quantized_gemm', big, { tier: 'metal3' }, opts)).toBe('metal3');
      be.setTier('quantized_gemm', 'metal3');
      expect(be.route('quantized_gemm', big, undefined, opts)).toBe('metal3');
      be.setTier('quantized_gemm', undefined);
      expect(be.route('quantized_gemm', big, undefined, opts)).toBe('metal4');
    } finally {
      be.dispose();
    }
  });

  it('M3: metal3 only; a forced metal4 is TierUnavailableError naming NAX', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M3 Max' } });
    try {
      const big = inputs(be, 128, 256, 256);
      expect(be.route('quantized_gemm', big, undefined, opts)).toBe('metal3');
      expect(() => be.route('quantized_gemm', big, { tier: 'metal4' }, opts)).toThrow(TierUnavailableError);
      expect(() => be.route('quantized_gemm', big, { tier: 'metal4' }, opts)).toThrow(/NAX/);
    } finally {
      be.dispose();
    }
  });
});
