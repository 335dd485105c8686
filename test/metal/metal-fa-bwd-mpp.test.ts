// flash_attention_backward's Metal 4 tier (msl/attention/fa_bwd_dq_mpp.metal and
// fa_bwd_dkv_mpp.metal: Q·Kᵀ, dO·Vᵀ, dS·K, dSᵀ·Q and Pᵀ·dO on the gemm's MPP tile matmul, P
// recomputed from lse) on the MSL host runtime (emulated M5), against the float64 reference
// and the bounds of src/ops/flash_attention_backward/bounds.ts: several row blocks and key
// blocks, GQA/MQA (dk, dv summed over a group), masks, softcap, sinks (dsinks), fully masked
// rows, varlen with padding and malformed cu_seqlens (NaN), bshd and bhsd, D ≠ Dv; each
// dispatch checked to be a Metal 4 kernel. Then the routing: metal4 whenever the kernels take
// the head dims, metal3 otherwise and on chips without NAX.
// FA_ASAN=1 compiles the kernels under AddressSanitizer (every device access checked; slower).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { fa4BwdUnsupported } from '../../src/backend/metal/launchers/flash_attention_backward.js';
import { prepareCase, runCaseOn } from '../../conformance/runner.js';
import { bwdCase } from '../../src/ops/flash_attention_backward/cases.js';
import type { AttnProblem } from '../../src/ops/flash_attention_forward/cases.js';
import { TierUnavailableError } from '../../src/errors.js';
import type { FloatDType } from '../../src/dtype.js';

const HOST = process.platform !== 'darwin';

const PROBLEMS: AttnProblem[] = [
  // 3 row blocks of 32 (rows = Sq·G = 80), 4 key blocks with a partial last one.
  { b: 2, sq: 40, sk: 100, hq: 4, hkv: 2, d: 64 },
  { sq: 40, sk: 70, hq: 8, hkv: 1, d: 128, causal: true }, // MQA: dk, dv over 8 heads; causal
  { sq: 50, sk: 20, hq: 2, hkv: 2, d: 32, causal: true }, // Sq > Sk: fully masked rows
  { sq: 33, sk: 65, hq: 4, hkv: 4, d: 96, dv: 32, layout: 'bhsd', window: { left: 7, right: 3 } },
  { sq: 17, sk: 90, hq: 4, hkv: 1, d: 64, dv: 128, softcap: 20, range: 4, sinks: true },
  { sq: 1, sk: 77, hq: 8, hkv: 2, d: 32, queryOffset: 40, causal: true }, // a decode-like step
  { sq: 0, sk: 0, seqQ: [3, 0, 37, 1], seqK: [5, 4, 0, 41], padQ: 2, padK: 3, hq: 4, hkv: 2, d: 32, causal: true, sinks: true },
  { cuQ: [0, 5, 3], cuK: [0, 6, 12], sq: 9, sk: 12, hq: 2, hkv: 1, d: 32 }, // malformed: every output NaN
  { sq: 20, sk: 150, hq: 2, hkv: 1, d: 32, range: 8 }, // sharp softmax
];
const F16_ONLY: AttnProblem[] = [
  { sq: 9, sk: 45, hq: 4, hkv: 2, d: 192, dv: 128, causal: true },
  { sq: 35, sk: 40, hq: 2, hkv: 1, d: 256, dv: 256 },
  { sq: 12, sk: 33, hq: 2, hkv: 2, d: 64, dv: 160 },
];

