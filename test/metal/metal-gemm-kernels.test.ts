// The metal gemm kernels (msl/gemm, both tiers) driven through their launcher
// (src/backend/metal/launchers/gemm.ts) on the MSL host runtime, against the float64
// reference and the derived bounds of src/ops/gemm/spec.ts. A small stand-in MetalContext
// maps tensors to addon buffers, so the launcher's kernel names, params, constants and grid
// are what is tested. Shapes stay small: the host runtime runs MSL on the CPU.
// GEMM_ASAN=1 compiles both libraries under AddressSanitizer (every device access checked;
// ~35 s instead of ~2 s); GEMM_VERBOSE=1 prints each case's worst err/bound.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYTES, toFloat64, type FloatDType } from '../../src/dtype.js';
import type { MetalContext, MetalDispatch, MetalTier } from '../../src/backend/metal/launch.js';
import { METAL4_TILE, gemmKernel, gemmLauncher } from '../../src/backend/metal/launchers/gemm.js';
import { gemm, gemmOptions } from '../../src/ops/gemm/spec.js';
import type { HostTensor, RefTensor, TensorInfo } from '../../src/ops/types.js';
import { uniform } from '../../src/ops/random.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../conformance/compare.js';
import { loadNative, root, type NativeBuffer, type NativeDevice, type NativeLibrary } from '../host-runtime/helpers.js';

const mslDir = join(root, 'msl');
const DTYPES: FloatDType[] = ['f32', 'f16', 'bf16'];
const TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

let dev: NativeDevice;
const libs: Record<string, NativeLibrary> = {};
/** Worst err/bound per tier × input dtype, printed at the end (the numbers of the report). */
const worst: Record<string, number> = {};

interface FakeTensor extends TensorInfo {
  buf: NativeBuffer;
}

function upload(h: HostTensor): FakeTensor {
  const bytes = new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength);
  const buf = dev.buffer(Math.max(4, bytes.byteLength));
  buf.write(bytes);
  return { dtype: h.dtype, shape: h.shape, buf };
}

function download(t: FakeTensor): Float64Array {
  const n = t.shape.reduce((x, y) => x * y, 1);
  const u = t.buf.read(0, n * BYTES[t.dtype]);
  const copy = u.slice();
  const data = t.dtype === 'f32' ? new Float32Array(copy.buffer, 0, n) : new Uint16Array(copy.buffer, 0, n);
  return toFloat64(t.dtype, data);
}

/** A MetalContext over the addon: records dispatches, then runs them. */
function context(): { ctx: MetalContext; run(): Promise<void>; dispatches: MetalDispatch[] } {
  const dispatches: MetalDispatch[] = [];
  const info = dev.info;
  const ctx: MetalContext = {
    chip: { ...info, name: info.name },
    dispatch: (d) => dispatches.push(d),
    output: (i) => {
      const n = i.shape.reduce((x, y) => x * y, 1);
      const buf = dev.buffer(Math.max(4, n * BYTES[i.dtype]));
      buf.write(new Uint8Array(Math.max(4, n * BYTES[i.dtype])));
      return { dtype: i.dtype, shape: i.shape, buf } as unknown as Tensor;
    },
  };
  const run = async () => {
    for (const d of dispatches) {
      const lib = libs[d.library];
      if (!lib) throw new Error(`no library ${d.library}`);
      const pipeline = lib.pipeline(d.fn, d.constants);
      await dev.run([
        {
          pipeline,
          buffers: d.buffers.map((b) => ({ index: b.index, buffer: (b.tensor as unknown as FakeTensor).buf, offset: b.offset })),
          bytes: d.bytes?.map((b) => ({ index: b.index, data: new Uint8Array(b.data) })),
          threadgroupMemory: d.threadgroupMemory,
          grid: d.grid,
          threadgroup: d.threadgroup,
        },
      ]);
    }
  };
  return { ctx, run, dispatches };
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  batchA?: number;
  batchB?: number;
  alpha?: number;
  beta?: number;
  bias?: boolean;
  outDtype?: FloatDType;
}

