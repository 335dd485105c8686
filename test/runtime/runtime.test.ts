import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_DISPATCHES } from '../../src/backend/webgpu/backend.js';
import { openDevice } from '../../src/backend/webgpu/device.js';
import { Runtime } from '../../src/backend/webgpu/runtime.js';
import { useWebGpu } from '../webgpu_backends.js';

let rt: Runtime;
beforeAll(async () => {
  // A 64 KiB pool, so the eviction policy shows with small buffers.
  rt = new Runtime(await openDevice(), 64 * 1024);
});
afterAll(() => rt?.destroy());

describe('webgpu buffer pool', () => {
  it('reuses a released buffer of the same size class', () => {
    const a = rt.createBuffer(4096);
    rt.releaseBuffer(a);
    expect(rt.createBuffer(4000)).toBe(a);
    rt.releaseBuffer(a);
  });

  it('when full, evicts the size classes released longest ago — never the buffer just released', async () => {
    rt.trimPool();
    const old = [rt.createBuffer(16 * 1024), rt.createBuffer(16 * 1024), rt.createBuffer(24 * 1024)];
    for (const b of old) rt.releaseBuffer(b);
    expect(rt.pooledBytes).toBe(56 * 1024);
    const hot = rt.createBuffer(32 * 1024);
    rt.releaseBuffer(hot);
    // 56 + 32 > 64 KiB: the two 16 KiB buffers (released first) go, the 24 KiB one stays.
    expect(rt.pooledBytes).toBe(56 * 1024);
    expect(rt.createBuffer(32 * 1024)).toBe(hot);
    expect(rt.createBuffer(24 * 1024)).toBe(old[2]);
    expect(rt.createBuffer(16 * 1024)).not.toBe(old[0]);
    await rt.sync();
  });

  it('evicts past a size class emptied by reuse (it leaves the pool, not an empty list)', () => {
    rt.trimPool();
    // Class A pooled then taken back (emptied) first, so it would be the "oldest" entry.
    const a = rt.createBuffer(8 * 1024);
    rt.releaseBuffer(a);
    expect(rt.createBuffer(8 * 1024)).toBe(a);
    const b = rt.createBuffer(40 * 1024);
    rt.releaseBuffer(b);
    // 40 + 32 > 64 KiB: eviction must find b, not trip over A's empty class.
    const c = rt.createBuffer(32 * 1024);
    expect(() => rt.releaseBuffer(c)).not.toThrow();
    expect(rt.pooledBytes).toBe(32 * 1024);
    rt.releaseBuffer(a);
  });

  it('never pools a buffer larger than the limit', () => {
    rt.trimPool();
    const big = rt.createBuffer(128 * 1024);
    rt.releaseBuffer(big);
    expect(rt.pooledBytes).toBe(0);
  });
});

describe('webgpu buffer pool, adaptive (no PMETAL_POOL_MIB)', () => {
  // A 16 KiB floor: past it the pool keeps what fits under the most bytes ever live at once.
  let ad: Runtime;
  beforeAll(async () => {
    ad = new Runtime(await openDevice(), undefined, 16 * 1024);
  });
  afterAll(() => ad?.destroy());

  it('keeps every freed buffer of a step that had them all live, and reuses them the next step', () => {
    const step = () => [ad.createBuffer(32 * 1024), ad.createBuffer(32 * 1024), ad.createBuffer(64 * 1024)];
    const first = step();
    expect(ad.memory.liveBytes).toBe(128 * 1024);
    for (const b of first) ad.releaseBuffer(b);
    // 128 KiB pooled: far past the floor, within the 128 KiB live ceiling.
    expect(ad.pooledBytes).toBe(128 * 1024);
    const created = ad.buffersCreated;
    const second = step();
    expect(ad.buffersCreated).toBe(created);
    expect(new Set([...second, ...first]).size).toBe(3);
    for (const b of second) ad.releaseBuffer(b);
  });

  it('a new size makes pooled buffers give way: live + pooled stays within the live ceiling', () => {
    expect(ad.pooledBytes).toBe(128 * 1024);
    const other = ad.createBuffer(96 * 1024);
    // live 96 KiB under a 128 KiB ceiling: 32 KiB of room (over the 16 KiB floor).
    expect(ad.pooledBytes).toBeLessThanOrEqual(32 * 1024);
    expect(ad.memory.liveBytes + ad.pooledBytes).toBeLessThanOrEqual(128 * 1024);
    ad.releaseBuffer(other);
    ad.trimPool();
    expect(ad.pooledBytes).toBe(0);
  });
});

