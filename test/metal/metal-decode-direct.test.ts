// decode_attention's Metal 3 plans on the MSL host runtime, against the float64 reference and
// the decode bound: a plan of one split (capacity ≤ 256 keys) is one dispatch, decode_direct,
// which finishes the rows itself as decode_reduce finishes one split; more keys take
// decode_split + decode_reduce. The problems are the Metal 4 test's (decode_problems.ts:
// contiguous and paged caches, GQA/MQA, rows that see nothing, sinks, window, softcap, an
// empty sequence, invalid lengths and a bad block (NaN), D ≠ Dv), each dispatch list checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { prepareCase, runCaseOn } from '../../conformance/runner.js';
import { decodeCase, type DecodeProblem } from '../../src/ops/decode_attention/cases.js';
import { splitPlan } from '../../src/ops/decode_attention/dims.js';
import { decodeMetalTiles } from '../../src/backend/metal/launchers/decode_attention.js';
import type { FloatDType } from '../../src/dtype.js';
import { F16_ONLY, PROBLEMS } from './decode_problems.js';

const HOST = process.platform !== 'darwin';

describe.skipIf(!HOST)('decode_attention metal3: one dispatch for one split', () => {
  let be: MetalBackend;
  beforeAll(async () => {
    be = await MetalBackend.create({ chip: 'M3' });
  });
  afterAll(() => be?.dispose());

  /** The kernels a problem's plan launches: decode_direct alone, or the split kernel and the reduce. */
  const expected = (dtype: FloatDType, p: DecodeProblem) => {
    const d = p.d;
    const dv = p.dv ?? p.d;
    const capacity = p.paged ? p.paged.blockSize * p.paged.maxBlocks : p.smax!;
    const cpw = Math.max(d, dv) <= 64 ? 1 : Math.max(d, dv) <= 128 ? 2 : 4;
    const { splits } = splitPlan(capacity, decodeMetalTiles(d, dv).bk);
    return splits === 1 ? [`decode_direct_${dtype}_c${cpw}`] : [`decode_split_${dtype}_c${cpw}`, `decode_reduce_${dtype}`];
  };

  it.each(['f32', 'f16', 'bf16'] as const)('%s: within the bound, one dispatch wherever the plan has one split', async (dtype) => {
    let direct = 0;
    const problems = [...PROBLEMS, ...(dtype === 'f16' ? F16_ONLY : [])];
    for (const p of problems) {
      const c = prepareCase('decode_attention', dtype, `${dtype} ${JSON.stringify(p)}`, decodeCase(p), 1);
      be.trace = [];
      const { rec } = await runCaseOn(be, 'metal3', c);
      expect(rec.error, c.id).toBeUndefined();
      expect(rec.pass, `${c.id}: ${rec.detail}`).toBe(true);
      const want = expected(dtype, p);
      expect(be.trace.map((t) => t.fn), c.id).toEqual(want);
      be.trace = undefined;
      if (want.length === 1) direct++;
    }
    // Both plans ran: most problems fit one split, two of them (320 and 640 keys) do not.
    expect(direct).toBeGreaterThan(0);
    expect(direct).toBeLessThan(problems.length);
  });
});
