import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { METAL_LAUNCHERS } from '../../src/backend/metal/launchers/index.js';
import { OP_NAMES, getSpec, type OpName } from '../../src/ops/registry.js';
import { runConformance, type ConformanceRecord } from '../../conformance/runner.js';
import { checkMslParams, expandIncludes, structsOf } from '../metal/msl-params.js';
import { MSL } from '../../src/generated/kernels.js';

// The quick conformance subset on the metal backend through the MSL host runtime, with the
// emulated M5 (so both tiers exist): every op in METAL_LAUNCHERS × every tier × every dtype,
// against the float64 reference and the cpu backend, one test per op so a failure names it.
// Then an AddressSanitizer pass: every MSL library the quick run used, compiled with asan
// and run once on one small case per op and tier (every dtype).
// (On a Mac the real chip is used: emulation and ASan are the host runtime's.)
const HOST = process.platform !== 'darwin';
let metal: MetalBackend;
const cpu = new CpuBackend();
const worst: string[] = [];
beforeAll(async () => {
  metal = await MetalBackend.create(HOST ? { chip: 'M5' } : {});
  metal.trace = [];
});
afterAll(() => {
  metal?.dispose();
  if (worst.length) console.log(`[metal conformance] worst err/bound per op/tier/dtype: ${worst.join(', ')}`);
});

const summarize = (op: string, recs: ConformanceRecord[]) => {
  const by = new Map<string, number>();
  for (const r of recs) if (r.backend === 'metal' && Number.isFinite(r.worstRatio)) by.set(`${r.tier}/${r.dtype}`, Math.max(by.get(`${r.tier}/${r.dtype}`) ?? 0, r.worstRatio));
  for (const [k, v] of by) worst.push(`${op} ${k} ${v.toFixed(3)}`);
};

describe('metal conformance (quick, emulated M5)', () => {
  it.each(OP_NAMES)('%s', async (op) => {
    if (!metal.supports(op)) return expect(metal.capabilities().ops[op]).toBeUndefined();
    const res = await runConformance({ backends: [cpu, metal], ops: [op], quick: true });
    const bad = res.records.filter((r) => !r.pass && !r.skipped).map((r) => `${r.case} ${r.backend}/${r.tier}: ${r.error ?? r.detail ?? ''}`);
    expect(bad).toEqual([]);
    const caps = metal.capabilities().ops[op];
    const tiers = new Set(res.records.filter((r) => r.backend === 'metal').map((r) => r.tier));
    expect([...tiers].sort()).toEqual(caps.map((t) => t.tier).sort());
    for (const t of caps) {
      const dtypes = new Set(res.records.filter((r) => r.backend === 'metal' && r.tier === t.tier).map((r) => r.dtype));
      expect([...dtypes].sort(), `${op}/${t.tier}`).toEqual([...t.dtypes].sort());
    }
    summarize(op, res.records);
  });
});

describe('MSL Params structs match the launchers\' layouts (src/backend/params.ts)', () => {
  it('every Params block the quick run bound, and every Params struct under msl/', () => {
    const trace = metal.trace ?? [];
    metal.trace = undefined;
    expect(trace.length).toBeGreaterThan(10);
    const { checked, problems } = checkMslParams(trace);
    expect(problems).toEqual([]);
    // Every Params struct of a kernel library is one the run compared (none left unchecked).
    const all = new Set<string>();
    for (const lib of Object.keys(MSL)) {
      if (!lib.endsWith('.metal') || lib.startsWith('test/')) continue;
      for (const name of structsOf(expandIncludes(lib)).keys()) if (name.endsWith('Params')) all.add(`${lib} ${name}`);
    }
    expect([...all].filter((k) => !checked.has(k)).sort()).toEqual([]);
  });
});

/** The quick cases of `op`, smallest first (cases of more than 64 input elements before trivial ones). */
function smallCases(op: OpName): string[] {
  const spec = getSpec(op);
  const dt = spec.dtypes[0];
  const sized = spec.cases
    .filter((c) => c.quick)
    .map((c) => ({ c, size: Object.values(c.make(dt, 1)).reduce((s, h) => s + h.data.length, 0) }));
  sized.sort((a, b) => Number(a.size <= 64) - Number(b.size <= 64) || a.size - b.size);
  return sized.map((s) => `:${s.c.label}:`);
}

describe.skipIf(!HOST)('metal under AddressSanitizer (one small case per op and tier)', () => {
  let asan: MetalBackend;
  beforeAll(async () => {
    asan = await MetalBackend.create({ chip: 'M5', asan: true });
  });
  afterAll(() => asan?.dispose());

  it.each(OP_NAMES.filter((op) => METAL_LAUNCHERS[op]))('%s', async (op) => {
    // The smallest case that every tier runs (a tier may not apply to a case, e.g. metal4
    // gemm needs K % 32 == 0): try cases smallest first until each tier has run once.
    const want = new Set(asan.capabilities().ops[op].map((t) => t.tier));
    const ran = new Set<string>();
    for (const filter of smallCases(op)) {
      const res = await runConformance({ backends: [cpu, asan], ops: [op], quick: true, filter });
      const bad = res.records.filter((r) => !r.pass && !r.skipped).map((r) => `${r.case} ${r.backend}/${r.tier}: ${r.error ?? r.detail ?? ''}`);
      expect(bad).toEqual([]);
      for (const r of res.records) if (r.backend === 'metal' && !r.skipped) ran.add(r.tier);
      if ([...want].every((t) => ran.has(t))) break;
    }
    expect([...ran].sort()).toEqual([...want].sort());
  });

  it('covered every MSL library the quick run used', () => {
    const used = metal.librariesUsed();
    expect(used.length).toBeGreaterThan(0);
    expect(asan.librariesUsed()).toEqual(expect.arrayContaining(used));
  });
});