async function check(tier: MetalTier, dtype: FloatDType, s: Case, seed = 1): Promise<number> {
  const opts = gemmOptions.parse({ transA: !!s.transA, transB: !!s.transB, alpha: s.alpha ?? 1, beta: s.beta ?? 0, outDtype: s.outDtype });
  const od = s.outDtype ?? dtype;
  const aShape = s.transA ? [s.k, s.m] : [s.m, s.k];
  const bShape = s.transB ? [s.n, s.k] : [s.k, s.n];
  const batch = Math.max(s.batchA ?? 1, s.batchB ?? 1);
  const yShape = s.batchA || s.batchB ? [batch, s.m, s.n] : [s.m, s.n];
  const host: Record<string, HostTensor> = {
    a: uniform(dtype, s.batchA ? [s.batchA, ...aShape] : aShape, seed),
    b: uniform(dtype, s.batchB ? [s.batchB, ...bShape] : bShape, seed + 1),
  };
  if (s.beta) host.c = uniform(od, yShape, seed + 2);
  if (s.bias) host.bias = uniform(od, [s.n], seed + 3);
  const outs = gemm.check(host, opts) as { y: TensorInfo };
  const refs: Record<string, RefTensor> = {};
  for (const [k, v] of Object.entries(host)) refs[k] = { dtype: v.dtype, shape: v.shape, data: toFloat64(v.dtype, v.data) };
  const ref = gemm.reference(refs, opts);
  const bound = gemm.bounds(refs, opts, ref).y!;

  const { ctx, run } = context();
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(host)) inputs[k] = upload(v) as unknown as Tensor;
  const { y } = gemmLauncher.launch(ctx, tier, inputs, opts, outs);
  await run();
  const got = download(y as unknown as FakeTensor);
  const cmp = compare(got, ref.y!.data, bound);
  const key = `${tier}/${dtype}`;
  worst[key] = Math.max(worst[key] ?? 0, cmp.worstRatio);
  const label = `${tier} ${dtype}→${od} ${JSON.stringify(s)}`;
  if (process.env.GEMM_VERBOSE) console.log(label, cmp.worstRatio.toFixed(4), cmp.tol);
  expect(cmp.firstBad, `${label}: worst err/bound ${cmp.worstRatio}`).toBeUndefined();
  return cmp.worstRatio;
}

const tn = (t: [boolean, boolean]) => `${t[0] ? 't' : 'n'}${t[1] ? 't' : 'n'}`;

beforeAll(async () => {
  dev = loadNative().openDevice({ chip: 'M5' });
  for (const lib of ['gemm/gemm.metal', 'gemm/gemm_mpp.metal', 'gemm/gemv.metal']) {
    libs[lib] = await dev.compileLibrary(readFileSync(join(mslDir, lib), 'utf8'), { filename: lib, includeDirs: [mslDir], asan: !!process.env.GEMM_ASAN });
  }
});
afterAll(() => {
  const rows = Object.entries(worst).map(([k, v]) => `${k}: ${v.toFixed(4)}`);
  console.log(`[metal gemm] worst err/bound per tier/input dtype: ${rows.join(', ')}`);
});

describe('metal gemm kernels: instantiations', () => {
  it('every kernel name the launcher can ask for exists', () => {
    for (const tier of ['metal3', 'metal4'] as const)
      for (const a of DTYPES)
        for (const y of DTYPES)
          for (const [ta, tb] of TRANS)
            for (const [m, n] of [
              [8, 8],
              [128, 128],
            ]) {
              const k = gemmKernel(tier, a, y, ta, tb, m, n);
              expect(libs[k.library].functionNames).toContain(k.fn);
            }
  });
});

