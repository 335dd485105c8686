// Issue 13 item 1 (host cost per op): run() plans each signature once (test/ops/plan-cache.test.ts
// covers the plans on cpu) and the webgpu backend
// replays a plan's recorded launch (launch_tape.ts) instead of running its launcher again.
// Neither may let a call through that a fresh plan and launch would refuse or compute
// differently: every per-call check still runs after a good call of the same op, and a
// replay that would not be the same launch (other aliasing, a fixed buffer released, other
// tuning) runs the launcher again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { fromFloat64 } from '../../src/dtype.js';
import { BackendMismatchError, DisposedError, DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { Tensor } from '../../src/tensor.js';

let cpu: CpuBackend;
let gpu: WebGpuBackend;
beforeAll(async () => {
  cpu = new CpuBackend();
  gpu = await WebGpuBackend.create();
});
afterAll(() => {
  cpu?.dispose();
  gpu?.dispose();
});

const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
/** rms_norm of one row, in float64: what the f32 kernel must match within a few ulps. */
const rms = (x: Float32Array, w: Float32Array, eps: number) => {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return Array.from(x, (v, i) => v * r * w[i]);
};

describe.each(['cpu', 'webgpu'])('a bad call after good ones of the same op is still refused (%s)', (name) => {
  const be = (): KernelBackend & { id: string } => (name === 'cpu' ? cpu : gpu);

  it('dtype, shape, options, unknown inputs, disposed, foreign and forged tensors', async () => {
    const b = be();
    const other = name === 'cpu' ? gpu : cpu;
    const x = b.tensor(seq(32, (i) => (i % 7) - 3), [4, 8]);
    const w = b.tensor(seq(8, (i) => 1 + i / 8), [8]);
    const good = () => b.rmsNorm({ x, weight: w }, { eps: 1e-5 });
    // Planned on the first call, replayed (webgpu) from the second.
    for (let i = 0; i < 3; i++) for (const t of Object.values(good())) t.dispose();

    const w16 = b.tensor(new Uint16Array(8), [8], 'f16');
    expect(() => b.rmsNorm({ x, weight: w16 }, { eps: 1e-5 })).toThrow(DTypeError);
    const w7 = b.tensor(new Float32Array(7), [7]);
    expect(() => b.rmsNorm({ x, weight: w7 }, { eps: 1e-5 })).toThrow(/^\[rms_norm\] weight: expected .*\[8\]/);
    expect(() => b.rmsNorm({ x, weight: w }, { eps: -1 })).toThrow(OptionsError);
    expect(() => b.rmsNorm({ x, weight: w, bogus: w } as never, { eps: 1e-5 })).toThrow(new ShapeError('[rms_norm] bogus: unknown input (expected x, weight, residual)'));

    // The same signature as the good calls: only the per-call tensor checks can refuse these.
    const gone = b.tensor(seq(32, () => 1), [4, 8]);
    gone.dispose();
    expect(() => b.rmsNorm({ x: gone, weight: w }, { eps: 1e-5 })).toThrow(DisposedError);
    const foreign = other.tensor(seq(32, () => 1), [4, 8]);
    expect(() => b.rmsNorm({ x: foreign, weight: w }, { eps: 1e-5 })).toThrow(BackendMismatchError);
    foreign.dispose();
    const small = b.tensor(seq(8, () => 1), [8]);
    const forged = new Tensor(b as never, 'f32', [4, 8], small.storage('test'));
    expect(() => b.rmsNorm({ x: forged, weight: w }, { eps: 1e-5 })).toThrow(/^\[rms_norm\] x: tensor f32\[4,8\] needs 128 bytes, its storage holds f32\[8\]/);
    const freed = b.tensor(seq(32, () => 1), [4, 8]);
    const stale = new Tensor(b as never, 'f32', [4, 8], freed.storage('test'));
    freed.dispose();
    expect(() => b.rmsNorm({ x: stale, weight: w }, { eps: 1e-5 })).toThrow(/was built around storage the .* backend did not make or has freed/);

    // …and the good call still computes what it should.
    const { y, rstd } = good();
    const got = (await b.read(y)) as Float32Array;
    const xs = seq(32, (i) => (i % 7) - 3);
    const ws = seq(8, (i) => 1 + i / 8);
    for (let r = 0; r < 4; r++) {
      const want = rms(xs.subarray(r * 8, r * 8 + 8), ws, 1e-5);
      for (let c = 0; c < 8; c++) expect(Math.abs(got[r * 8 + c] - want[c])).toBeLessThan(1e-5 * Math.abs(want[c]) + 1e-6);
    }
    for (const t of [x, w, w16, w7, small, y, rstd]) t.dispose();
  });
});

describe('webgpu launch tapes', () => {
  it('a replay binds this call’s buffers: other inputs of the same signature, outputs kept alive', async () => {
    const before = { ...gpu.tapeStats };
    const xs = [0, 1, 2].map((k) => seq(64, (i) => Math.sin(i + k) * (k + 1)));
    const w = seq(16, (i) => 0.5 + i / 16);
    const wt = gpu.tensor(w, [16]);
    const xts = xs.map((x) => gpu.tensor(x, [4, 16]));
    // Outputs are kept, so each call gets fresh buffers (no bind group of an earlier call fits).
    const ys = [];
    for (let round = 0; round < 3; round++) for (const [k, x] of xts.entries()) ys.push({ k, ...gpu.rmsNorm({ x, weight: wt }, { eps: 1e-3 }) });
    expect(gpu.tapeStats.recorded).toBe(before.recorded + 1);
    expect(gpu.tapeStats.replayed).toBe(before.replayed + 8);
    for (const { k, y, rstd } of ys) {
      const got = (await gpu.read(y)) as Float32Array;
      for (let r = 0; r < 4; r++) {
        const want = rms(xs[k].subarray(r * 16, r * 16 + 16), w, 1e-3);
        for (let c = 0; c < 16; c++) expect(Math.abs(got[r * 16 + c] - want[c]), `input ${k} row ${r}`).toBeLessThan(1e-5 * Math.abs(want[c]) + 1e-6);
      }
      y.dispose();
      rstd.dispose();
    }
    for (const t of [wt, ...xts]) t.dispose();
  });

  it('inputs that share a buffer where the recording had two: the launcher runs, results right', async () => {
    const g = seq(32, (i) => (i - 16) / 8);
    const u = seq(32, (i) => 1 + i / 32);
    const [gt, ut] = [gpu.tensor(g, [32]), gpu.tensor(u, [32])];
    for (let i = 0; i < 2; i++) gpu.swiglu({ gate: gt, up: ut }).y.dispose();
    const replayed = gpu.tapeStats.replayed;
    // A second Tensor around gate's own storage: the same buffer bound as both inputs.
    const alias = new Tensor(gpu, 'f32', [32], gt.storage('test'));
    const { y } = gpu.swiglu({ gate: gt, up: alias });
    expect(gpu.tapeStats.replayed).toBe(replayed);
    const got = (await gpu.read(y)) as Float32Array;
    for (let i = 0; i < 32; i++) {
      const want = (g[i] / (1 + Math.exp(-g[i]))) * g[i];
      expect(Math.abs(got[i] - want)).toBeLessThan(1e-5 * Math.abs(want) + 1e-6);
    }
    y.dispose();
    // The plan keeps its tape: the next call on two buffers replays again.
    gpu.swiglu({ gate: gt, up: ut }).y.dispose();
    expect(gpu.tapeStats.replayed).toBe(replayed + 1);
    gt.dispose();
    ut.dispose();
  });

  it('a fixed buffer (rope’s frequency table) released since the recording: the launcher runs again and rebuilds it', async () => {
    const shape = [1, 2, 2, 8];
    const host = fromFloat64('f32', Array.from({ length: 32 }, (_, i) => Math.cos(i) * 2));
    const want = cpu.rope({ x: cpu.tensor(host, shape) }, { offset: 5 }).y;
    const wantV = (await cpu.read(want)) as Float32Array;
    const x = gpu.tensor(host, shape);
    const check = async () => {
      const { y } = gpu.rope({ x }, { offset: 5 });
      const got = (await gpu.read(y)) as Float32Array;
      for (let i = 0; i < 32; i++) expect(Math.abs(got[i] - wantV[i]), `element ${i}`).toBeLessThan(1e-5);
      y.dispose();
    };
    // First call uploads the table (a spoiled recording), the second records, the third replays.
    for (let i = 0; i < 3; i++) await check();
    const recorded = gpu.tapeStats.recorded;
    // 32 other frequency tables evict this one from the launcher's cache (its buffer goes back to the pool).
    for (let k = 0; k < 33; k++) gpu.rope({ x }, { offset: 5, base: 500 + k }).y.dispose();
    const replayed = gpu.tapeStats.replayed;
    await check();
    expect(gpu.tapeStats.replayed).toBe(replayed);
    await check(); // recorded anew on the rebuilt table…
    await check(); // …and replayed
    expect(gpu.tapeStats.recorded).toBeGreaterThan(recorded);
    expect(gpu.tapeStats.replayed).toBe(replayed + 1);
    x.dispose();
    want.dispose();
  });

  it('a tuning switch changed between batches: the launcher runs with it', async () => {
    const x = gpu.tensor(seq(32, (i) => i / 4), [1, 2, 2, 8]);
    const keys = () => gpu.rt.cache.size;
    for (let i = 0; i < 3; i++) gpu.rope({ x }, { offset: 1 }).y.dispose();
    await gpu.sync();
    const before = keys();
    const old = process.env.PMETAL_ROPE_VEC;
    process.env.PMETAL_ROPE_VEC = '0';
    refreshTuning();
    try {
      const replayed = gpu.tapeStats.replayed;
      gpu.rope({ x }, { offset: 1 }).y.dispose();
      expect(gpu.tapeStats.replayed).toBe(replayed);
      // The word kernel (rope.wgsl) was compiled for the switch: a new pipeline.
      expect(keys()).toBeGreaterThan(before);
    } finally {
      if (old === undefined) delete process.env.PMETAL_ROPE_VEC;
      else process.env.PMETAL_ROPE_VEC = old;
      refreshTuning();
    }
    await gpu.sync();
    x.dispose();
  });

  it('launchTapes off (PMETAL_LAUNCH_TAPE=0): the launcher runs every call', async () => {
    const x = gpu.tensor(seq(16, (i) => i - 8), [2, 8]);
    const before = { ...gpu.tapeStats };
    gpu.launchTapes = false;
    try {
      for (let i = 0; i < 3; i++) {
        const { y } = gpu.softmax({ x }, { scale: 1 });
        const got = (await gpu.read(y)) as Float32Array;
        for (let r = 0; r < 2; r++) {
          const row = Array.from({ length: 8 }, (_, c) => Math.exp(r * 8 + c - 8));
          const sum = row.reduce((a, v) => a + v, 0);
          for (let c = 0; c < 8; c++) expect(Math.abs(got[r * 8 + c] - row[c] / sum)).toBeLessThan(1e-6);
        }
        y.dispose();
      }
    } finally {
      gpu.launchTapes = true;
    }
    expect(gpu.tapeStats).toEqual(before);
    x.dispose();
  });

  it('an op updating its inputs in place replays onto those inputs', async () => {
    const B = 1;
    const [H, D, S] = [1, 8, 8];
    const replayed = gpu.tapeStats.replayed;
    const kCache = gpu.zeros([B, H, S, D], 'f32');
    const vCache = gpu.zeros([B, H, S, D], 'f32');
    for (let t = 0; t < 4; t++) {
      const k = gpu.tensor(seq(D, (i) => t * 10 + i), [B, 1, H, D]);
      const v = gpu.tensor(seq(D, (i) => -(t * 10 + i)), [B, 1, H, D]);
      const positions = gpu.tensor(Int32Array.from([t]), [B], 'i32');
      const out = gpu.kvCacheCopy({ k, v, kCache, vCache, positions });
      expect(out.kCache).toBe(kCache);
      expect(out.vCache).toBe(vCache);
      for (const u of [k, v, positions]) u.dispose();
    }
    expect(gpu.tapeStats.replayed).toBe(replayed + 3);
    const got = (await gpu.read(kCache)) as Float32Array;
    for (let t = 0; t < 4; t++) for (let i = 0; i < D; i++) expect(got[t * D + i]).toBe(t * 10 + i);
    kCache.dispose();
    vCache.dispose();
  });
});
