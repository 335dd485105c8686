// The metal3 kernels of rope, rope_backward, cross_entropy and cross_entropy_backward
// (msl/rope/rope.metal, msl/loss/cross_entropy.metal) through their launchers
// (src/backend/metal/launchers/{rope,cross_entropy}.ts), run by the MSL host runtime behind
// a minimal MetalContext over the addon — independent of the metal backend, so kernels and
// launchers are checked against the float64 references and derived bounds on their own.
// Cases: the ops' quick conformance catalogue (small enough for the CPU-run MSL) plus a few
// that exercise paths the catalogue does not (a table split over two dispatches, ASan).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compare } from '../../conformance/compare.js';
import { BYTES, toFloat64, type FloatDType, type HostArray } from '../../src/dtype.js';
import type { ChipInfo, MetalContext, MetalDispatch, MetalLauncher } from '../../src/backend/metal/launch.js';
import { crossEntropyBackwardMetalLauncher, crossEntropyMetalLauncher } from '../../src/backend/metal/launchers/cross_entropy.js';
import { ropeBackwardMetalLauncher, ropeMetalLauncher } from '../../src/backend/metal/launchers/rope.js';
import { uniform } from '../../src/ops/random.js';
import { OPS, type OpName } from '../../src/ops/registry.js';
import type { HostTensor, OpCase, RefTensor, TensorInfo } from '../../src/ops/types.js';
import { Tensor } from '../../src/tensor.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const mslDir = join(root, 'msl');

interface NBuffer {
  write(data: ArrayBufferView | ArrayBuffer, byteOffset?: number): void;
  read(byteOffset?: number, byteLength?: number): Uint8Array;
}
interface NLibrary {
  pipeline(name: string, constants?: { index: number; type: string; value: number | boolean }[]): unknown;
}
interface NDevice {
  info: ChipInfo;
  compileLibrary(source: string, o?: { asan?: boolean; includeDirs?: string[]; filename?: string }): Promise<NLibrary>;
  buffer(byteLength: number): NBuffer;
  run(dispatches: unknown[]): Promise<{ gpuStartNs: number; gpuEndNs: number }>;
}

const native = createRequire(import.meta.url)(join(root, 'native', 'build', 'Release', 'pmetal_native.node')) as { openDevice(o?: { chip?: string }): NDevice };
const dev = native.openDevice({ chip: 'M5' });
const owner = { name: 'metal-host-test', releaseStorage: () => {} };

function upload(h: HostTensor): Tensor {
  const bytes = h.data.byteLength;
  const buf = dev.buffer(Math.max(4, bytes));
  buf.write(new Uint8Array(h.data.buffer, h.data.byteOffset, bytes));
  return new Tensor(owner, h.dtype, h.shape, buf);
}

function download(t: Tensor): Float64Array {
  const u = t.storage<NBuffer>().read(0, t.size * BYTES[t.dtype]);
  const copy = u.slice().buffer;
  const arr: HostArray = t.dtype === 'f32' ? new Float32Array(copy) : t.dtype === 'i32' ? new Int32Array(copy) : new Uint16Array(copy);
  return toFloat64(t.dtype, arr);
}

/**
 * A MetalContext over the addon: records dispatches (tensors resolved to buffers at once, as
 * the backend does, so a launcher may dispose a scratch right after recording it), runs them
 * in order in one batch.
 */