describe.each(['metal3', 'metal4'] as const)('metal gemm kernels: %s', (tier) => {
  // metal4 needs K % 32 == 0; metal3 gets ragged K everywhere.
  const K = (k: number) => (tier === 'metal4' ? Math.ceil(k / 32) * 32 : k);

  it.each(DTYPES)('%s: every transpose, ragged M/N/K', async (dtype) => {
    for (const t of TRANS) await check(tier, dtype, { m: 33, n: 65, k: K(17), transA: t[0], transB: t[1] });
  });
  it.each(DTYPES)('%s: larger tiles, alpha/beta/C/bias', async (dtype) => {
    const k = tier === 'metal4' ? 96 : 40;
    await check(tier, dtype, { m: 70, n: 130, k, alpha: 0.5, beta: -1.5, bias: true });
    await check(tier, dtype, { m: 70, n: 130, k, transA: true, transB: true, bias: true });
  });
  it.each(DTYPES)('%s: every output dtype', async (dtype) => {
    for (const od of DTYPES) if (od !== dtype) await check(tier, dtype, { m: 20, n: 36, k: K(24), outDtype: od, beta: 0.25, bias: true });
  });
  it('skinny and degenerate shapes', async () => {
    await check(tier, 'f16', { m: 1, n: 64, k: 64 });
    await check(tier, 'f32', { m: 1, n: 65, k: 64, transB: true });
    await check(tier, 'bf16', { m: 17, n: 19, k: K(1) });
    await check(tier, 'f32', { m: 1, n: 1, k: K(1) });
  });
  it('batches: broadcast of a rank-2 operand, both batched', async () => {
    await check(tier, 'f16', { m: 20, n: 24, k: K(18), batchA: 3 });
    await check(tier, 'f32', { m: 19, n: 23, k: K(22), batchB: 2, transB: true });
    await check(tier, 'bf16', { m: 23, n: 41, k: K(35), batchA: 2, batchB: 2, bias: true, beta: 1, outDtype: 'f32', transA: true });
  });
});

// The Metal 3 decode kernel (gemm/gemv.metal): M ≤ 16, a untransposed, b stored [N, K]. K with
// and without a tail past its runs of 8 (and past one SIMD-group's 256 elements), N past whole
// threadgroups of 8 columns, every M up to 16, the epilogue, batches, every output dtype.
describe('metal gemm kernels: metal3 decode GEMV', () => {
  it('takes M ≤ 16 with b as [N, K] and a untransposed; tiles otherwise', () => {
    expect(gemmKernel('metal3', 'f16', 'f16', false, true, 16, 4096).fn).toBe('gemv_f16_f16');
    expect(gemmKernel('metal3', 'f16', 'f16', false, true, 17, 4096).fn).toBe('gemm_nt_f16_f16_bm32_bn32_bk16');
    expect(gemmKernel('metal3', 'f16', 'f16', false, false, 1, 4096).fn).toBe('gemm_nn_f16_f16_bm32_bn32_bk16');
    expect(gemmKernel('metal3', 'f16', 'f16', true, true, 1, 4096).fn).toBe('gemm_tt_f16_f16_bm32_bn32_bk16');
    expect(gemmKernel('metal4', 'f16', 'f16', false, true, 8, 4096).library).toBe('gemm/gemm_mpp.metal');
  });
  it.each(DTYPES)('%s: M 1…16, ragged K and N', async (dtype) => {
    for (const [m, n, k] of [
      [1, 65, 264],
      [3, 9, 7],
      [8, 17, 520],
      [16, 24, 300],
    ])
      await check('metal3', dtype, { m, n, k, transB: true });
  });
  it.each(DTYPES)('%s: alpha, beta·c, bias; every output dtype', async (dtype) => {
    await check('metal3', dtype, { m: 4, n: 33, k: 72, transB: true, alpha: 0.5, beta: -1.5, bias: true });
    for (const od of DTYPES) if (od !== dtype) await check('metal3', dtype, { m: 2, n: 20, k: 40, transB: true, outDtype: od, beta: 0.25, bias: true });
  });
  it('batches: a broadcast, b broadcast, both batched', async () => {
    await check('metal3', 'f16', { m: 5, n: 24, k: 48, batchA: 3, transB: true });
    await check('metal3', 'f32', { m: 1, n: 23, k: 22, batchB: 2, transB: true });
    await check('metal3', 'bf16', { m: 6, n: 41, k: 35, batchA: 2, batchB: 2, bias: true, beta: 1, outDtype: 'f32', transB: true });
  });
  it('dispatch: 8 columns a threadgroup of 256 threads, one row of threadgroups, batches over z', () => {
    const { ctx, dispatches } = context();
    const a = upload(uniform('f16', [2, 3, 40], 1)) as unknown as Tensor;
    const b = upload(uniform('f16', [130, 40], 2)) as unknown as Tensor;
    gemmLauncher.launch(ctx, 'metal3', { a, b }, gemmOptions.parse({ transB: true }), { y: { dtype: 'f16', shape: [2, 3, 130] } });
    expect(dispatches.map((d) => [d.library, d.fn, d.grid, d.threadgroup])).toEqual([['gemm/gemv.metal', 'gemv_f16_f16', [17, 1, 2], [256, 1, 1]]]);
  });
});

