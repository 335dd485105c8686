// Atomics under contention: many threadgroups on all worker threads hit one counter.
import { describe, expect, it } from 'vitest';
import { compileTest, loadNative, readF32, readI32, readU32 } from './helpers.js';

const dev = loadNative().openDevice();

describe('MSL host runtime: atomics', () => {
  it('device and threadgroup atomics are exact under contention', async () => {
    const lib = await compileTest(dev, 'atomics.metal');
    const groups = 64, T = 64, total = groups * T;
    const counter = dev.buffer(4), maxv = dev.buffer(4), fsum = dev.buffer(4), per = dev.buffer(groups * 4), cas = dev.buffer(4);
    await dev.run([{ pipeline: lib.pipeline('contend'), buffers: [counter, maxv, fsum, per, cas].map((buffer, index) => ({ index, buffer })), grid: [groups, 1, 1], threadgroup: [T, 1, 1] }]);
    expect(readU32(counter)[0]).toBe(total);
    let want = 0;
    for (let g = 0; g < total; g++) want = Math.max(want, (g * 7919) % 100003);
    expect(readI32(maxv)[0]).toBe(want);
    expect(readF32(fsum)[0]).toBe(total * 0.5);
    expect(Array.from(readU32(per))).toEqual(new Array(groups).fill((T * (T - 1)) / 2));
    expect(readU32(cas)[0]).toBe(2 * total);
  });
});
