// The metal backend's TypeScript side: the addon loader and its error, capabilities per
// emulated chip, tier errors, typed compile/kernel errors, batching and buffer reuse.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../src/backend/interface.js';
import { createBackend } from '../../src/backend/load.js';
import { addonCandidates, addonFix, loadAddon } from '../../src/backend/metal/addon.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { runMetalBench } from '../../bench/metal.js';
import { METAL_LAUNCHERS } from '../../src/backend/metal/launchers/index.js';
import { FLAT_PARAMS } from '../../src/backend/metal/launchers/swiglu.js';
import { packParams } from '../../src/backend/params.js';
import { BackendUnavailableError, DisposedError, KernelError, OptionsError, ShapeError, ShaderCompileError, TierUnavailableError } from '../../src/errors.js';
import { Tensor } from '../../src/index.js';

/** Chip emulation and ASan are the host runtime's (Linux); on a Mac the real chip is used. */
const HOST = process.platform !== 'darwin';

describe('metal addon loader', () => {
  const saved = process.env.PMETAL_NATIVE;
  afterEach(() => {
    if (saved === undefined) delete process.env.PMETAL_NATIVE;
    else process.env.PMETAL_NATIVE = saved;
  });

  it('looks in $PMETAL_NATIVE, then native/build/Release, then native/build/Debug', () => {
    const c = addonCandidates({}, '/pkg');
    expect(c).toEqual(['/pkg/native/build/Release/pmetal_native.node', '/pkg/native/build/Debug/pmetal_native.node']);
    expect(addonCandidates({ PMETAL_NATIVE: '/x/my.node' }, '/pkg')).toEqual(['/x/my.node']);
  });

  it('PMETAL_NATIVE at a missing file is BackendUnavailableError naming the platform, the attempt and the fix', async () => {
    process.env.PMETAL_NATIVE = '/nonexistent/pmetal_native.node';
    const err = await createBackend('metal').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^\[metal\]/);
    expect(msg).toContain(`${process.platform}-${process.arch}`);
    expect(msg).toContain('/nonexistent/pmetal_native.node: not found');
    expect(msg).toContain(addonFix());
    expect(() => loadAddon()).toThrow(BackendUnavailableError);
  });

  it('a file that is not an addon is reported with its load error', () => {
    process.env.PMETAL_NATIVE = new URL(import.meta.url).pathname; // a .ts file
    expect(() => loadAddon()).toThrow(/metal-backend\.test\.ts: /);
  });

  it('the nativeBinding option names the addon to load; it wins over $PMETAL_NATIVE', async () => {
    expect(addonCandidates({ PMETAL_NATIVE: '/x/env.node' }, '/pkg', '/x/option.node')).toEqual(['/x/option.node']);
    const built = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'pmetal_native.node');
    process.env.PMETAL_NATIVE = '/nonexistent/from-env.node';
    const be = await createBackend('metal', { metal: { nativeBinding: built, ...(HOST ? { chip: 'M5' } : {}) } });
    const y = be.swiglu({ gate: be.tensor(Float32Array.from([0]), [1]), up: be.tensor(Float32Array.from([3]), [1]) }).y;
    expect(Array.from(await be.read(y))).toEqual([0]);
    be.dispose();
  });

  it('a nativeBinding that does not load is BackendUnavailableError naming it; a bad value is OptionsError', async () => {
    delete process.env.PMETAL_NATIVE;
    const err = await createBackend('metal', { metal: { nativeBinding: '/nonexistent/mine.node' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain('/nonexistent/mine.node: not found (nativeBinding)');
    expect((err as Error).message).toContain('point the nativeBinding option at a built pmetal_native.node');
    const notAddon = await createBackend('metal', { metal: { nativeBinding: fileURLToPath(import.meta.url) } }).catch((e: unknown) => e);
    expect(notAddon).toBeInstanceOf(BackendUnavailableError);
    expect((notAddon as Error).message).toMatch(/metal-backend\.test\.ts: .* \(nativeBinding\)\n/);
    await expect(createBackend('metal', { metal: { nativeBinding: '' } })).rejects.toThrow(OptionsError);
    await expect(createBackend('metal', { metal: { nativeBinding: 5 } as never })).rejects.toThrow(OptionsError);
  });

  it('says how to fix it on each platform', () => {
    // words for a package user first: what to install, then `npm rebuild pmetal`
    expect(addonFix('linux')).toMatch(/^install .*apt install -t bookworm-backports clang-19 libclang-rt-19-dev.*then rebuild the addon with `npm rebuild pmetal`/);
    expect(addonFix('linux')).toContain('python3 make g++');
    expect(addonFix('linux')).toContain('node scripts/build-native.mjs --verbose');
    expect(addonFix('darwin')).toContain('xcode-select --install');
    expect(addonFix('darwin')).toContain('npm rebuild pmetal');
    expect(addonFix('win32')).toMatch(/cpu or webgpu/);
  });

  it.skipIf(!existsSync('dist/index.js'))('importing the package does not load the addon', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "process.dlopen = () => { throw new Error('dlopen called'); }; const m = await import('./dist/index.js'); console.log(typeof m.createBackend);"],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function');
  });
});