describe('metal gemm launcher', () => {
  it('tiers: metal4 first only with Metal 4 and neural accelerators', () => {
    const chip = { name: 'x', family: 'apple10', tier: 'base', host: true, maxThreadsPerThreadgroup: 1024 } as const;
    expect(gemmLauncher.tiers('f16', { ...chip, metal4: true, hasNax: true })).toEqual(['metal4', 'metal3']);
    expect(gemmLauncher.tiers('f32', { ...chip, metal4: true, hasNax: false })).toEqual(['metal3']);
    expect(gemmLauncher.tiers('bf16', { ...chip, family: 'apple9', metal4: false, hasNax: false })).toEqual(['metal3']);
  });
  it('a forced metal4 with K % 32 != 0 is a TierUnavailableError', () => {
    const { ctx } = context();
    const a = upload(uniform('f16', [4, 33], 1)) as unknown as Tensor;
    const b = upload(uniform('f16', [33, 8], 2)) as unknown as Tensor;
    const opts = gemmOptions.parse({});
    expect(() => gemmLauncher.launch(ctx, 'metal4', { a, b }, opts, { y: { dtype: 'f16', shape: [4, 8] } })).toThrow(
      expect.objectContaining({ code: 'TIER_UNAVAILABLE', message: expect.stringContaining(`K % ${METAL4_TILE.BK} == 0`) }),
    );
  });
  it('dispatch: grid over tiles and batch, constants for c/bias/alpha', () => {
    const { ctx, dispatches } = context();
    const a = upload(uniform('f32', [3, 70, 40], 1)) as unknown as Tensor;
    const b = upload(uniform('f32', [40, 130], 2)) as unknown as Tensor;
    const bias = upload(uniform('f32', [130], 3)) as unknown as Tensor;
    const opts = gemmOptions.parse({ alpha: 2 });
    gemmLauncher.launch(ctx, 'metal3', { a, b, bias }, opts, { y: { dtype: 'f32', shape: [3, 70, 130] } });
    expect(dispatches).toHaveLength(1);
    const d = dispatches[0];
    expect(d.fn).toBe('gemm_nn_f32_f32_bm64_bn64_bk16');
    expect(d.grid).toEqual([3, 2, 3]);
    expect(d.constants).toEqual([
      { index: 0, type: 'bool', value: false },
      { index: 1, type: 'bool', value: true },
      { index: 2, type: 'bool', value: true },
    ]);
    expect(d.buffers.map((x) => x.index).sort()).toEqual([0, 1, 3, 4]);
  });
});
