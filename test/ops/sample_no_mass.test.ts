import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { f32ArrayTo16 } from '../../src/dtype.js';
import { sampleInputs } from '../../src/ops/sample/cases.js';
import type { HostTensor } from '../../src/ops/types.js';
import { useWebGpu } from '../webgpu_backends.js';
import { drawSample } from './sample_variant_suite.js';

// sample's rowsWithoutTopK: false (the decode loop passes it when every row is greedy or keeps a
// top-k): the webgpu launcher skips sample_mass, and a row that has no top-k after all takes the
// full-vocabulary path instead — the token must not change, only the dispatch count.

const cpu = new CpuBackend();
const webgpu = useWebGpu();
const V = 3 * 4096 + 13;
// Per row: temperature, top-k, top-p, min-p. The last four break the promise.
const ROWS: [number, number, number, number][] = [
  [0.7, 50, 0.9, 0], // the row
  [0, 0, 1, 0], // greedy
  [1, 1, 1, 0],
  [0.7, 256, 0.95, 0.05],
  [0.7, 0, 0.9, 0], // no top-k: top-p alone
  [1, V, 1, 0.1], // top-k ≥ V keeps all: min-p alone
  [0.5, 0, 1, 0], // temperature alone
  [0.7, -3, 0.5, 0],
];

function inputs(): Record<string, HostTensor> {
  const b = ROWS.length;
  const base = sampleInputs({ b, v: V, offsets: true }, 'f32', 11);
  const col = (k: number) => ROWS.map((r) => r[k]);
  return {
    ...base,
    logits: { dtype: 'f16', shape: [b, V], data: f32ArrayTo16('f16', base.logits.data as Float32Array) },
    temperature: { dtype: 'f32', shape: [b], data: Float32Array.from(col(0)) },
    topK: { dtype: 'i32', shape: [b], data: Int32Array.from(col(1)) },
    topP: { dtype: 'f32', shape: [b], data: Float32Array.from(col(2)) },
    minP: { dtype: 'f32', shape: [b], data: Float32Array.from(col(3)) },
  };
}

const draw = (b: CpuBackend | ReturnType<typeof webgpu>, host: Record<string, HostTensor>, rowsWithoutTopK: boolean) => drawSample(b, host, { topLogprobs: 4, rowsWithoutTopK });

describe('sample, rowsWithoutTopK: false', () => {
  it('draws the reference tokens and top-4 whether or not the rows keep the promise', async () => {
    const host = inputs();
    const want = await draw(cpu, host, true);
    const got = await draw(webgpu(), host, false);
    expect(got.tokens).toEqual(want.tokens);
    expect(got.topIds).toEqual(want.topIds);
    // The default path draws the same: the option is a hint.
    expect((await draw(webgpu(), host, true)).tokens).toEqual(want.tokens);
  }, 600_000);

  it('launches two dispatches instead of three', async () => {
    const be = webgpu();
    const host = inputs();
    const count = async (flag: boolean) => {
      const before = be.rt.dispatchCount;
      await draw(be, host, flag);
      return be.rt.dispatchCount - before;
    };
    expect((await count(true)) - (await count(false))).toBe(1);
  }, 600_000);

  it('is validated: a non-boolean names the option', () => {
    const b = webgpu();
    const x = b.tensor(new Float32Array(8), [1, 8], 'f32');
    const seeds = b.tensor(new Uint32Array(2), [1, 2], 'u32');
    expect(() => b.sample({ logits: x, seeds }, { rowsWithoutTopK: 'no' as never })).toThrow(/rowsWithoutTopK/);
    x.dispose();
    seeds.dispose();
  });
});