class HostContext implements MetalContext {
  readonly chip: ChipInfo = dev.info;
  readonly recorded: (MetalDispatch & { resolved: { index: number; buffer: NBuffer; offset?: number }[] })[] = [];
  dispatch(d: MetalDispatch): void {
    this.recorded.push({ ...d, resolved: d.buffers.map((b) => ({ index: b.index, buffer: b.tensor.storage<NBuffer>('dispatch'), offset: b.offset })) });
  }
  output(info: TensorInfo): Tensor {
    const n = info.shape.reduce((a, b) => a * b, 1) * BYTES[info.dtype];
    const buf = dev.buffer(Math.max(4, n));
    buf.write(new Uint8Array(Math.max(4, n)));
    return new Tensor(owner, info.dtype, info.shape, buf);
  }
  async flush(asan = false): Promise<void> {
    const ds = [];
    for (const d of this.recorded) {
      const lib = await library(d.library, asan);
      ds.push({
        pipeline: lib.pipeline(d.fn, d.constants),
        buffers: d.resolved,
        bytes: (d.bytes ?? []).map((b) => ({ index: b.index, data: new Uint8Array(b.data) })),
        threadgroupMemory: d.threadgroupMemory,
        grid: d.grid,
        threadgroup: d.threadgroup,
      });
    }
    await dev.run(ds);
  }
}

const libs = new Map<string, Promise<NLibrary>>();
function library(path: string, asan: boolean): Promise<NLibrary> {
  const key = `${path}:${asan}`;
  let l = libs.get(key);
  if (!l) {
    l = dev.compileLibrary(readFileSync(join(mslDir, path), 'utf8'), { includeDirs: [mslDir], filename: path, asan });
    libs.set(key, l);
  }
  return l;
}

const LAUNCHERS: Partial<Record<OpName, MetalLauncher>> = {
  rope: ropeMetalLauncher,
  rope_backward: ropeBackwardMetalLauncher,
  cross_entropy: crossEntropyMetalLauncher,
  cross_entropy_backward: crossEntropyBackwardMetalLauncher,
};

/** Worst err/bound per op × dtype, printed at the end. */
const worst = new Map<string, number>();

/** Runs one case, checks every output against its bound; returns the number of dispatches. */
async function check(op: OpName, c: OpCase, dtype: FloatDType, seed = 1, asan = false): Promise<number> {
  const spec = OPS[op];
  const host = c.make(dtype, seed);
  const refIn: Record<string, RefTensor> = {};
  for (const [k, h] of Object.entries(host)) refIn[k] = { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) };
  const opts = spec.options.parse(c.options);
  const infos = spec.check(refIn as never, opts as never) as Record<string, TensorInfo>;
  const ref = spec.reference(refIn as never, opts as never) as Record<string, RefTensor>;
  const bounds = spec.bounds(refIn as never, opts as never, ref as never) as Record<string, Float64Array>;
  const inputs: Record<string, Tensor> = {};
  for (const [k, h] of Object.entries(host)) inputs[k] = upload(h);
  const launcher = LAUNCHERS[op]!;
  expect(launcher.tiers(dtype, dev.info)).toEqual(['metal3']);
  const ctx = new HostContext();
  const outs = launcher.launch(ctx, 'metal3', inputs, opts, infos);
  await ctx.flush(asan);
  let ratio = 0;
  for (const [name, want] of Object.entries(ref)) {
    const t = outs[name];
    expect(t, `${op} output ${name}`).toBeDefined();
    expect(t.dtype).toBe(infos[name].dtype);
    expect([...t.shape]).toEqual([...infos[name].shape]);
    const cmp = compare(download(t), want.data, bounds[name]);
    const b = cmp.firstBad;
    expect(cmp.pass, `${op}:${dtype}:${c.label} ${name}` + (b ? `[${b.index}]: got ${b.got}, want ${b.want} ± ${b.bound.toExponential(2)}` : '')).toBe(true);
    ratio = Math.max(ratio, cmp.worstRatio);
  }
  const key = `${op}:${dtype}`;
  worst.set(key, Math.max(worst.get(key) ?? 0, ratio));
  return ctx.recorded.length;
}

const DTYPES: FloatDType[] = ['f32', 'f16', 'bf16'];
const OPS_HERE: OpName[] = ['rope', 'rope_backward', 'cross_entropy', 'cross_entropy_backward'];