describe.skipIf(!HOST)('metal backend options', () => {
  it('rejects unknown options and unknown chips with OptionsError', async () => {
    await expect(createBackend('metal', { metal: { chip: 'M5', bogus: 1 } as never })).rejects.toThrow(OptionsError);
    await expect(createBackend('metal', { metal: { chip: 'M9 Turbo' } })).rejects.toThrow(OptionsError);
  });
});

describe.skipIf(!HOST)('metal capabilities per emulated chip', () => {
  it.each([
    ['M1', 'apple7', 'base'],
    ['M2 Pro', 'apple8', 'pro'],
    ['M3 Max', 'apple9', 'max'],
    ['M4 Ultra', 'apple9', 'ultra'],
    ['M5', 'apple10', 'base'],
    ['M5 Max', 'apple10', 'max'],
  ] as const)('%s', async (chip, family, tier) => {
    const be = (await createBackend('metal', { metal: { chip } })) as MetalBackend;
    const caps = be.capabilities();
    const nax = family === 'apple10';
    expect(caps.backend).toBe('metal');
    expect(caps.device).toBe(`Apple ${chip} (host emulation)`);
    expect(be.chip).toMatchObject({ family, tier, hasNax: nax, metal4: nax, host: true, maxThreadsPerThreadgroup: 1024 });
    expect(caps.features).toEqual([family, `tier-${tier}`, ...(nax ? ['nax', 'metal4'] : []), 'host-runtime']);
    expect(caps.timestamps).toBe(false);
    expect(Object.keys(caps.ops).sort()).toEqual(Object.keys(METAL_LAUNCHERS).sort());
    for (const ts of Object.values(caps.ops)) {
      expect(ts.map((t) => t.tier)).toContain('metal3');
      if (!nax) expect(ts.map((t) => t.tier)).not.toContain('metal4');
    }
    const used = new Set(Object.values(caps.ops).flatMap((ts) => ts.map((t) => t.tier)));
    expect(caps.tiers).toEqual(['metal4', 'metal3'].filter((t) => used.has(t)));
    be.dispose();
  });

  it('forcing metal4 on an M3 is TierUnavailableError (per call and global)', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M3' } });
    const x = be.zeros([4, 64], 'f16');
    const w = be.zeros([64], 'f16');
    expect(() => be.rmsNorm({ x, weight: w }, {}, { tier: 'metal4' })).toThrow(TierUnavailableError);
    be.setTier('*', 'metal4');
    expect(() => be.rmsNorm({ x, weight: w })).toThrow(/tier 'metal4' needs a chip with neural accelerators/);
    be.setTier('*', undefined);
    const { y } = be.rmsNorm({ x, weight: w });
    expect(Array.from(await be.read(y)).every((v) => v === 0)).toBe(true);
    be.dispose();
  });
});

