import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { embeddingBackwardLauncher, embeddingLauncher } from '../../src/backend/webgpu/launchers/embedding.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { randomInts, uniform } from '../../src/ops/random.js';
import type { HostTensor } from '../../src/ops/types.js';
import { limitedContext } from './limits.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();
const cpu = new CpuBackend();

const smallLimits = (bytes: number) => limitedContext(gpu(), { maxStorageBufferBindingSize: bytes });

const up = (b: CpuBackend | WebGpuBackend, h: HostTensor) => b.tensor(h.data, h.shape, h.dtype);

describe('embedding on webgpu with tables larger than one binding', () => {
  it.each(['f32', 'f16', 'bf16'] as const)('%s: vocabulary windows and token chunks give the reference rows', async (dtype) => {
    // 4 KiB bindings: a 300 × 24 f32 table (28 KiB) is split into ~8 windows of rows.
    const w = uniform(dtype, [300, 24], 3);
    const ids = randomInts('i32', [97], 4, -5, 305);
    const want = cpu.embedding({ weight: up(cpu, w), ids: up(cpu, ids) });
    const ctx = smallLimits(4096);
    const got = embeddingLauncher.launch(ctx, 'portable', { weight: up(gpu(), w), ids: up(gpu(), ids) }, {}, { y: { dtype, shape: [97, 24] }, invalid: { dtype: 'i32', shape: [1] } });
    expect(Array.from(await gpu().read(got.y))).toEqual(Array.from(await cpu.read(want.y)));
    expect(Array.from(await gpu().read(got.invalid))).toEqual(Array.from(await cpu.read(want.invalid)));
  });

  it.each([
    ['one binding', 1 << 20, ['embedding/embedding.wgsl'], [true]],
    // 32 KiB: three windows of the 96 KiB table, the 700 tokens' 22 KiB of y in one chunk: the first window counts.
    ['vocabulary windows', 32768, undefined, [true, false, false]],
    // 8 KiB: the tokens in three chunks, so no dispatch sees every id: embedding_count after.
    ['token chunks', 8192, undefined, [false]],
  ] as const)('the invalid-id count rides in the first dispatch that sees every id (%s), else embedding_count', async (_name, bytes, shaders, counts) => {
    const w = uniform('f32', [3000, 8], 3);
    // 700 ids, more than a workgroup's 256 invocations, about 40% of them outside [0, 3000).
    const ids = randomInts('i32', [700], 8, -1000, 4000);
    const want = cpu.embedding({ weight: up(cpu, w), ids: up(cpu, ids) });
    gpu().rt.trace = [];
    const got = embeddingLauncher.launch(smallLimits(bytes), 'portable', { weight: up(gpu(), w), ids: up(gpu(), ids) }, {}, { y: { dtype: 'f32', shape: [700, 8] }, invalid: { dtype: 'i32', shape: [1] } });
    const trace = gpu().rt.trace!;
    gpu().rt.trace = undefined;
    if (shaders) expect(trace.map((d) => d.pipeline.shader)).toEqual(shaders);
    const gathers = trace.filter((d) => d.pipeline.shader === 'embedding/embedding.wgsl');
    expect(gathers.slice(0, counts.length).map((d) => d.pipeline.defines?.COUNT)).toEqual(counts);
    expect(gathers.filter((d) => d.pipeline.defines?.COUNT)).toHaveLength(counts[0] ? 1 : 0);
    expect(trace.filter((d) => d.pipeline.shader === 'embedding/embedding_count.wgsl')).toHaveLength(counts[0] ? 0 : 1);
    const n = (await cpu.read(want.invalid))[0];
    expect(n).toBeGreaterThan(200);
    expect(Array.from(await gpu().read(got.invalid))).toEqual([n]);
    expect(Array.from(await gpu().read(got.y))).toEqual(Array.from(await cpu.read(want.y)));
  });

  it('dW windows of rows, with dwIn', async () => {
    const dy = uniform('f16', [200, 12], 5);
    const ids = randomInts('i32', [200], 6, 0, 40);
    const dwIn = uniform('f32', [40, 12], 7);
    const want = cpu.embeddingBackward({ dy: up(cpu, dy), ids: up(cpu, ids), dwIn: up(cpu, dwIn) }, { paddingIdx: 3 });
    const got = embeddingBackwardLauncher.launch(smallLimits(8192), 'portable', { dy: up(gpu(), dy), ids: up(gpu(), ids), dwIn: up(gpu(), dwIn) }, { paddingIdx: 3 }, { dw: { dtype: 'f32', shape: [40, 12] } });
    const g = (await gpu().read(got.dw)) as Float32Array;
    const c = (await cpu.read(want.dw)) as Float32Array;
    // Token-order f32 sums: the cpu's float64 sum rounded once may differ in the last bits.
    for (let k = 0; k < c.length; k++) expect(Math.abs(g[k] - c[k])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(c[k])));
    expect(Array.from(g.subarray(3 * 12, 4 * 12))).toEqual(Array.from(new Float32Array(dwIn.data.buffer, 3 * 12 * 4, 12)));
  });
});

describe('embedding_backward is deterministic', () => {
  it('the same bits on every run (many repeated ids, chains in token order)', async () => {
    const dy = uniform('f32', [2048, 40], 9, -1e3, 1e3);
    const ids = randomInts('i32', [2048], 10, 0, 3);
    const runs: number[][] = [];
    for (let k = 0; k < 3; k++) {
      const { dw } = gpu().embeddingBackward({ dy: up(gpu(), dy), ids: up(gpu(), ids) }, { numEmbeddings: 5 });
      runs.push(Array.from(await gpu().read(dw)));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe('embedding input checks', () => {
  const w = () => cpu.tensor(new Float32Array(12), [4, 3]);
  it.each([
    ['float ids', () => cpu.embedding({ weight: w(), ids: cpu.tensor(new Float32Array(2), [2]) }), DTypeError, /^\[embedding\] ids: expected dtype i32, got f32\[2\]$/],
    ['rank-1 weight', () => cpu.embedding({ weight: cpu.tensor(new Float32Array(4), [4]), ids: cpu.tensor(new Int32Array(2), [2]) }), ShapeError, /^\[embedding\] weight: expected \[V, H\], got f32\[4\]$/],
    ['paddingIdx out of range', () => cpu.embedding({ weight: w(), ids: cpu.tensor(new Int32Array(2), [2]) }, { paddingIdx: 4 }), OptionsError, /^\[embedding\] paddingIdx: expected an integer in \[-4, 4\)/],
    ['no numEmbeddings', () => cpu.embeddingBackward({ dy: cpu.tensor(new Float32Array(6), [2, 3]), ids: cpu.tensor(new Int32Array(2), [2]) }), OptionsError, /^\[embedding_backward\] numEmbeddings: required when dwIn is not given/],
    ['ids of another shape', () => cpu.embeddingBackward({ dy: cpu.tensor(new Float32Array(6), [2, 3]), ids: cpu.tensor(new Int32Array(3), [3]) }, { numEmbeddings: 4 }), ShapeError, /^\[embedding_backward\] ids: expected i32\[2\] \(the leading dims of dy f32\[2,3\]\), got i32\[3\]$/],
    ['dwIn of another width', () => cpu.embeddingBackward({ dy: cpu.tensor(new Float32Array(6), [2, 3]), ids: cpu.tensor(new Int32Array(2), [2]), dwIn: cpu.tensor(new Float32Array(8), [4, 2]) }), ShapeError, /^\[embedding_backward\] dwIn: expected f32\[4,3\], got f32\[4,2\]$/],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});