describe.skipIf(!HOST)('flash_attention_backward metal4 kernels (emulated M5)', () => {
  let be: MetalBackend;
  const worst: string[] = [];
  beforeAll(async () => {
    be = await MetalBackend.create({ chip: 'M5', asan: !!process.env.FA_ASAN });
  });
  afterAll(() => {
    be?.dispose();
    console.log(`[fa bwd metal4] worst err/bound: ${worst.join(', ')}`);
  });

  const run = async (dtype: FloatDType, p: AttnProblem) => {
    const c = prepareCase('flash_attention_backward', dtype, `${dtype} ${JSON.stringify(p)}`, bwdCase(p), 1);
    be.trace = [];
    const { rec } = await runCaseOn(be, 'metal4', c);
    expect(rec.error, c.id).toBeUndefined();
    expect(rec.pass, `${c.id}: ${rec.detail}`).toBe(true);
    const d = p.d, dv = p.dv ?? p.d;
    expect(be.trace.map((t) => t.fn), c.id).toEqual([
      `fa_bwd_prep_${dtype}`,
      `fa_bwd_dq_mpp_${dtype}_d${d}`,
      `fa_bwd_dk_mpp_${dtype}_d${d}`,
      `fa_bwd_dv_mpp_${dtype}_d${dv}`,
      ...(p.sinks ? ['fa_bwd_dsink'] : []),
    ]);
    be.trace = undefined;
    return rec.worstRatio;
  };

  it.each(['f32', 'f16', 'bf16'] as const)('%s', async (dtype) => {
    let w = 0;
    for (const p of [...PROBLEMS, ...(dtype === 'f16' ? F16_ONLY : [])]) w = Math.max(w, await run(dtype, p));
    worst.push(`${dtype} ${w.toFixed(3)}`);
  });

  it('refuses head dims it cannot take (TierUnavailableError), which the router sends to metal3', async () => {
    for (const [dtype, d, dv] of [['f32', 80, 80], ['f16', 40, 32], ['bf16', 64, 160], ['f32', 160, 64], ['f32', 64, 48]] as const) {
      const q = be.zeros([1, 4, 2, d], dtype);
      const k = be.zeros([1, 4, 2, d], dtype);
      const v = be.zeros([1, 4, 2, dv], dtype);
      const o = be.zeros([1, 4, 2, dv], dtype);
      const dO = be.zeros([1, 4, 2, dv], dtype);
      const lse = be.zeros([1, 2, 4], 'f32');
      const i = { q, k, v, o, dO, lse };
      expect(() => be.run('flash_attention_backward', i, {}, { tier: 'metal4' }), `${dtype} ${d}/${dv}`).toThrow(TierUnavailableError);
      expect(be.route('flash_attention_backward', i)).toBe('metal3');
      for (const t of Object.values(i)) t.dispose();
    }
  });
});

describe('fa4BwdUnsupported (pure)', () => {
  it('D and Dv multiples of 32 up to 128, 256 in f16', () => {
    expect(fa4BwdUnsupported('f32', 64, 64)).toBeUndefined();
    expect(fa4BwdUnsupported('bf16', 128, 32)).toBeUndefined();
    expect(fa4BwdUnsupported('f16', 256, 256)).toBeUndefined();
    expect(fa4BwdUnsupported('f32', 80, 80)).toMatch(/D a multiple of 32 up to 128 for f32, got D=80/);
    expect(fa4BwdUnsupported('bf16', 256, 128)).toMatch(/D a multiple of 32 up to 128 for bf16/);
    expect(fa4BwdUnsupported('f32', 128, 160)).toMatch(/Dv a multiple of 32 up to 128 for f32, got Dv=160/);
    expect(fa4BwdUnsupported('f16', 64, 288)).toMatch(/Dv a multiple of 32 up to 256 for f16/);
    expect(fa4BwdUnsupported('f16', 64, 40)).toMatch(/Dv=40/);
  });
});

describe.skipIf(!HOST)('flash_attention_backward routing', () => {
  const inputs = (be: { zeros: MetalBackend['zeros'] }, d: number, dv = d, dtype: FloatDType = 'f16') => ({
    q: be.zeros([1, 3, 2, d], dtype),
    k: be.zeros([1, 5, 2, d], dtype),
    v: be.zeros([1, 5, 2, dv], dtype),
    o: be.zeros([1, 3, 2, dv], dtype),
    dO: be.zeros([1, 3, 2, dv], dtype),
    lse: be.zeros([1, 2, 3], 'f32'),
  });
  it('M5: metal4 where the kernels take the head dims; per-call and global overrides', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    try {
      expect(be.capabilities().ops.flash_attention_backward.map((t) => t.tier)).toEqual(['metal4', 'metal3']);
      expect(be.route('flash_attention_backward', inputs(be, 64))).toBe('metal4');
      expect(be.route('flash_attention_backward', inputs(be, 256, 256))).toBe('metal4');
      expect(be.route('flash_attention_backward', inputs(be, 256, 256, 'f32'))).toBe('metal3');
      expect(be.route('flash_attention_backward', inputs(be, 80))).toBe('metal3');
      expect(be.route('flash_attention_backward', inputs(be, 64), { tier: 'metal3' })).toBe('metal3');
      be.setTier('flash_attention_backward', 'metal3');
      expect(be.route('flash_attention_backward', inputs(be, 64))).toBe('metal3');
      be.setTier('flash_attention_backward', undefined);
      expect(be.route('flash_attention_backward', inputs(be, 64))).toBe('metal4');
    } finally {
      be.dispose();
    }
  });
  it('M4 Max: metal3 only; a forced metal4 names NAX', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M4 Max' } });
    try {
      const i = inputs(be, 64);
      expect(be.route('flash_attention_backward', i)).toBe('metal3');
      expect(() => be.route('flash_attention_backward', i, { tier: 'metal4' })).toThrow(/NAX/);
    } finally {
      be.dispose();
    }
  });
});
