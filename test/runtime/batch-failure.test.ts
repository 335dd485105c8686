import { describe, expect, it } from 'vitest';
import { writableBindings } from '../../src/backend/webgpu/dispatch_check.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';
import { GpuValidationError, LimitError } from '../../src/errors.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu } from '../webgpu_backends.js';

/** The rms_norm kernel (5 storage bindings and a uniform), for raw dispatches. */
const RMS_NORM = { shader: 'norm/rms_norm.wgsl', defines: { X_DT: 0, RESIDUAL: false, SUBGROUPS: false, ATOMIC_OUT: false }, overrides: { WG: 64 } };

const gpu = useWebGpu();

const ones = (n: number, v = 1) => new Float32Array(n).fill(v);
async function readError(t: Tensor): Promise<unknown> {
  try {
    return { data: [...(await gpu().read(t))] };
  } catch (e) {
    return e;
  }
}

describe('a command the GPU rejects (webgpu)', () => {
  it('spoils its batch: earlier uploads and outputs throw the typed error on every read, never zeros', async () => {
    const x = gpu().tensor(ones(64, 2), [1, 64]);
    const w = gpu().tensor(ones(64), [64]);
    const { y } = gpu().rmsNorm({ x, weight: w });
    // A bind group with 1 of the kernel's 5 storage entries: not a limit the runtime checks,
    // so Dawn rejects it — and with it the whole command encoder.
    gpu().rt.dispatch({ op: 'broken_op', pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: gpu().rt.createBuffer(256) }], workgroups: [1] });
    for (const t of [x, y, w, x]) {
      const e = await readError(t);
      expect(e).toBeInstanceOf(GpuValidationError);
      expect((e as Error).message).toMatch(/^\[broken_op\] validation error: /);
    }
    // Reported by the reads: sync() does not throw it again.
    await gpu().sync();
    // A spoiled tensor spoils what is computed from it, in a later (healthy) batch.
    const w2 = gpu().tensor(ones(64), [64]);
    const { y: y2 } = gpu().rmsNorm({ x, weight: w2 });
    expect(((await readError(y2)) as Error).message).toMatch(/^\[broken_op\]/);
    // A fresh batch of fresh tensors works.
    const x3 = gpu().tensor(ones(64, 2), [1, 64]);
    const { y: y3 } = gpu().rmsNorm({ x: x3, weight: w2 }, { eps: 1e-30 });
    expect([...(await gpu().read(y3))]).toEqual(new Array(64).fill(1));
    for (const t of [x, w, y, w2, y2, x3, y3]) t.dispose();
  });

  it('a read whose own batch fails throws, though the tensor it reads is intact (and reads fine later)', async () => {
    const x = gpu().tensor(ones(8, 3), [8]);
    await gpu().sync();
    gpu().rt.dispatch({ op: 'broken_op', pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: gpu().rt.createBuffer(256) }], workgroups: [1] });
    expect(await readError(x)).toBeInstanceOf(GpuValidationError);
    expect(await readError(x)).toEqual({ data: new Array(8).fill(3) });
    x.dispose();
  });
});

describe('limits checked before recording (webgpu)', () => {
  const limits = () => gpu().rt.opened.limits;
  const bad: [string, () => Dispatch, typeof LimitError | typeof GpuValidationError, RegExp][] = [
    ['too many workgroups', () => ({ pipeline: RMS_NORM, bindings: [], workgroups: [limits().maxComputeWorkgroupsPerDimension + 1] }), LimitError, /^\[bad_op\] dispatch of \d+×1×1 workgroups: \d+ is over maxComputeWorkgroupsPerDimension \(\d+\)/],
    ['a misaligned offset', () => ({ pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: gpu().rt.createBuffer(1024), offset: 4, size: 16 }], workgroups: [1] }), GpuValidationError, /^\[bad_op\] binding 0: offset 4 is not a multiple of minStorageBufferOffsetAlignment/],
    ['a window past the buffer', () => ({ pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: gpu().rt.createBuffer(1024), offset: 0, size: 4096 }], workgroups: [1] }), GpuValidationError, /^\[bad_op\] binding 0: bytes \[0, 4096\) run past the end/],
    [
      'a binding over maxStorageBufferBindingSize',
      () => ({ pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: gpu().rt.createBuffer(limits().maxStorageBufferBindingSize + 1024) }], workgroups: [1] }),
      LimitError,
      /^\[bad_op\] binding 0: a window of \d+ bytes is over maxStorageBufferBindingSize \(\d+\)/,
    ],
    [
      'a written binding overlapping another',
      () => {
        const buf = gpu().rt.createBuffer(1024);
        return { pipeline: RMS_NORM, bindings: [{ binding: 0, buffer: buf }, { binding: 2, buffer: buf, offset: 256, size: 256 }], workgroups: [1] };
      },
      GpuValidationError,
      /^\[bad_op\] bindings 2 \(written\) and 0 overlap in one buffer/,
    ],
  ];
  it('the kernel source says which bindings a dispatch writes', () => {
    expect([...writableBindings(RMS_NORM)].sort()).toEqual([2, 3]);
    expect([...writableBindings({ ...RMS_NORM, defines: { ...RMS_NORM.defines, RESIDUAL: true } })].sort()).toEqual([2, 3, 5]);
  });
  it.each(bad)('%s: a typed error at the call naming the op; the batch around it survives', async (_, make, cls, msg) => {
    const x = gpu().tensor(ones(64, 2), [1, 64]);
    const before = gpu().rt.dispatchCount;
    const d = make();
    let err: unknown;
    try {
      gpu().rt.dispatch({ ...d, op: 'bad_op' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(msg);
    expect(gpu().rt.dispatchCount).toBe(before);
    expect([...(await gpu().read(x))]).toEqual(new Array(64).fill(2));
    await gpu().sync();
    for (const b of new Set(d.bindings.map((b) => b.buffer))) gpu().rt.releaseBuffer(b);
    x.dispose();
  });

  it('zeros() and tensor() over maxBufferSize throw LimitError at the call, naming the limit', async () => {
    const max = limits().maxBufferSize;
    const n = Math.floor(max / 4) + 1;
    expect(() => gpu().zeros([n], 'f32')).toThrow(LimitError);
    expect(() => gpu().zeros([n], 'f32')).toThrow(new RegExp(`^\\[zeros\\] f32\\[${n}\\] is ${n * 4} bytes, over maxBufferSize \\(${max}\\)`));
    // tensor(): the size is checked before the data is looked at (a fake length stands in for 4 GiB).
    const fake = new Proxy(new Float32Array(4), { get: (t, k) => (k === 'length' ? n : Reflect.get(t, k)) }) as Float32Array;
    expect(() => gpu().tensor(fake, [n], 'f32')).toThrow(/^\[tensor\] f32\[\d+\] is \d+ bytes, over maxBufferSize/);
    // Nothing reached the GPU: the next read is unaffected.
    const x = gpu().tensor(ones(4), [4]);
    expect([...(await gpu().read(x))]).toEqual([1, 1, 1, 1]);
    x.dispose();
  });
});
