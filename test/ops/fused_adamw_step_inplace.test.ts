// fused_adamw_step with `inPlace: true` (and the accumulated `flag` input) on every backend:
// the same values as the out-of-place step, written into the inputs' own storage and
// returned as those Tensors; a skipped step leaves every in-place tensor's bits as they were;
// aliasing among the updated tensors is refused with a typed error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { fusedAdamwStepLauncher } from '../../src/backend/webgpu/launchers/fused_adamw_step.js';
import { ShapeError } from '../../src/errors.js';
import { adamwInputs, type AdamwDef } from '../../src/ops/fused_adamw_step/cases.js';
import { fusedAdamwStepOptions } from '../../src/ops/fused_adamw_step/spec.js';
import type { HostTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { limitedContext } from './limits.js';

const backends: [string, KernelBackend][] = [];
let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
  backends.push(['cpu', new CpuBackend()], ['webgpu', gpu], ['metal', await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {})]);
});
afterAll(() => {
  for (const [, b] of backends) b.dispose();
});

const upload = (b: KernelBackend, host: Record<string, HostTensor>) => Object.fromEntries(Object.entries(host).map(([k, h]) => [k, b.tensor(h.data, h.shape, h.dtype)])) as Record<string, Tensor>;
/** Every element's storage bits (f32 as u32, so NaN payloads and −0 count). */
async function bits(b: KernelBackend, t: Tensor): Promise<number[]> {
  const d = await b.read(t);
  return Array.from(d instanceof Float32Array ? new Uint32Array(d.buffer, d.byteOffset, d.length) : d);
}
const STATE = ['params', 'master', 'm', 'v'] as const;

// Segments with scales, clipping that bites, device scalars: every part of the update.
const def: AdamwDef = { sizes: [700, 0, 37, 300], groups: [[1, 1], [2, 0], [0.5, 0], [1, 1]], options: { maxGradNorm: 0.5, weightDecay: 0.1 }, scalars: [3e-3, 7] };

describe.each(['cpu', 'webgpu', 'metal'])('fused_adamw_step in place on %s', (name) => {
  const be = () => backends.find(([n]) => n === name)![1];

  it.each(['f32', 'bf16', 'f16'] as const)('%s: the out-of-place step\'s exact bits, in the inputs themselves; the flag input OR-ed into', async (dtype) => {
    const b = be();
    const host = adamwInputs(def, dtype, 5);
    const want = b.fusedAdamwStep(upload(b, host) as never, def.options) as Record<string, Tensor>;
    const ins = upload(b, { ...host, flag: { dtype: 'i32', shape: [1], data: Int32Array.of(4) } });
    const got = b.fusedAdamwStep(ins as never, { ...def.options, inPlace: true }) as Record<string, Tensor>;
    for (const k of [...STATE, 'flag'] as const) if (ins[k]) expect(got[k], k).toBe(ins[k]);
    for (const k of STATE) if (ins[k]) expect(await bits(b, got[k]), k).toEqual(await bits(b, want[k]));
    expect(Array.from(await b.read(got.flag))).toEqual([4]);
    expect(await bits(b, got.gradNorm)).toEqual(await bits(b, want.gradNorm));
  });

  it.each(['f32', 'bf16'] as const)('%s: a skipped step (non-finite gradient) leaves every in-place tensor bit for bit', async (dtype) => {
    const b = be();
    const host = adamwInputs({ ...def, nonfinite: 'nan' }, dtype, 6);
    // State a copy would not keep: NaN payloads and −0 in the moments, 16-bit params that
    // are not the master rounded (out of place, a skip gives params = master rounded).
    (host.m.data as Float32Array).set(new Float32Array(Uint32Array.of(0x7fa00001, 0xffc01234).buffer), 3);
    (host.v.data as Float32Array)[5] = -0;
    if (dtype !== 'f32') (host.params.data as Uint16Array)[1] ^= 1;
    const ins = upload(b, { ...host, flag: { dtype: 'i32', shape: [1], data: Int32Array.of(2) } });
    const before = Object.fromEntries(await Promise.all(STATE.filter((k) => ins[k]).map(async (k) => [k, await bits(b, ins[k])] as const)));
    const got = b.fusedAdamwStep(ins as never, { ...def.options, inPlace: true }) as Record<string, Tensor>;
    for (const k of STATE) if (ins[k]) expect(await bits(b, got[k]), k).toEqual(before[k]);
    expect(Array.from(await b.read(got.flag))).toEqual([2 | 1]);
  });

  it('refuses aliasing among the tensors it updates with a typed error', () => {
    const b = be();
    const f = (n: number) => b.tensor(new Float32Array(n), [n]);
    const p = f(8);
    const m = f(8);
    const g = f(8);
    expect(() => b.fusedAdamwStep({ params: p, grads: g, m: p, v: f(8) }, { inPlace: true })).toThrow(ShapeError);
    expect(() => b.fusedAdamwStep({ params: p, grads: g, m: p, v: f(8) }, { inPlace: true })).toThrow(/^\[fused_adamw_step\] params: expected a tensor of its own \(it is updated in place\), got the same tensor as m$/);
    expect(() => b.fusedAdamwStep({ params: p, grads: m, m, v: f(8) }, { inPlace: true })).toThrow(/^\[fused_adamw_step\] m: expected a tensor of its own \(it is updated in place\), got the same tensor as grads$/);
    const h = b.tensor(new Uint16Array(8), [8], 'bf16');
    const master = f(8);
    expect(() => b.fusedAdamwStep({ params: h, grads: g, m, v: master, master }, { inPlace: true })).toThrow(/^\[fused_adamw_step\] v: expected a tensor of its own \(it is updated in place\), got the same tensor as master$/);
    // Out of place, params and m may be one tensor (both only read).
    const r = b.fusedAdamwStep({ params: p, grads: g, m: p, v: f(8) });
    expect(r.m).not.toBe(p);
  });
});

it('webgpu: an in-place master step never needs the cast pass (six storage bindings), even with 8 per stage', async () => {
  const host = adamwInputs({ sizes: [3000], options: { step: 3 } }, 'bf16', 9);
  const o = fusedAdamwStepOptions.parse({ step: 3, inPlace: true });
  const ctx = limitedContext(gpu, { maxStorageBufferBindingSize: 4096 + 512, maxStorageBuffersPerShaderStage: 8 });
  gpu.rt.trace = [];
  const want = gpu.fusedAdamwStep(upload(gpu, host) as never, { step: 3 }) as Record<string, Tensor>;
  gpu.rt.trace = [];
  const ins = upload(gpu, host);
  const infos = { params: ins.params, master: ins.master, m: ins.m, v: ins.v, flag: { dtype: 'i32', shape: [1] }, gradNorm: { dtype: 'f32', shape: [1] } } as never;
  const got = fusedAdamwStepLauncher.launch(ctx, 'portable', ins, o, infos);
  const shaders = gpu.rt.trace.map((d) => d.pipeline.shader);
  gpu.rt.trace = undefined;
  expect(shaders).not.toContain('optim/adamw_cast.wgsl');
  for (const k of STATE) expect(await bits(gpu, got[k]), k).toEqual(await bits(gpu, want[k]));
});
