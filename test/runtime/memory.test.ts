import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../src/backend/webgpu/device.js';
import { Runtime } from '../../src/backend/webgpu/runtime.js';

// The GPU memory counters the model bench reports (peak per phase, as torch.cuda.max_memory_allocated).
let rt: Runtime;
beforeAll(async () => {
  // A 64 KiB pool: a 128 KiB buffer is destroyed on release instead of pooled.
  rt = new Runtime(await openDevice(), 64 * 1024);
});
afterAll(() => rt?.destroy());

describe('webgpu runtime memory counters', () => {
  it('count live and allocated storage bytes with their high-water marks, the pool and deferred destruction included', async () => {
    expect(rt.memory).toEqual({ liveBytes: 0, peakLiveBytes: 0, allocatedBytes: 0, peakAllocatedBytes: 0 });
    const a = rt.createBuffer(4096);
    const b = rt.createBuffer(8192);
    expect(rt.memory).toEqual({ liveBytes: 12288, peakLiveBytes: 12288, allocatedBytes: 12288, peakAllocatedBytes: 12288 });
    // Released into the pool: no longer live, still held on the device.
    rt.releaseBuffer(a);
    expect(rt.memory).toEqual({ liveBytes: 8192, peakLiveBytes: 12288, allocatedBytes: 12288, peakAllocatedBytes: 12288 });
    // Taken back from the pool (same size class): live again, nothing new allocated.
    expect(rt.createBuffer(4000)).toBe(a);
    expect(rt.memory.liveBytes).toBe(12288);
    expect(rt.memory.allocatedBytes).toBe(12288);

    rt.resetPeakMemory();
    expect(rt.memory.peakLiveBytes).toBe(12288);
    const big = rt.createBuffer(128 * 1024);
    expect(rt.memory).toEqual({ liveBytes: 12288 + 131072, peakLiveBytes: 12288 + 131072, allocatedBytes: 12288 + 131072, peakAllocatedBytes: 12288 + 131072 });
    // Over the pool limit: released to the trash, destroyed once the next batch is submitted.
    rt.releaseBuffer(big);
    expect(rt.memory.liveBytes).toBe(12288);
    expect(rt.memory.allocatedBytes).toBe(12288 + 131072);
    rt.clear(a);
    await rt.sync();
    expect(rt.memory.allocatedBytes).toBe(12288);
    expect(rt.memory.peakAllocatedBytes).toBe(12288 + 131072);

    rt.releaseBuffer(a);
    rt.releaseBuffer(b);
    rt.trimPool();
    expect(rt.memory).toEqual({ liveBytes: 0, peakLiveBytes: 12288 + 131072, allocatedBytes: 0, peakAllocatedBytes: 12288 + 131072 });
    rt.resetPeakMemory();
    expect(rt.memory).toEqual({ liveBytes: 0, peakLiveBytes: 0, allocatedBytes: 0, peakAllocatedBytes: 0 });
  });

  it('leave buffers not made by createBuffer (staging of uploads) out', async () => {
    const a = rt.createBuffer(1024);
    rt.upload(a, new Uint8Array(1024).fill(7));
    await rt.sync();
    expect(rt.memory.allocatedBytes).toBe(1024);
    expect(rt.memory.peakAllocatedBytes).toBe(1024);
    rt.releaseBuffer(a);
    rt.trimPool();
    expect(rt.memory.allocatedBytes).toBe(0);
  });
});
