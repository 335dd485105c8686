// `pmetal bench --profile`'s per-dispatch table (bench/harness.ts dispatchTable): each record's
// dispatches in order with their share of the summed time; records without a profile print nothing.
import { describe, expect, it } from 'vitest';
import { dispatchTable, type BenchRecord } from '../../bench/harness.js';

const rec = (over: Partial<BenchRecord>): BenchRecord => ({ op: 'fused_lora_forward', backend: 'webgpu', tier: 'subgroup-matrix', dtype: 'f16', shape: 'T=4', ms: 0.5, minMs: 0.5, maxMs: 0.5, runs: 1, timing: 'gpu-timestamps', tflops: 1, gbps: 1, ...over });

describe('bench --profile: the dispatch table', () => {
  it('lists each dispatch in order with its GPU ms and share of the sum', () => {
    const out = dispatchTable({ device: {}, records: [rec({ dispatches: [{ kernel: 'gemm/gemm_sgmat_vec', ms: 0.3 }, { kernel: 'lora/lora_elementwise', ms: 0.1 }, { kernel: 'gemm/gemm_sgmat_vec', ms: 0.6 }] })] });
    const lines = out.split('\n');
    expect(lines[0]).toBe('fused_lora_forward subgroup-matrix f16 T=4: 3 dispatches, 1.0000 ms summed (median batched 0.5000)');
    const rows = lines.filter((l) => /^\d /.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['0', 'gemm/gemm_sgmat_vec', '0.3000', '30.0%'],
      ['1', 'lora/lora_elementwise', '0.1000', '10.0%'],
      ['2', 'gemm/gemm_sgmat_vec', '0.6000', '60.0%'],
    ]);
  });
  it('prints nothing for records without dispatches (no timestamps, or an error)', () => {
    expect(dispatchTable({ device: {}, records: [rec({}), rec({ error: 'x', dispatches: [] })] })).toBe('');
  });
});
