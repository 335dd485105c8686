// flash_attention_forward's Metal 4 tier (msl/attention/flash_attention_mpp.metal: Q·Kᵀ and
// P·V on the gemm's MPP tile matmul inside the online softmax) on the MSL host runtime
// (emulated M5), against the float64 reference and the bounds of
// src/ops/flash_attention_forward/bounds.ts: every head dim it takes (D multiples of 32; Dv up
// to 128, 256 in f16), several row blocks and key tiles, GQA/MQA, masks, softcap, sinks,
// fully masked rows, varlen with padding and malformed cu_seqlens (NaN), bshd and bhsd; each
// dispatch checked to be the Metal 4 kernel. Then the routing: metal4 whenever the kernel
// takes the head dims, metal3 otherwise and on chips without NAX.
// FA_ASAN=1 compiles the kernels under AddressSanitizer (every device access checked; slower).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { fa4Unsupported } from '../../src/backend/metal/launchers/flash_attention.js';
import { prepareCase, runCaseOn } from '../../conformance/runner.js';
import { attnCase, type AttnProblem } from '../../src/ops/flash_attention_forward/cases.js';
import { TierUnavailableError } from '../../src/errors.js';
import type { FloatDType } from '../../src/dtype.js';

const HOST = process.platform !== 'darwin';

const PROBLEMS: AttnProblem[] = [
  // 3 row blocks of 32 (rows = Sq·G = 80), 4 key tiles with a partial last one.
  { b: 2, sq: 40, sk: 100, hq: 4, hkv: 2, d: 64 },
  { sq: 40, sk: 100, hq: 8, hkv: 1, d: 128, causal: true }, // MQA, causal
  { sq: 50, sk: 20, hq: 2, hkv: 2, d: 32, causal: true }, // Sq > Sk: fully masked rows (o = 0, lse = −∞)
  { sq: 33, sk: 65, hq: 8, hkv: 8, d: 96, dv: 32, layout: 'bhsd', window: { left: 7, right: 3 } },
  { sq: 17, sk: 90, hq: 4, hkv: 1, d: 64, dv: 128, softcap: 20, range: 4, sinks: true },
  { sq: 1, sk: 77, hq: 8, hkv: 2, d: 32, queryOffset: 40, causal: true }, // a decode-like step
  { sq: 0, sk: 0, seqQ: [3, 0, 37, 1], seqK: [5, 4, 0, 41], padQ: 2, padK: 3, hq: 4, hkv: 2, d: 32, causal: true, sinks: true },
  { cuQ: [0, 5, 3], cuK: [0, 6, 12], sq: 9, sk: 12, hq: 2, hkv: 1, d: 32 }, // malformed: every output NaN
  { sq: 20, sk: 300, hq: 2, hkv: 1, d: 32, range: 8 }, // logits that move the running max (rescales)
];
const F16_ONLY: AttnProblem[] = [
  { sq: 9, sk: 45, hq: 4, hkv: 2, d: 192, dv: 128, causal: true },
  { sq: 35, sk: 40, hq: 2, hkv: 1, d: 256, dv: 256 },
  { sq: 12, sk: 33, hq: 2, hkv: 2, d: 64, dv: 160 },
];

describe.skipIf(!HOST)('flash_attention_forward metal4 kernel (emulated M5)', () => {
  let be: MetalBackend;
  const worst: string[] = [];
  beforeAll(async () => {
    be = await MetalBackend.create({ chip: 'M5', asan: !!process.env.FA_ASAN });
  });
  afterAll(() => {
    be?.dispose();
    console.log(`[fa metal4] worst err/bound: ${worst.join(', ')}`);
  });

  const run = async (dtype: FloatDType, p: AttnProblem) => {
    const c = prepareCase('flash_attention_forward', dtype, `${dtype} ${JSON.stringify(p)}`, attnCase(p), 1);
    be.trace = [];
    const { rec } = await runCaseOn(be, 'metal4', c);
    expect(rec.error, c.id).toBeUndefined();
    expect(rec.pass, `${c.id}: ${rec.detail}`).toBe(true);
    expect(be.trace.map((t) => t.fn), c.id).toEqual([`fa_fwd_mpp_${dtype}_dv${p.dv ?? p.d}`]);
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
      const q = be.zeros([1, 4, 2, d], dtype);
      const k = be.zeros([1, 4, 2, d], dtype);
      const v = be.zeros([1, 4, 2, dv], dtype);
      expect(() => be.run('flash_attention_forward', { q, k, v }, {}, { tier: 'metal4' }), `${dtype} ${d}/${dv}`).toThrow(TierUnavailableError);
      expect(be.route('flash_attention_forward', { q, k, v })).toBe('metal3');
      for (const t of [q, k, v]) t.dispose();
    }
  });
});

describe('fa4Unsupported (pure)', () => {
  it('D a multiple of 32; Dv a multiple of 32 up to 128, 256 in f16', () => {
    expect(fa4Unsupported('f32', 64, 64)).toBeUndefined();
    expect(fa4Unsupported('bf16', 256, 128)).toBeUndefined();
    expect(fa4Unsupported('f16', 256, 256)).toBeUndefined();
    expect(fa4Unsupported('f32', 80, 80)).toMatch(/D % 32 == 0/);
    expect(fa4Unsupported('f32', 128, 160)).toMatch(/up to 128 for f32/);
    expect(fa4Unsupported('bf16', 64, 256)).toMatch(/up to 128 for bf16/);
    expect(fa4Unsupported('f16', 64, 288)).toMatch(/up to 256 for f16/);
    expect(fa4Unsupported('f16', 64, 40)).toMatch(/Dv a multiple of 32/);
  });
});

describe.skipIf(!HOST)('flash_attention_forward routing', () => {
  it('M5: metal4 where the kernel takes the head dims; per-call and global overrides', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    try {
      expect(be.capabilities().ops.flash_attention_forward.map((t) => t.tier)).toEqual(['metal4', 'metal3']);
      const t = (d: number, dv = d, dtype: FloatDType = 'f16') => ({ q: be.zeros([1, 3, 2, d], dtype), k: be.zeros([1, 5, 2, d], dtype), v: be.zeros([1, 5, 2, dv], dtype) });
      expect(be.route('flash_attention_forward', t(64))).toBe('metal4');
      expect(be.route('flash_attention_forward', t(256, 256))).toBe('metal4');
      expect(be.route('flash_attention_forward', t(256, 256, 'f32'))).toBe('metal3');
      expect(be.route('flash_attention_forward', t(80))).toBe('metal3');
      expect(be.route('flash_attention_forward', t(64), { tier: 'metal3' })).toBe('metal3');
      be.setTier('flash_attention_forward', 'metal3');
      expect(be.route('flash_attention_forward', t(64))).toBe('metal3');
      be.setTier('flash_attention_forward', undefined);
      expect(be.route('flash_attention_forward', t(64))).toBe('metal4');
    } finally {
      be.dispose();
    }
  });
  it('M4 Max: metal3 only; a forced metal4 names NAX', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M4 Max' } });
    try {
      const i = { q: be.zeros([1, 3, 2, 64], 'f16'), k: be.zeros([1, 5, 2, 64], 'f16'), v: be.zeros([1, 5, 2, 64], 'f16') };
      expect(be.route('flash_attention_forward', i)).toBe('metal3');
      expect(() => be.route('flash_attention_forward', i, { tier: 'metal4' })).toThrow(/NAX/);
    } finally {
      be.dispose();
    }
  });
});
