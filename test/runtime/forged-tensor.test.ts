// Issue 16 item 1: "Nothing a caller can construct may reach a kernel without its storage size
// matching its shape and dtype." The Tensor constructor is public; a tensor built around
// another tensor's smaller storage, around an object the backend never made, or around storage
// under another dtype is a typed ShapeError at the op (and at read()), on every backend — the
// webgpu backend used to bind it (robust access: silently wrong values past the end) and the
// cpu backend to compute NaN from it. Disposing such a tensor frees nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { ShapeError } from '../../src/errors.js';
import { Tensor, type TensorOwner } from '../../src/tensor.js';

let backends: Record<string, KernelBackend & TensorOwner & { id: string }>;
beforeAll(async () => {
  backends = { cpu: new CpuBackend(), webgpu: await WebGpuBackend.create(), metal: await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {}) };
});
afterAll(() => {
  for (const b of Object.values(backends)) b.dispose();
});

describe.each(['cpu', 'webgpu', 'metal'])('a Tensor built around storage it does not own, on %s', (name) => {
  it('smaller storage: a ShapeError in an op and in read()', async () => {
    const b = backends[name];
    const small = b.tensor(new Float32Array(8).fill(1), [8]);
    const big = new Tensor(b, 'f32', [64, 64], small.storage('test'));
    const weight = b.tensor(new Float32Array(64).fill(1), [64]);
    expect(() => b.rmsNorm({ x: big, weight })).toThrow(ShapeError);
    expect(() => b.rmsNorm({ x: big, weight })).toThrow('[rms_norm] x: tensor f32[64,64] needs 16384 bytes, its storage holds f32[8] (32 bytes)');
    await expect(b.read(big)).rejects.toThrow(/^\[read\] tensor: tensor f32\[64,64\] needs 16384 bytes/);
    // The right shape under another dtype: the same bytes, read as other values.
    const asI32 = new Tensor(b, 'u32', [8], small.storage('test'));
    await expect(b.read(asI32)).rejects.toThrow('its storage holds f32[8]');
    small.dispose();
    weight.dispose();
  });

  it('an object the backend never made: a ShapeError naming the backend', () => {
    const b = backends[name];
    const alien = new Tensor(b, 'f32', [4], { buffer: {}, bytes: 16 });
    const up = b.zeros([4], 'f32');
    expect(() => b.swiglu({ gate: alien, up })).toThrow(new RegExp(`^\\[swiglu\\] gate: tensor f32\\[4\\] was built around storage the ${b.id} backend did not make or has freed$`));
    up.dispose();
  });

  it('disposing a second Tensor around live storage frees it once: the first then reads as freed, and nothing aliases', async () => {
    const b = backends[name];
    const t = b.tensor(Float32Array.from([1, 2, 3, 4]), [4]);
    const alias = new Tensor(b, 'f32', [4], t.storage('test'));
    alias.dispose();
    await expect(b.read(t)).rejects.toThrow(/did not make or has freed/);
    t.dispose(); // a second free of the same storage: ignored
    // Were it freed twice, two new tensors of that size could share one (pooled) buffer.
    const [p, q] = [b.tensor(Float32Array.from([5, 6, 7, 8]), [4]), b.tensor(Float32Array.from([9, 10, 11, 12]), [4])];
    expect([...(await b.read(p))]).toEqual([5, 6, 7, 8]);
    expect([...(await b.read(q))]).toEqual([9, 10, 11, 12]);
    const { y } = b.swiglu({ gate: p, up: q });
    expect((await b.read(y)).length).toBe(4);
    for (const x of [p, q, y]) x.dispose();
  });
});