describe.skipIf(!HOST)('metal backend: typed errors', () => {
  it('an MSL compile error is ShaderCompileError with file, line and column', async () => {
    const be = (await createBackend('metal', { metal: { chip: 'M5' } })) as MetalBackend;
    const src = '#include <metal_stdlib>\n#include "common/reduce.h"\nusing namespace metal;\nkernel void k(device float* o [[buffer(0)]]) {\n  o[0] = not_declared;\n}\n';
    const err = await be.compileLibrary('broken/k.metal', src).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    const e = err as ShaderCompileError;
    expect(e.code).toBe('SHADER_COMPILE');
    expect(e.line).toBe(5);
    expect(e.col).toBeGreaterThan(0);
    expect(e.message).toMatch(/k\.metal:5:\d+/);
    expect(e.message).toContain('not_declared');
    be.dispose();
  });

  it('every kernel library compiles (includes resolve from the embedded msl/)', async () => {
    const be = (await createBackend('metal', { metal: { chip: 'M5' } })) as MetalBackend;
    for (const lib of ['norm/rms_norm.metal', 'norm/rms_norm_backward.metal', 'softmax/softmax.metal', 'elementwise/swiglu.metal']) {
      const l = await be.compileLibrary(lib);
      expect(l.functionNames.length).toBeGreaterThan(0);
    }
    expect(be.librariesUsed()).toEqual(expect.arrayContaining(['norm/rms_norm.metal', 'softmax/softmax.metal']));
    be.dispose();
  });

  it('an out-of-bounds access under asan is a KernelError (OUT_OF_BOUNDS), and the backend keeps working', async () => {
    const be = (await createBackend('metal', { metal: { chip: 'M5', asan: true } })) as MetalBackend;
    expect(be.capabilities().features).toContain('asan');
    const gate = be.tensor(new Float32Array(16), [16]);
    const up = be.tensor(new Float32Array(16), [16]);
    const y = be.zeros([16], 'f32');
    // count 40 > 16 elements: the kernel reads past gate, up and y.
    be.dispatch({
      library: 'elementwise/swiglu.metal',
      fn: 'swiglu_f32',
      buffers: [
        { index: 0, tensor: gate },
        { index: 1, tensor: up },
        { index: 2, tensor: y },
      ],
      bytes: [{ index: 3, data: packParams(FLAT_PARAMS, { count: 40 }) }],
      grid: [1, 1, 1],
      threadgroup: [32, 1, 1],
    });
    const err = await be.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as Error).message).toContain('OUT_OF_BOUNDS');
    expect((err as Error).message).toContain('swiglu_f32');
    const g = be.tensor(Float32Array.from([1, -2]), [2]);
    const u = be.tensor(Float32Array.from([3, 4]), [2]);
    const kb: KernelBackend = be;
    const out = (await be.read(kb.swiglu({ gate: g, up: u }).y)) as Float32Array;
    expect(out[0]).toBeCloseTo((1 / (1 + Math.exp(-1))) * 3, 6);
    be.dispose();
  });

  it('a dispatch naming no library, or too many threads, is a KernelError at record time', async () => {
    const be = (await createBackend('metal', { metal: { chip: 'M5' } })) as MetalBackend;
    const t = be.zeros([4], 'f32');
    expect(() => be.dispatch({ library: 'nope/x.metal', fn: 'x', buffers: [{ index: 0, tensor: t }], grid: [1, 1, 1], threadgroup: [1, 1, 1] })).toThrow(KernelError);
    expect(() => be.dispatch({ library: 'softmax/softmax.metal', fn: 'softmax_f32', buffers: [], grid: [1, 1, 1], threadgroup: [2048, 1, 1] })).toThrow(/2048 threads/);
    be.dispose();
  });
});

