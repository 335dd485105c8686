import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../src/backend/webgpu/device.js';
import { Runtime } from '../src/backend/webgpu/runtime.js';

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

  it('never pools a buffer larger than the limit', () => {
    rt.trimPool();
    const big = rt.createBuffer(128 * 1024);
    rt.releaseBuffer(big);
    expect(rt.pooledBytes).toBe(0);
  });
});
