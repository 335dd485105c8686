// decode_attention's Metal 4 tier (msl/attention/decode_attention_mpp.metal: Q·Kᵀ and P·V of
// the T·G rows of a kv head on the gemm's MPP tile matmul, then the Metal 3 reduce) on the MSL
// host runtime (emulated M5), against the float64 reference and the decode bound (the
// forward's with the split-and-combine terms): contiguous and paged caches, GQA/MQA, T > 1
// with rows that see nothing (length < T) and two row blocks (T·G = 64), several splits,
// window, softcap, sinks, an empty sequence, invalid lengths and a bad block (NaN), D ≠ Dv;
// each dispatch checked to be the Metal 4 split kernel. Then the routing: metal4 whenever the
// kernel takes the head dims, metal3 otherwise and on chips without NAX.
// FA_ASAN=1 compiles the kernels under AddressSanitizer (every device access checked; slower).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { prepareCase, runCaseOn } from '../../conformance/runner.js';
import { decodeCase, type DecodeProblem } from '../../src/ops/decode_attention/cases.js';
import { F16_ONLY, PROBLEMS } from './decode_problems.js';
import { TierUnavailableError } from '../../src/errors.js';
import type { FloatDType } from '../../src/dtype.js';

const HOST = process.platform !== 'darwin';

describe.skipIf(!HOST)('decode_attention metal4 kernel (emulated M5)', () => {
  let be: MetalBackend;
  const worst: string[] = [];
  beforeAll(async () => {
    be = await MetalBackend.create({ chip: 'M5', asan: !!process.env.FA_ASAN });
  });
  afterAll(() => {
    be?.dispose();
    console.log(`[decode metal4] worst err/bound: ${worst.join(', ')}`);
  });

  const run = async (dtype: FloatDType, p: DecodeProblem) => {
    const c = prepareCase('decode_attention', dtype, `${dtype} ${JSON.stringify(p)}`, decodeCase(p), 1);
    be.trace = [];
    const { rec } = await runCaseOn(be, 'metal4', c);
    expect(rec.error, c.id).toBeUndefined();
    expect(rec.pass, `${c.id}: ${rec.detail}`).toBe(true);
    expect(be.trace.map((t) => t.fn), c.id).toEqual([`decode_split_mpp_${dtype}_dv${p.dv ?? p.d}`, `decode_reduce_${dtype}`]);
    be.trace = undefined;
    return rec.worstRatio;
  };

  it.each(['f32', 'f16', 'bf16'] as const)('%s', async (dtype) => {
    let w = 0;
    for (const p of [...PROBLEMS, ...(dtype === 'f16' ? F16_ONLY : [])]) w = Math.max(w, await run(dtype, p));
    worst.push(`${dtype} ${w.toFixed(3)}`);
  });

  it('refuses head dims it cannot take (TierUnavailableError), which the router sends to metal3', async () => {
    for (const [dtype, d, dv] of [['f32', 80, 80], ['f16', 40, 32], ['bf16', 64, 192], ['f32', 64, 48]] as const) {
      const i = { q: be.zeros([1, 1, 2, d], dtype), kCache: be.zeros([1, 1, 8, d], dtype), vCache: be.zeros([1, 1, 8, dv], dtype), lengths: be.tensor(Int32Array.of(3), [1], 'i32') };
      expect(() => be.run('decode_attention', i, {}, { tier: 'metal4' }), `${dtype} ${d}/${dv}`).toThrow(TierUnavailableError);
      expect(be.route('decode_attention', i)).toBe('metal3');
      for (const t of Object.values(i)) t.dispose();
    }
  });
});

describe.skipIf(!HOST)('decode_attention routing', () => {
  const inputs = (be: { zeros: MetalBackend['zeros']; tensor: MetalBackend['tensor'] }, d: number, dv = d, dtype: FloatDType = 'f16') => ({
    q: be.zeros([1, 1, 4, d], dtype),
    kCache: be.zeros([1, 2, 8, d], dtype),
    vCache: be.zeros([1, 2, 8, dv], dtype),
    lengths: be.tensor(Int32Array.of(5), [1], 'i32'),
  });
  it('M5: metal4 where the kernel takes the head dims; per-call and global overrides', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    try {
      expect(be.capabilities().ops.decode_attention.map((t) => t.tier)).toEqual(['metal4', 'metal3']);
      expect(be.route('decode_attention', inputs(be, 128))).toBe('metal4');
      expect(be.route('decode_attention', inputs(be, 256, 256))).toBe('metal4');
      expect(be.route('decode_attention', inputs(be, 256, 256, 'f32'))).toBe('metal3');
      expect(be.route('decode_attention', inputs(be, 80))).toBe('metal3');
      expect(be.route('decode_attention', inputs(be, 64), { tier: 'metal3' })).toBe('metal3');
      be.setTier('decode_attention', 'metal3');
      expect(be.route('decode_attention', inputs(be, 64))).toBe('metal3');
      be.setTier('decode_attention', undefined);
      expect(be.route('decode_attention', inputs(be, 64))).toBe('metal4');
    } finally {
      be.dispose();
    }
  });
  it('M4 Max: metal3 only; a forced metal4 names NAX', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M4 Max' } });
    try {
      const i = inputs(be, 64);
      expect(be.route('decode_attention', i)).toBe('metal3');
      expect(() => be.route('decode_attention', i, { tier: 'metal4' })).toThrow(/NAX/);
    } finally {
      be.dispose();
    }
  });
});