describe.skipIf(!HOST)('metal backend: a tensor and its storage', () => {
  // The Tensor constructor is public: a tensor can claim a shape its storage does not hold.
  // Every op input is checked against the storage the backend made (test/runtime/
  // forged-tensor.test.ts), every binding again (shape × dtype = storage bytes), and the addon
  // checks each window against the buffer: a typed error, never a kernel reading past a buffer.
  it('a Tensor built around a smaller storage is a ShapeError in an op and in read()', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    const small = be.tensor(new Float32Array(4), [4]);
    const big = new Tensor(be as MetalBackend, 'f32', [1 << 20], small.storage('test'));
    const up = be.zeros([1 << 20], 'f32');
    expect(() => be.swiglu({ gate: big, up })).toThrow(ShapeError);
    expect(() => be.swiglu({ gate: big, up })).toThrow('[swiglu] gate: tensor f32[1048576] needs 4194304 bytes, its storage holds f32[4] (16 bytes)');
    await expect(be.read(big)).rejects.toThrow(ShapeError);
    const alien = new Tensor(be as MetalBackend, 'f32', [4], { bytes: 16 });
    expect(() => be.swiglu({ gate: alien, up: small })).toThrow(/^\[swiglu\] gate: tensor f32\[4\] was built around storage the metal#\d+ backend did not make or has freed$/);
    // the backend keeps working
    const g = be.tensor(Float32Array.from([1, 2, 3, 4]), [4]);
    expect(Array.from((await be.read(be.swiglu({ gate: g, up: small }).y)) as Float32Array)).toEqual([0, 0, 0, 0]);
    be.dispose();
  });

  it('SharedArrayBuffer-backed data uploads as on the cpu backend', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    const cpu = await createBackend('cpu');
    const shared = new Float32Array(new SharedArrayBuffer(6 * 4), 2 * 4, 4).fill(0).map((_, i) => i + 0.5);
    const bits = new Uint16Array(new SharedArrayBuffer(8)).fill(0x3c00);
    for (const [data, dtype] of [[shared, 'f32'], [bits, 'f16']] as const) {
      expect(Array.from(await be.read(be.tensor(data, [4], dtype)))).toEqual(Array.from(await cpu.read(cpu.tensor(data, [4], dtype))));
    }
    be.dispose();
    cpu.dispose();
  });
});

describe('metal backend after dispose()', () => {
  it('every use is a DisposedError: tensor, zeros, ops, read, sync, dispatch, compileLibrary', async () => {
    const be = (await createBackend('metal', { metal: HOST ? { chip: 'M5' } : {} })) as MetalBackend;
    const x = be.tensor(Float32Array.from([1, 2, 3, 4]), [1, 4]);
    const w = be.zeros([4], 'f32');
    be.dispose();
    expect(() => be.tensor(new Float32Array(4), [4])).toThrow(DisposedError);
    expect(() => be.tensor(new Float32Array(4), [4])).toThrow(/^\[tensor\] the metal backend \(.+\) was disposed$/);
    expect(() => be.zeros([4], 'f32')).toThrow(DisposedError);
    expect(() => be.rmsNorm({ x, weight: w })).toThrow(/^\[rms_norm\] the metal backend/);
    expect(() => be.swiglu({ gate: x, up: x })).toThrow(DisposedError);
    await expect(be.read(x)).rejects.toThrow(DisposedError);
    await expect(be.sync()).rejects.toThrow(DisposedError);
    await expect(be.gpuTime(() => {})).rejects.toThrow(DisposedError);
    await expect(be.compileLibrary('norm/rms_norm.metal')).rejects.toThrow(DisposedError);
    expect(() => be.dispatch({ library: 'elementwise/swiglu.metal', fn: 'swiglu_f32', buffers: [], grid: [1, 1, 1], threadgroup: [1, 1, 1] })).toThrow(DisposedError);
    expect(((await be.read(x).catch((e: unknown) => e)) as DisposedError).code).toBe('DISPOSED');
    // disposing its tensors, and the backend again, stays allowed
    x.dispose();
    w.dispose();
    be.dispose();
  });

  it('[Symbol.dispose] disposes it; [Symbol.asyncDispose] waits for the batch in flight first', async () => {
    const a = (await createBackend('metal', { metal: HOST ? { chip: 'M5' } : {} })) as MetalBackend;
    a[Symbol.dispose]();
    expect(() => a.zeros([1], 'f32')).toThrow(DisposedError);
    const b = (await createBackend('metal', { metal: HOST ? { chip: 'M5' } : {} })) as MetalBackend;
    const kb: KernelBackend = b;
    const y = kb.swiglu({ gate: b.tensor(Float32Array.from([1]), [1]), up: b.tensor(Float32Array.from([2]), [1]) }).y;
    const pending = b.read(y);
    await b[Symbol.asyncDispose]();
    expect((await pending)[0]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6);
    expect(() => b.zeros([1], 'f32')).toThrow(DisposedError);
  });
});