describe('metal3 rope / cross-entropy kernels on the MSL host runtime', () => {
  for (const op of OPS_HERE) {
    it(`${op}: the quick catalogue, every dtype, within the derived bounds`, async () => {
      for (const dtype of DTYPES) for (const c of OPS[op].cases) if (c.quick) for (const seed of [1, 2]) await check(op, c, dtype, seed);
    });
  }

  it('rope: a frequency table over 1024 entries is split across dispatches', async () => {
    // D = 2056, rotaryDim = 2052: 1026 pairs, two table ranges (setBytes takes < 4 KiB).
    const mk = (name: string, style: string): OpCase => ({
      label: `S=2,H=1,D=2056,rotaryDim=2052,style=${style}`,
      options: { rotaryDim: 2052, offset: 3, style },
      make: (dt, seed) => ({ [name]: uniform(dt, [2, 1, 2056], seed, -2, 2) }),
    });
    expect(await check('rope', mk('x', 'neox'), 'f32')).toBe(2);
    expect(await check('rope_backward', mk('dy', 'gptj'), 'bf16')).toBe(2);
  });

  it('rope with k: q and k in one dispatch (GQA), and a table split over two dispatches covers both', async () => {
    const gqa = OPS.rope.cases.find((c) => c.quick && c.label.startsWith('B=2,S=5,H=8,Hk=2,D=128'))!;
    expect(await check('rope', gqa, 'f16')).toBe(1);
    expect(await check('rope_backward', OPS.rope_backward.cases.find((c) => c.label.startsWith('S=1,H=32,Hk=8,D=64'))!, 'bf16')).toBe(1);
    const mk = (name: string, kName: string, style: string): OpCase => ({
      label: `S=2,H=2,Hk=1,D=2056,rotaryDim=2052,style=${style}`,
      options: { rotaryDim: 2052, offset: 3, style },
      make: (dt, seed) => ({ [name]: uniform(dt, [2, 2, 2056], seed, -2, 2), [kName]: uniform(dt, [2, 1, 2056], seed + 2, -2, 2) }),
    });
    expect(await check('rope', mk('x', 'k', 'gptj'), 'f16')).toBe(2);
    expect(await check('rope_backward', mk('dy', 'dk', 'neox'), 'f32')).toBe(2);
  });

  if (process.env.PMETAL_TEST_ALL) {
    for (const op of OPS_HERE) {
      it(`${op}: the full catalogue (PMETAL_TEST_ALL)`, async () => {
        for (const dtype of DTYPES) for (const c of OPS[op].cases) if (!c.quick) await check(op, c, dtype);
      });
    }
  }

  it('no out-of-bounds access under ASan (invalid targets, partial rotary, positions, q with k)', async () => {
    const pick = (op: OpName, pred: (l: string) => boolean) => OPS[op].cases.find((c) => c.quick && pred(c.label))!;
    await check('cross_entropy', pick('cross_entropy', (l) => l.includes('invalid-targets')), 'f16', 1, true);
    await check('cross_entropy_backward', pick('cross_entropy_backward', (l) => l.includes('invalid-targets')), 'bf16', 1, true);
    await check('rope', pick('rope', (l) => l.includes('positions=[B,S]')), 'f16', 1, true);
    await check('rope_backward', pick('rope_backward', (l) => l.includes('rotaryDim=6')), 'f32', 1, true);
    // With k: GQA heads after q's, partial rotary, [B,S] positions; Hk > H; odd D.
    await check('rope', pick('rope', (l) => l.includes('H=8,Hk=2,D=128')), 'bf16', 1, true);
    await check('rope', pick('rope', (l) => l.includes('H=1,Hk=3')), 'f32', 1, true);
    await check('rope_backward', pick('rope_backward', (l) => l.includes('Hk=2,D=5')), 'f16', 1, true);
  });

  afterAll(() => {
    const rows = [...worst.entries()].map(([k, r]) => `${k.padEnd(30)} ${r.toFixed(4)}`);
    console.log(`worst err/bound (host runtime):\n${rows.join('\n')}`);
  });
});
