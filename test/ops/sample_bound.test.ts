import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { sampleVariant } from '../../src/backend/webgpu/launchers/sample.js';
import { f32ArrayTo16 } from '../../src/dtype.js';
import { sampleInputs } from '../../src/ops/sample/cases.js';
import type { HostTensor } from '../../src/ops/types.js';
import { drawTop20, webgpuWithSampleVariant } from './sample_variant_suite.js';

// The webgpu sampler's 'bound' path (PMETAL_SAMPLE_VARIANT=bound) at its edges (launchers/sample.ts): sample_chunk keeps
// every key above a bound when ≤ 256 of them (else refines to the exact first c), sample_select
// bounds the row's c-th key by the c-th largest group maximum (512-token groups) and ranks the
// candidates above it when ≤ 256 survive (else merges by radix select). Every row must draw
// the reference's token and report its top-20, whichever branch it takes.

const cpu = new CpuBackend();
const webgpu = webgpuWithSampleVariant('bound');
const draw = drawTop20;

// 10 chunks (the last 77 tokens, fewer than most k below): 80 group maxima.
const V = 9 * 4096 + 77;
// Per row: top-k, top-p, and how its logits are rewritten (uniform ±8 in f16 otherwise: like the
// bench, dozens of tokens share each of the top f16 values, so the bound falls inside a tie).
type Shape = 'plain' | 'top100' | 'top400' | 'flat' | 'steps';
const ROWS: [number, number, Shape][] = [
  [50, 0.9, 'plain'], // the row: bound path on both sides
  [1, 1, 'plain'],
  [5, 0.5, 'plain'],
  [80, 0.9, 'plain'], // c = the number of groups
  [81, 1, 'plain'], // more than the groups: no bound (L = 1), every candidate ranked or merged
  [200, 0.99, 'plain'], // k above the last chunk's 77 tokens
  [256, 0.9, 'plain'], // KC
  [50, 0.9, 'top100'], // 100 tokens tie at the top, across chunks: L is their key, 100 survive
  [50, 0.9, 'top400'], // 400 tie at the top: over 256 survive, the radix merge takes the row
  [50, 0.9, 'flat'], // every logit equal: each chunk refines to its exact first c
  [20, 0.9, 'steps'], // logits in steps of 1/2 (heavy ties in every chunk's bound bin)
];

function inputs(dtype: 'f16' | 'f32'): Record<string, HostTensor> {
  const b = ROWS.length;
  const base = sampleInputs({ b, v: V, offsets: true }, 'f32', 7);
  const x = base.logits.data as Float32Array;
  ROWS.forEach(([, , shape], r) => {
    const row = x.subarray(r * V, (r + 1) * V);
    if (shape === 'flat') row.fill(0.5);
    if (shape === 'steps') for (let j = 0; j < V; j++) row[j] = Math.round(row[j] * 2) / 4;
    if (shape === 'top100' || shape === 'top400') {
      const n = shape === 'top100' ? 100 : 400;
      for (let t = 0; t < n; t++) row[(t * 7919) % V] = 9;
    }
  });
  return {
    ...base,
    logits: { dtype, shape: [b, V], data: dtype === 'f32' ? x : f32ArrayTo16(dtype, x) },
    temperature: { dtype: 'f32', shape: [b], data: new Float32Array(b).fill(0.7) },
    topK: { dtype: 'i32', shape: [b], data: Int32Array.from(ROWS.map((r) => r[0])) },
    topP: { dtype: 'f32', shape: [b], data: Float32Array.from(ROWS.map((r) => r[1])) },
  };
}

describe("sample, webgpu 'bound' path", () => {
  it('is what PMETAL_SAMPLE_VARIANT=bound selects', () => {
    expect(sampleVariant()).toBe('bound');
  });
  it.each(['f16', 'f32'] as const)('%s: every row draws the reference token and top-20', async (dtype) => {
    const host = inputs(dtype);
    const want = await draw(cpu, host);
    const got = await draw(webgpu(), host);
    expect(got.tokens).toEqual(want.tokens);
    expect(got.topIds).toEqual(want.topIds);
  }, 600_000);
});