describe('metal bench on the host runtime', () => {
  it('runMetalBench refuses: host-runtime timings are not GPU timings', async () => {
    const be = (await createBackend('metal', { metal: { chip: 'M5' } })) as MetalBackend;
    expect(be.host).toBe(process.platform !== 'darwin');
    if (be.host) await expect(runMetalBench(be, { ops: ['swiglu'] })).rejects.toThrow(/not GPU timings/);
    expect(await be.gpuTime(() => {})).toBeUndefined();
    be.dispose();
  });

  it.skipIf(!existsSync('dist/cli.js') || process.platform === 'darwin')('`pmetal bench --backend metal` says so and exits non-zero', () => {
    const r = spawnSync(process.execPath, ['dist/cli.js', 'bench', '--backend', 'metal', '--op', 'swiglu'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('host runtime');
    expect(r.stderr).toContain('not GPU timings');
    expect(r.stdout).not.toMatch(/TFLOP/);
  });
});

describe.skipIf(!HOST)('metal backend: output rounding', () => {
  // rms_norm's residual output is h = T(x + residual), with x + residual exact in f32: ties
  // between two 16-bit values tell round-to-nearest-even from truncation and from half-away.
  it.each([
    ['bf16', 0x3f80, 0x3b80, 0x3f81], // 1, 2^-8 (half an ulp of 1), 1 + 2^-7
    ['f16', 0x3c00, 0x1000, 0x3c01], // 1, 2^-11, 1 + 2^-10
  ] as const)('%s stores round to nearest even', async (dtype, one, half, oneUp) => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    const x = be.tensor(Uint16Array.from([one, oneUp, one, oneUp]), [1, 4], dtype);
    const r = be.tensor(Uint16Array.from([half, half, half ^ 0x8000, half ^ 0x8000]), [1, 4], dtype);
    const w = be.tensor(Uint16Array.from([one, one, one, one]), [4], dtype);
    const { residual } = be.rmsNorm({ x, weight: w, residual: r });
    // 1 + ½ulp ties → 1 (even); (1 + ulp) + ½ulp ties → 1 + 2ulp (even); (1 + ulp) − ½ulp ties → 1
    // (even). Truncation would give 1 + ulp for [1]; rounding half away, 1 + ulp for [0] and [3].
    // ([2], 1 − ½ulp, is exact: the spacing below 1 is half as wide.)
    const got = Array.from((await be.read(residual!)) as Uint16Array);
    expect(got[0]).toBe(one);
    expect(got[1]).toBe(oneUp + 1);
    expect(got[3]).toBe(one);
    be.dispose();
  });
});

describe.skipIf(!HOST)('metal backend: batching and buffer reuse', () => {
  it('temporaries disposed inside a batch are not reused before it runs; repeated batches agree', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5' } });
    const rows = 130;
    const n = 40;
    const rnd = (k: number) => Float32Array.from({ length: rows * n }, (_, i) => Math.sin(i * 0.37 + k));
    const dy = be.tensor(rnd(1), [rows, n]);
    const x = be.tensor(rnd(2), [rows, n]);
    const w = be.tensor(Float32Array.from({ length: n }, (_, i) => 0.5 + i / n), [n]);
    // Three backward calls recorded into one batch: each disposes its temporaries (rs, the dw
    // partials) while recording; the next call's outputs must not land in those buffers.
    const outs = [0, 1, 2].map(() => be.rmsNormBackward({ dy, x, weight: w }));
    const res = await Promise.all(outs.map(async (o) => [await be.read(o.dx), await be.read(o.dw)]));
    const single = be.rmsNormBackward({ dy, x, weight: w });
    const want = [await be.read(single.dx), await be.read(single.dw)];
    for (const r of res) {
      expect(Array.from(r[0])).toEqual(Array.from(want[0]));
      expect(Array.from(r[1])).toEqual(Array.from(want[1]));
    }
    // outputs from reused buffers start at zero
    for (const o of outs) o.dx.dispose();
    const z = be.zeros([rows, n], 'f32');
    expect(Array.from(await be.read(z)).every((v) => v === 0)).toBe(true);
    be.dispose();
  });
});
