import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/index.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { DisposedError, DTypeError, ShapeError } from '../../src/errors.js';

// Step graphs (backend/webgpu/graph.ts): a captured step replays its commands on the same
// buffers, with host data written into input tensors between replays.
let b: WebGpuBackend;
beforeAll(async () => {
  b = (await createBackend('webgpu')) as WebGpuBackend;
});
afterAll(() => b?.dispose());

const f32 = (xs: number[]) => new Float32Array(xs);

describe('webgpu step graphs', () => {
  it('replays the captured ops on new input values, without planning or launching any op again', async () => {
    const x = b.tensor(f32([1, 2, 3, 4]), [1, 4], 'f32');
    const w = b.tensor(f32([1, 1, 1, 1]), [4], 'f32');
    const { result: y, graph } = b.captureGraph(() => {
      const r = b.rmsNorm({ x, weight: w }, { eps: 1e-6 });
      r.rstd.dispose();
      // An intermediate disposed during the capture: its buffer stays the graph's.
      const s = b.swiglu({ gate: r.y, up: r.y });
      r.y.dispose();
      return s.y;
    });
    const expected = (v: number[]) => {
      const rms = Math.sqrt(v.reduce((a, t) => a + t * t, 0) / v.length + 1e-6);
      return v.map((t) => {
        const n = t / rms;
        return (n / (1 + Math.exp(-n))) * n;
      });
    };
    const first = Array.from(await b.read(y) as Float32Array);
    expected([1, 2, 3, 4]).forEach((e, i) => expect(first[i]).toBeCloseTo(e, 5));
    const tapes = b.tapeStats.replayed + b.tapeStats.recorded;
    const d0 = b.rt.dispatchCount;
    for (const v of [[4, 3, 2, 1], [-1, 0.5, 2, -3]]) {
      // Pool churn between replays must not reach the graph's buffers.
      const junk = Array.from({ length: 4 }, () => b.tensor(f32([9, 9, 9, 9]), [1, 4], 'f32'));
      graph.write(x, f32(v));
      graph.replay();
      junk.forEach((t) => t.dispose());
      const got = Array.from(await b.read(y) as Float32Array);
      expected(v).forEach((e, i) => expect(got[i]).toBeCloseTo(e, 5));
    }
    expect(b.rt.dispatchCount - d0).toBe(2 * graph.dispatches);
    expect(graph.dispatches).toBe(2);
    expect(b.tapeStats.replayed + b.tapeStats.recorded).toBe(tapes);
    graph.dispose();
    expect(() => graph.replay()).toThrow(DisposedError);
    for (const t of [x, w, y]) t.dispose();
  });

  it('write() checks the host array against the tensor', () => {
    const x = b.tensor(f32([1, 2]), [2], 'f32');
    const { graph } = b.captureGraph(() => b.swiglu({ gate: x, up: x }).y.dispose());
    expect(() => graph.write(x, f32([1, 2, 3]))).toThrow(ShapeError);
    expect(() => graph.write(x, new Int32Array([1, 2]))).toThrow(DTypeError);
    graph.dispose();
    x.dispose();
  });

  it("a graph's buffers are not handed out while it lives, and are pooled again after dispose", () => {
    const x = b.tensor(f32(new Array(64).fill(1)), [64], 'f32');
    let inner: GPUBuffer | undefined;
    const { result, graph } = b.captureGraph(() => {
      const t = b.swiglu({ gate: x, up: x }).y;
      inner = (t.storage('test') as { buffer: GPUBuffer }).buffer;
      const u = b.swiglu({ gate: t, up: t }).y;
      t.dispose();
      return u;
    });
    // The step's output, disposed while the graph lives, keeps its buffer for the graph too.
    const out = (result.storage('test') as { buffer: GPUBuffer }).buffer;
    result.dispose();
    const handed = Array.from({ length: 8 }, () => b.zeros([64], 'f32'));
    const bufs = handed.map((t) => (t.storage('test') as { buffer: GPUBuffer }).buffer);
    expect(bufs.includes(inner!)).toBe(false);
    expect(bufs.includes(out)).toBe(false);
    handed.forEach((t) => t.dispose());
    graph.dispose();
    const after = Array.from({ length: 8 }, () => b.zeros([64], 'f32'));
    expect(after.some((t) => (t.storage('test') as { buffer: GPUBuffer }).buffer === inner)).toBe(true);
    after.forEach((t) => t.dispose());
    x.dispose();
  });

  it('an error inside the capture ends it: the next capture starts cleanly', () => {
    expect(() =>
      b.captureGraph(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const x = b.tensor(f32([1, 2]), [2], 'f32');
    const { result, graph } = b.captureGraph(() => b.swiglu({ gate: x, up: x }).y);
    expect(graph.dispatches).toBe(1);
    graph.dispose();
    result.dispose();
    x.dispose();
  });
});