describe('webgpu batches', () => {
  const gpu = useWebGpu();

  it('a run of ops is submitted every FLUSH_DISPATCHES dispatches, between ops', async () => {
    await gpu().sync();
    const before = gpu().rt.submitCount;
    const x = gpu().tensor(new Float32Array(8).fill(1), [1, 8]);
    const w = gpu().tensor(new Float32Array(8).fill(1), [8]);
    for (let i = 0; i < 3 * FLUSH_DISPATCHES + 10; i++) for (const t of Object.values(gpu().run('rms_norm', { x, weight: w }, { eps: 0.5 }))) t.dispose();
    // The uploads and the first 64 dispatches, the next 64, the next 64: three submissions
    // before the last ten, which wait in the open batch.
    expect(gpu().rt.submitCount - before).toBe(3);
    expect(gpu().rt.pendingDispatches).toBe(10);
    x.dispose();
    w.dispose();
    await gpu().sync();
  });

  it('600 dispatches in one batch each read their own Params (several 64 KiB uniform blocks)', async () => {
    // One batch: the backend's periodic submissions off for this test.
    gpu().flushDispatches = Infinity;
    const before = gpu().rt.submitCount;
    const outs = [];
    for (let i = 0; i < 600; i++) {
      // A different eps per call: rows of ones give y = 1/sqrt(1 + eps), so a Params slot
      // read by the wrong dispatch shows in the output.
      const x = gpu().tensor(new Float32Array(8).fill(1), [1, 8]);
      const w = gpu().tensor(new Float32Array(8).fill(1), [8]);
      outs.push({ eps: (i + 1) / 100, y: gpu().run('rms_norm', { x, weight: w }, { eps: (i + 1) / 100 }).y, x, w });
    }
    // Nothing was submitted while recording: the 600 dispatches (and uploads) are one batch.
    expect(gpu().rt.submitCount).toBe(before);
    const got = await Promise.all(outs.map((o) => gpu().read(o.y)));
    for (const [i, o] of outs.entries()) {
      const want = 1 / Math.sqrt(1 + o.eps);
      expect(Math.abs((got[i] as Float32Array)[0] - want), `call ${i}`).toBeLessThan(1e-6);
      for (const t of [o.x, o.w, o.y]) t.dispose();
    }
    gpu().flushDispatches = FLUSH_DISPATCHES;
  });

  it('Params slots and bind groups are reused by repeated calls; 1500 distinct Params over batches re-assign slots correctly', async () => {
    const x = gpu().tensor(new Float32Array(8).fill(1), [1, 8]);
    const w = gpu().tensor(new Float32Array(8).fill(1), [8]);
    await gpu().sync();
    const bg = gpu().rt.bindGroups;
    const call = (eps: number) => gpu().run('rms_norm', { x, weight: w }, { eps });
    // The same call on the same (pooled) buffers: y and rstd share a size class and swap
    // buffers from one call to the next, so two bind groups, hit from then on.
    for (let i = 0; i < 2; i++) for (const t of Object.values(call(0.5))) t.dispose();
    await gpu().sync();
    const [hits, misses] = [bg.hits, bg.misses];
    for (let i = 0; i < 50; i++) for (const t of Object.values(call(0.5))) t.dispose();
    expect(bg.misses).toBe(misses);
    expect(bg.hits).toBe(hits + 50);
    // More distinct Params than the pool's 4 blocks hold (4 × 256 slots), over 3 batches:
    // least recently used slots are re-assigned between batches, never within one.
    for (let round = 0; round < 3; round++) {
      const outs = [];
      for (let i = 0; i < 500; i++) {
        const eps = (round * 500 + i + 1) / 1000;
        outs.push({ eps, y: call(eps).y });
      }
      const got = await Promise.all(outs.map((o) => gpu().read(o.y)));
      for (const [i, o] of outs.entries()) {
        expect(Math.abs((got[i] as Float32Array)[0] - 1 / Math.sqrt(1 + o.eps)), `round ${round} call ${i}`).toBeLessThan(1e-6);
        o.y.dispose();
      }
    }
    x.dispose();
    w.dispose();
  });

  it('a destroyed buffer takes its cached bind groups along', async () => {
    const x = gpu().tensor(new Float32Array(8).fill(2), [1, 8]);
    const w = gpu().tensor(new Float32Array(8).fill(1), [8]);
    const before = gpu().rt.bindGroups.size;
    const { y, rstd } = gpu().run('rms_norm', { x, weight: w }, { eps: 0.25 });
    expect(gpu().rt.bindGroups.size).toBe(before + 1);
    await gpu().read(y);
    // trimPool destroys every pooled buffer: the groups naming them must go (a later call
    // on a new buffer that reuses nothing still works).
    for (const t of [x, w, y, rstd]) t.dispose();
    gpu().rt.trimPool();
    expect(gpu().rt.bindGroups.size).toBeLessThanOrEqual(before);
    const x2 = gpu().tensor(new Float32Array(8).fill(2), [1, 8]);
    const w2 = gpu().tensor(new Float32Array(8).fill(1), [8]);
    const y2 = gpu().run('rms_norm', { x: x2, weight: w2 }, { eps: 0.25 }).y;
    expect((await gpu().read(y2))[0]).toBeCloseTo(2 / Math.sqrt(4.25), 6);
    for (const t of [x2, w2, y2]) t.dispose();
  });

  it('gpuTimes gives one GPU time per call of a multi-dispatch op, when the adapter has timestamps', async () => {
    const logits = gpu().tensor(new Float32Array(4 * 64).fill(0.5), [4, 64]);
    const targets = gpu().tensor(new Int32Array([1, 2, 3, 4]), [4]);
    const call = () => {
      for (const t of Object.values(gpu().run('cross_entropy', { logits, targets }, { reduction: 'mean' }))) t.dispose();
    };
    const ns = await gpu().gpuTimes(call, 5);
    if (!gpu().rt.timestamps) expect(ns).toBeUndefined();
    else {
      expect(ns).toHaveLength(5);
      for (const t of ns!) expect(t).toBeGreaterThan(0);
    }
    logits.dispose();
    targets.dispose();
  });
});
