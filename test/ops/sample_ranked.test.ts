import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { sampleVariant } from '../../src/backend/webgpu/launchers/sample.js';
import { f32ArrayTo16 } from '../../src/dtype.js';
import { sampleInputs } from '../../src/ops/sample/cases.js';
import type { HostTensor } from '../../src/ops/types.js';
import { drawTop20, webgpuWithSampleVariant } from './sample_variant_suite.js';

// The webgpu sampler's 'ranked' path (PMETAL_SAMPLE_VARIANT=ranked, launchers/sample.ts) at the
// edges of each branch: sample_chunk ranks every key above its bound when ≤ 256 of them (else
// refines to the exact first c by radix select, then ranks); sample_select bounds the row's
// c-th key by the c-th largest list head (J = min(256 / chunks, c) heads a chunk), keeps the
// list prefixes above it — a binary search past the heads for a chunk holding more than J
// of them — and merges by radix select when over 256 survive or the row has over 256 chunks.
// Every row must draw the reference's token and report its top-20, on both webgpu tiers.

const cpu = new CpuBackend();
const webgpu = webgpuWithSampleVariant('ranked');
const draw = drawTop20;

// How a row's logits are rewritten (uniform ±8 otherwise): `cluster` puts the row's top 120
// tokens (distinct values) in one chunk — its list's every head survives, the rest of its
// prefix is found past them; `split` puts 30 each in two chunks; `top100` / `top400` tie 100 /
// 400 tokens at the top across chunks (≤ 256 survive / the radix merge); `plateau` ties 300
// at the top of the second chunk (over 256 above its bound: it refines by radix select);
// `flat` ties every token (every chunk refines, the row merges by radix select); `steps`
// rounds to 1/4. The top-20 is the whole candidate set of a row with k ≤ 20 (c = 20), and
// with top-p 1 every kept token weighs in the draw: a token lost or misplaced by a branch shows.
type Shape = 'plain' | 'cluster' | 'split' | 'top100' | 'top400' | 'plateau' | 'flat' | 'steps';
// Per row: top-k, top-p, shape.
const ROWS: [number, number, Shape][] = [
  [50, 0.9, 'plain'], // the row
  [1, 1, 'plain'],
  [5, 0.5, 'plain'],
  [200, 0.99, 'plain'], // k above the last chunk's 77 tokens
  [256, 0.9, 'plain'], // KC: fewer heads than k on 32 chunks (no bound), the radix merge
  [256, 1, 'plain'],
  [50, 0.9, 'cluster'],
  [100, 1, 'cluster'], // the whole list of one chunk survives
  [50, 0.9, 'split'],
  [50, 0.9, 'top100'],
  [20, 1, 'top400'],
  [50, 1, 'top400'],
  [20, 1, 'plateau'],
  [20, 1, 'flat'],
  [50, 0.9, 'flat'],
  [20, 0.9, 'steps'],
];

function inputs(v: number, dtype: 'f16' | 'f32', seed: number): Record<string, HostTensor> {
  const b = ROWS.length;
  const base = sampleInputs({ b, v, offsets: true }, 'f32', seed);
  const x = base.logits.data as Float32Array;
  ROWS.forEach(([, , shape], r) => {
    const row = x.subarray(r * v, (r + 1) * v);
    if (shape === 'flat') row.fill(0.5);
    if (shape === 'steps') for (let j = 0; j < v; j++) row[j] = Math.round(row[j] * 2) / 4;
    if (shape === 'cluster') for (let t = 0; t < 120; t++) row[4096 + 3 * t] = 9 + t / 64;
    if (shape === 'plateau') row.fill(9, 4096, 4096 + 300);
    if (shape === 'split') for (let t = 0; t < 60; t++) row[(t < 30 ? 5 : 4096 * 2 + 5) + 7 * t] = 9 + t / 64;
    if (shape === 'top100' || shape === 'top400') {
      const n = shape === 'top100' ? 100 : 400;
      for (let t = 0; t < n; t++) row[(t * 7919) % v] = 9;
    }
  });
  return {
    ...base,
    logits: { dtype, shape: [b, v], data: dtype === 'f32' ? x : f32ArrayTo16(dtype, x) },
    temperature: { dtype: 'f32', shape: [b], data: new Float32Array(b).fill(0.7) },
    topK: { dtype: 'i32', shape: [b], data: Int32Array.from(ROWS.map((r) => r[0])) },
    topP: { dtype: 'f32', shape: [b], data: Float32Array.from(ROWS.map((r) => r[1])) },
  };
}

describe("sample, webgpu 'ranked' path", () => {
  it('is what PMETAL_SAMPLE_VARIANT=ranked selects', () => {
    expect(sampleVariant()).toBe('ranked');
  });
  // 10 chunks (J = 25 heads each, the last chunk 77 tokens) and 32 (J = 8, the V).
  const cases: [number, 'f16' | 'f32'][] = [
    [9 * 4096 + 77, 'f16'],
    [9 * 4096 + 77, 'f32'],
    [128256, 'f16'],
  ];
  for (const tier of ['subgroups', 'portable']) {
    it.each(cases)(`V %i, %s, ${tier}: every row draws the reference token and top-20`, async (v, dtype) => {
      const host = inputs(v, dtype, 7);
      const want = await draw(cpu, host);
      webgpu().setTier('sample', tier);
      try {
        const got = await draw(webgpu(), host);
        expect(got.tokens).toEqual(want.tokens);
        expect(got.topIds).toEqual(want.topIds);
      } finally {
        webgpu().setTier('sample', undefined);
      }
    }, 600_000);
  }
  // Bench-only stages of the chunk pass (wrong tokens by design): the launch validates (every
  // binding kept), the chunk pipeline carries the stage, and the call completes with a token a
  // row (whatever the select pass makes of lists the chunk pass did not write).
  it.each([1, 2])('PMETAL_BENCH_SAMPLE_STAGE=%i: the chunk pass stops early, the call still completes', async (stage) => {
    process.env.PMETAL_BENCH_SAMPLE_STAGE = String(stage);
    const v = 3 * 4096 + 77;
    try {
      webgpu().rt.trace = [];
      const got = await draw(webgpu(), inputs(v, 'f16', 5));
      const chunk = webgpu().rt.trace!.filter((d) => d.pipeline.shader === 'sample/sample_chunk.wgsl');
      expect(chunk.map((d) => d.pipeline.defines.STAGE)).toEqual([stage]);
      expect(got.tokens.length).toBe(ROWS.length);
    } finally {
      webgpu().rt.trace = undefined;
      delete process.env.PMETAL_BENCH_SAMPLE_STAGE;
    }
  }, 600_000);
  it('over 256 chunks a row (no heads bound): the radix merge of the ranked lists', async () => {
    const v = 257 * 4096 + 3;
    const host = sampleInputs({ b: 2, v, offsets: true, temperature: true }, 'bf16', 3);
    host.topK = { dtype: 'i32', shape: [2], data: Int32Array.from([50, 7]) };
    host.topP = { dtype: 'f32', shape: [2], data: Float32Array.from([0.9, 1]) };
    const want = await draw(cpu, host);
    const got = await draw(webgpu(), host);
    expect(got.tokens).toEqual(want.tokens);
    expect(got.topIds).toEqual(want.topIds);
  }, 600_000);
});
